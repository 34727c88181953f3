import type { Insertable, Selectable } from 'kysely';
import type { Executor } from './database.ts';
import { preparedQuery } from './prepared-query.ts';
import type { EndpointsTable, NotificationRulesTable } from './schema.ts';

export type EndpointRow = Selectable<EndpointsTable>;
export type RuleRow = Selectable<NotificationRulesTable>;

/** Rules that apply to every bucket (declared with an endpoint in the YAML file) use this bucket name. */
export const ALL_BUCKETS = '*';

/** Defaults every new endpoint starts from (Alarik-like retries, SFTP To Go-like auto-disable). */
export const ENDPOINT_DEFAULTS = {
  kind: 'webhook',
  format: 'aws',
  bucket: null,
  secret_ciphertext: null,
  previous_secret_ciphertext: null,
  previous_secret_until: null,
  signature_header: 'X-Hub-Signature-256',
  signature_format: 'prefixed',
  authorization_ciphertext: null,
  headers: '{}',
  headers_ciphertext: null,
  timeout_ms: 10_000,
  max_attempts: 8,
  backoff_initial_ms: 30_000,
  backoff_max_ms: 3_600_000,
  max_in_flight: 16,
  state: 'active',
  state_reason: null,
  consecutive_failures: 0,
  auto_disable_failures: 5,
  auto_disable_after_ms: null,
  failing_since: null,
  client_certificate: null,
  client_key_ciphertext: null,
} as const satisfies Partial<Insertable<EndpointsTable>>;

export function findEndpoint(db: Executor, id: string): Promise<EndpointRow | undefined> {
  return db.selectFrom('endpoints').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function insertEndpoint(db: Executor, row: Insertable<EndpointsTable>): Promise<void> {
  await db.insertInto('endpoints').values(row).execute();
}

export async function updateEndpoint(
  db: Executor,
  id: string,
  changes: Partial<Insertable<EndpointsTable>>,
): Promise<void> {
  await db.updateTable('endpoints').set(changes).where('id', '=', id).execute();
}

export async function deleteEndpoint(db: Executor, id: string): Promise<void> {
  await db.deleteFrom('endpoints').where('id', '=', id).execute();
}

export function listEndpointsByOrigin(db: Executor, origin: EndpointRow['origin']): Promise<EndpointRow[]> {
  return db.selectFrom('endpoints').selectAll().where('origin', '=', origin).execute();
}

/** A bucket's own rules, in configuration order. */
export function listBucketRules(db: Executor, bucket: string): Promise<RuleRow[]> {
  return db
    .selectFrom('notification_rules')
    .selectAll()
    .where('bucket', '=', bucket)
    .orderBy('position')
    .execute();
}

/** Rules an event in `bucket` is matched against (its own and the every-bucket ones), with their endpoint's state. */
export function listRulesForEvent(
  db: Executor,
  bucket: string,
): Promise<(RuleRow & { endpoint_state: EndpointRow['state'] })[]> {
  return rulesForEvent(db, bucket);
}

const rulesForEvent = preparedQuery(1, (db, bucket: string) =>
  db
    .selectFrom('notification_rules')
    .innerJoin('endpoints', 'endpoints.id', 'notification_rules.endpoint_id')
    .selectAll('notification_rules')
    .select('endpoints.state as endpoint_state')
    .where('notification_rules.bucket', 'in', [bucket, ALL_BUCKETS])
    .orderBy('notification_rules.bucket', 'desc')
    .orderBy('notification_rules.position'),
);

export async function deleteBucketRules(db: Executor, bucket: string): Promise<void> {
  await db.deleteFrom('notification_rules').where('bucket', '=', bucket).execute();
}

export async function insertRules(
  db: Executor,
  rows: readonly Insertable<NotificationRulesTable>[],
): Promise<void> {
  if (rows.length > 0) await db.insertInto('notification_rules').values(rows).execute();
}

export async function countRulesOfEndpoint(db: Executor, endpointId: string): Promise<number> {
  const row = await db
    .selectFrom('notification_rules')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('endpoint_id', '=', endpointId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
