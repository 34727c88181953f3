import { sql, type Selectable } from 'kysely';
import type { Executor } from './database.ts';
import type { DeliveryRow } from './delivery-repository.ts';
import type { DeliveryAttemptsTable, DeliveryStatus } from './schema.ts';

export type DeliveryAttemptRecord = Selectable<DeliveryAttemptsTable>;

/** A delivery as the deliveries log shows it: with its event's name, key and bucket (null for test messages). */
export type DeliveryLogRow = DeliveryRow & {
  readonly event_name: string | null;
  readonly key: string | null;
  readonly bucket: string | null;
  readonly endpoint_owner: string;
};

/** Which deliveries of one endpoint: by status (none = all) and creation time, `from` inclusive, `to` exclusive. */
export interface DeliveryLogFilter {
  readonly endpointId: string;
  readonly statuses: readonly DeliveryStatus[];
  readonly from: number | undefined;
  readonly to: number | undefined;
}

/** Position in the newest-first log: the last row of the previous page. */
export interface DeliveryLogPosition {
  readonly createdAt: number;
  readonly id: string;
}

function selectLog(db: Executor) {
  return db
    .selectFrom('deliveries as d')
    .innerJoin('endpoints as en', 'en.id', 'd.endpoint_id')
    .leftJoin('events as ev', 'ev.id', 'd.event_id')
    .selectAll('d')
    .select(['ev.event_name', 'ev.key', 'ev.bucket', 'en.owner as endpoint_owner']);
}

/** One page of an endpoint's deliveries, newest first (created_at, then id, both descending). */
export async function listDeliveryLog(
  db: Executor,
  filter: DeliveryLogFilter,
  page: { readonly limit: number; readonly after: DeliveryLogPosition | undefined },
): Promise<DeliveryLogRow[]> {
  const { after } = page;
  return selectLog(db)
    .where('d.endpoint_id', '=', filter.endpointId)
    .$if(filter.statuses.length > 0, (qb) => qb.where('d.status', 'in', filter.statuses))
    .$if(filter.from !== undefined, (qb) => qb.where('d.created_at', '>=', filter.from!))
    .$if(filter.to !== undefined, (qb) => qb.where('d.created_at', '<', filter.to!))
    .$if(after !== undefined, (qb) =>
      qb.where((eb) =>
        eb.or([
          eb('d.created_at', '<', after!.createdAt),
          eb.and([eb('d.created_at', '=', after!.createdAt), eb('d.id', '<', after!.id)]),
        ]),
      ),
    )
    .orderBy('d.created_at', 'desc')
    .orderBy('d.id', 'desc')
    .limit(page.limit)
    .execute();
}

export function findDeliveryLogRow(db: Executor, id: string): Promise<DeliveryLogRow | undefined> {
  return selectLog(db).where('d.id', '=', id).executeTakeFirst();
}

/** Every recorded attempt of a delivery, in order. */
export function listDeliveryAttempts(db: Executor, deliveryId: string): Promise<DeliveryAttemptRecord[]> {
  return db
    .selectFrom('delivery_attempts')
    .selectAll()
    .where('delivery_id', '=', deliveryId)
    .orderBy('attempt')
    .execute();
}

/**
 * What a resend does to a delivery: due again with a whole retry budget (`budget_start = attempts`,
 * so attempt numbers keep counting up and the history stays), `pending` when its endpoint is active,
 * else `held` until the endpoint is enabled or resumed.
 */
function resentColumns(now: number, nextAttemptAt: 'now' | 'created') {
  return {
    status: sql<DeliveryStatus>`case when (select e.state from endpoints e where e.id = deliveries.endpoint_id) = 'active' then 'pending' else 'held' end`,
    budget_start: sql<number>`attempts`,
    next_attempt_at: nextAttemptAt === 'now' ? now : sql<number>`created_at`,
    lease_owner: null,
    lease_until: null,
    finished_at: null,
    updated_at: now,
  };
}

export type ResendResult =
  | { readonly outcome: 'resent'; readonly status: DeliveryStatus }
  | { readonly outcome: 'in_flight' }
  | { readonly outcome: 'missing' };

/** Resends one delivery (any status but `in_flight`, whose POST is under way). */
export async function resendDelivery(db: Executor, id: string, now: number): Promise<ResendResult> {
  const row = await db
    .updateTable('deliveries')
    .set(resentColumns(now, 'now'))
    .where('id', '=', id)
    .where('status', '<>', 'in_flight')
    .returning('status')
    .executeTakeFirst();
  if (row !== undefined) return { outcome: 'resent', status: row.status };
  const current = await db.selectFrom('deliveries').select('status').where('id', '=', id).executeTakeFirst();
  return current === undefined ? { outcome: 'missing' } : { outcome: 'in_flight' };
}

/**
 * Resends every delivery of an endpoint that the filter matches (never one in flight); returns how
 * many. They come due in the order they were created (`next_attempt_at = created_at`), oldest first.
 */
export async function resendEndpointDeliveries(
  db: Executor,
  filter: DeliveryLogFilter,
  now: number,
): Promise<number> {
  const result = await db
    .updateTable('deliveries')
    .set(resentColumns(now, 'created'))
    .where('endpoint_id', '=', filter.endpointId)
    .where('status', '<>', 'in_flight')
    .$if(filter.statuses.length > 0, (qb) => qb.where('status', 'in', filter.statuses))
    .$if(filter.from !== undefined, (qb) => qb.where('created_at', '>=', filter.from!))
    .$if(filter.to !== undefined, (qb) => qb.where('created_at', '<', filter.to!))
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Makes a disabled (or paused) endpoint active again: clears its failure record and reason, and
 * releases the deliveries it kept (held, or waiting from before) as `pending` with a whole retry
 * budget, due in the order they were created. Returns how many were released, or undefined when the
 * endpoint does not exist. An endpoint already active is left as it is (0).
 */
export async function enableEndpoint(db: Executor, id: string, now: number): Promise<number | undefined> {
  const endpoint = await db.selectFrom('endpoints').select('state').where('id', '=', id).executeTakeFirst();
  if (endpoint === undefined) return undefined;
  if (endpoint.state === 'active') return 0;
  await db
    .updateTable('endpoints')
    .set({
      state: 'active',
      state_reason: null,
      consecutive_failures: 0,
      failing_since: null,
      updated_at: now,
    })
    .where('id', '=', id)
    .execute();
  const released = await db
    .updateTable('deliveries')
    .set({ ...resentColumns(now, 'created'), status: 'pending' })
    .where('endpoint_id', '=', id)
    .where('status', 'in', ['held', 'pending', 'retrying'])
    .executeTakeFirst();
  return Number(released.numUpdatedRows);
}
