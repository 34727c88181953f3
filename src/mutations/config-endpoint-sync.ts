import type { EndpointConfig } from '../config/config.ts';
import { ConfigError } from '../config/config-error.ts';
import { parseDuration } from '../config/duration.ts';
import type { Database } from '../db/database.ts';
import { ALL_BUCKETS, ENDPOINT_DEFAULTS } from '../db/notification-repository.ts';
import type { SecretBox } from '../db/secret-box.ts';
import { isUsableGlob } from '../events/event-pattern.ts';

/** Rules that come from the YAML file are named after their endpoint. */
export function configRuleId(name: string): string {
  return `config:${name}`;
}

/**
 * Makes the endpoints declared in the YAML file (s3-orchestrator style) the database's `config`
 * endpoints: creates or updates each (id = its name, usable in ARNs as arn:bucketbell:webhook::<name>),
 * gives those with `events` an every-bucket rule, and retires the ones no longer declared once
 * nothing is left to deliver to them.
 */
export async function syncConfigEndpoints(
  database: Database,
  box: SecretBox,
  endpoints: readonly EndpointConfig[],
  owner: string,
  now: number,
): Promise<void> {
  const names = new Set<string>();
  for (const endpoint of endpoints) {
    if (names.has(endpoint.name))
      throw new ConfigError(`endpoints.${endpoint.name}`, 'endpoint names must be unique');
    names.add(endpoint.name);
    for (const pattern of endpoint.events) {
      if (!isUsableGlob(pattern))
        throw new ConfigError(`endpoints.${endpoint.name}.events`, `"${pattern}" matches no event`);
    }
  }
  await database.db.transaction().execute(async (tx) => {
    for (const endpoint of endpoints) {
      const timeoutMs = parseDuration(`endpoints.${endpoint.name}.timeout`, endpoint.timeout);
      const values = {
        name: endpoint.name,
        url: endpoint.url,
        secret_ciphertext: endpoint.secret === undefined ? null : box.seal(endpoint.secret),
        signature_header: endpoint.signature_header,
        signature_format: endpoint.signature_format,
        timeout_ms: timeoutMs,
        max_in_flight: endpoint.max_in_flight,
        max_attempts: endpoint.max_retries + 1,
        backoff_initial_ms: parseDuration(
          `endpoints.${endpoint.name}.backoff_initial`,
          endpoint.backoff_initial,
        ),
        backoff_max_ms: parseDuration(`endpoints.${endpoint.name}.backoff_max`, endpoint.backoff_max),
        updated_at: now,
      };
      const existing = await tx
        .selectFrom('endpoints')
        .select(['id', 'origin'])
        .where('id', '=', endpoint.name)
        .executeTakeFirst();
      if (existing !== undefined && existing.origin !== 'config') {
        throw new ConfigError(
          `endpoints.${endpoint.name}`,
          'an endpoint created through the API already has this id',
        );
      }
      if (existing === undefined) {
        await tx
          .insertInto('endpoints')
          .values({
            ...ENDPOINT_DEFAULTS,
            id: endpoint.name,
            owner,
            origin: 'config',
            created_at: now,
            ...values,
          })
          .execute();
      } else {
        await tx.updateTable('endpoints').set(values).where('id', '=', endpoint.name).execute();
      }
      await tx
        .deleteFrom('notification_rules')
        .where('bucket', '=', ALL_BUCKETS)
        .where('id', '=', configRuleId(endpoint.name))
        .execute();
      if (endpoint.events.length > 0) {
        await tx
          .insertInto('notification_rules')
          .values({
            bucket: ALL_BUCKETS,
            id: configRuleId(endpoint.name),
            position: 0,
            endpoint_id: endpoint.name,
            form: 'QueueConfiguration',
            events: JSON.stringify(endpoint.events),
            prefix: endpoint.prefix,
            suffix: endpoint.suffix,
            created_at: now,
          })
          .execute();
      }
    }
    const stale = await tx.selectFrom('endpoints').select('id').where('origin', '=', 'config').execute();
    for (const { id } of stale) {
      if (names.has(id)) continue;
      await tx
        .deleteFrom('notification_rules')
        .where('bucket', '=', ALL_BUCKETS)
        .where('endpoint_id', '=', id)
        .execute();
      const open = await tx
        .selectFrom('deliveries')
        .select('id')
        .where('endpoint_id', '=', id)
        .where('status', 'in', ['pending', 'in_flight', 'retrying', 'held'])
        .limit(1)
        .executeTakeFirst();
      const referenced = await tx
        .selectFrom('notification_rules')
        .select('id')
        .where('endpoint_id', '=', id)
        .limit(1)
        .executeTakeFirst();
      if (open === undefined && referenced === undefined)
        await tx.deleteFrom('endpoints').where('id', '=', id).execute();
    }
  });
}
