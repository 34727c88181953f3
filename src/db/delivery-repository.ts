import { sql, type Insertable, type Selectable } from 'kysely';
import type { Database, Executor } from './database.ts';
import { preparedInsert, preparedQuery, preparedStatement } from './prepared-query.ts';
import type {
  DeliveriesTable,
  DeliveryAttemptsTable,
  DeliveryStatus,
  EndpointsTable,
  EventsTable,
} from './schema.ts';

export type DeliveryRow = Selectable<DeliveriesTable>;
export type DeliveryEndpointRow = Selectable<EndpointsTable>;
export type DeliveryAttemptRow = Insertable<DeliveryAttemptsTable>;
export type DeliveryEventRow = Selectable<EventsTable>;

/** What a delivery is rendered from: its endpoint, and its event row (null for a test message). */
export interface DeliveryContext {
  readonly endpoint: DeliveryEndpointRow;
  readonly event: DeliveryEventRow | null;
  /**
   * Whether the endpoint's owner is an enabled admin (who may send to private addresses). A missing,
   * disabled or non-admin owner is false.
   */
  readonly ownerIsAdmin: boolean;
}

/** Loads the endpoint (with its owner's role) and event of a claimed delivery; undefined when the endpoint or the event is gone. */
export async function loadDeliveryContext(
  db: Executor,
  delivery: DeliveryRow,
): Promise<DeliveryContext | undefined> {
  const [found] = await endpointWithOwner(db, delivery.endpoint_id);
  if (found === undefined) return undefined;
  const { owner_role, owner_status, ...endpoint } = found;
  const ownerIsAdmin = owner_role === 'admin' && owner_status === 'enabled';
  if (delivery.kind === 'test' || delivery.event_id === null) return { endpoint, event: null, ownerIsAdmin };
  const [row] = await eventById(db, delivery.event_id);
  if (row === undefined) return undefined;
  return { endpoint, event: row, ownerIsAdmin };
}

const endpointWithOwner = preparedQuery(1, (db, id: string) =>
  db
    .selectFrom('endpoints as e')
    .leftJoin('users as u', 'u.name', 'e.owner')
    .selectAll('e')
    .select(['u.role as owner_role', 'u.status as owner_status'])
    .where('e.id', '=', id),
);

const eventById = preparedQuery(1, (db, id: number) =>
  db.selectFrom('events').selectAll().where('id', '=', id),
);

/** Inserts an event row (the outbox's record of a change); returns its id. */
export const insertEventRow = preparedInsert('events', ['id']);

/** Inserts one delivery row (see `newDeliveryRow` for the one place they are made). */
export const insertDeliveryRow = preparedInsert('deliveries');

export async function recordAttempt(tx: Executor, attempt: DeliveryAttemptRow): Promise<void> {
  await insertAttemptRow(tx, attempt);
}

const insertAttemptRow = preparedInsert('delivery_attempts');

/** The facts of the attempt just made, copied onto the delivery row. */
export interface AttemptSummary {
  readonly now: number;
  /** Attempts made so far, this one included. */
  readonly attempts: number;
  readonly lastStatusCode: number | null;
  readonly lastError: string | null;
  readonly lastDurationMs: number | null;
}

function summaryColumns(summary: AttemptSummary) {
  return {
    attempts: summary.attempts,
    last_status_code: summary.lastStatusCode,
    last_error: summary.lastError,
    last_duration_ms: summary.lastDurationMs,
    updated_at: summary.now,
    lease_owner: null,
    lease_until: null,
  };
}

/**
 * Settles a claimed delivery for good. Only the claim's owner can: false means the lease was lost
 * (expired and taken by another worker), and the caller must not record anything else.
 */
export async function finishDelivery(
  tx: Executor,
  id: string,
  owner: string,
  outcome: AttemptSummary & { readonly status: 'succeeded' | 'dead' },
): Promise<boolean> {
  const result = await finishStatement(
    tx,
    outcome.status,
    outcome.now,
    outcome.attempts,
    outcome.lastStatusCode,
    outcome.lastError,
    outcome.lastDurationMs,
    id,
    owner,
  );
  return (result.numAffectedRows ?? 0n) > 0n;
}

const finishStatement = preparedStatement(
  8,
  (
    tx,
    status: 'succeeded' | 'dead',
    now: number,
    attempts: number,
    lastStatusCode: number | null,
    lastError: string | null,
    lastDurationMs: number | null,
    id: string,
    owner: string,
  ) =>
    tx
      .updateTable('deliveries')
      .set({
        ...summaryColumns({ now, attempts, lastStatusCode, lastError, lastDurationMs }),
        status,
        finished_at: now,
      })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .where('status', '=', 'in_flight'),
);

/**
 * Puts a claimed delivery back as `retrying` at `nextAttemptAt` (`held` when its endpoint is no longer
 * active); false when the lease was lost.
 */
export async function rescheduleDelivery(
  tx: Executor,
  id: string,
  owner: string,
  outcome: AttemptSummary & { readonly nextAttemptAt: number },
): Promise<boolean> {
  const result = await tx
    .updateTable('deliveries')
    .set({
      ...summaryColumns(outcome),
      // An endpoint disabled (or paused) while this POST was in flight holds its retries.
      status: sql<DeliveryStatus>`case when (select e.state from endpoints e where e.id = deliveries.endpoint_id) = 'active' then 'retrying' else 'held' end`,
      next_attempt_at: outcome.nextAttemptAt,
    })
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', '=', 'in_flight')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** An endpoint's failure record after an attempt, as auto-disable reads it. */
export type EndpointHealth = Pick<
  DeliveryEndpointRow,
  'state' | 'consecutive_failures' | 'auto_disable_failures' | 'auto_disable_after_ms' | 'failing_since'
>;

/**
 * Updates an endpoint's failure record after an attempt and returns it. A success clears it. A failed
 * attempt starts `failing_since` (if not yet running); `consecutive_failures` counts failed DELIVERIES,
 * i.e. dead letters since the last success (SFTP To Go's deliveries log counts a notification as
 * failed, not each try), so one outage of a busy endpoint is not five strikes within minutes.
 */
export async function recordEndpointOutcome(
  tx: Executor,
  endpointId: string,
  outcome: { readonly succeeded: boolean; readonly deadLettered: boolean; readonly now: number },
): Promise<EndpointHealth | undefined> {
  // A success on a healthy endpoint changes nothing: its row is left alone (no write per delivery).
  if (outcome.succeeded) return (await clearFailures(tx, endpointId))[0];
  return tx
    .updateTable('endpoints')
    .set((eb) => ({
      failing_since: eb.fn.coalesce('failing_since', eb.val(outcome.now)),
      ...(outcome.deadLettered ? { consecutive_failures: eb('consecutive_failures', '+', 1) } : {}),
    }))
    .where('id', '=', endpointId)
    .returning(HEALTH_COLUMNS)
    .executeTakeFirst();
}

const HEALTH_COLUMNS = [
  'state',
  'consecutive_failures',
  'auto_disable_failures',
  'auto_disable_after_ms',
  'failing_since',
] as const;

const clearFailures = preparedQuery(1, (tx, endpointId: string) =>
  tx
    .updateTable('endpoints')
    .set({ consecutive_failures: 0, failing_since: null })
    .where('id', '=', endpointId)
    .where((eb) => eb.or([eb('consecutive_failures', '<>', 0), eb('failing_since', 'is not', null)]))
    .returning(HEALTH_COLUMNS),
);

/**
 * Auto-disables an active endpoint: state `disabled` with the reason, and its waiting deliveries
 * (pending, retrying) become `held`, kept for when it is enabled again. False when it was not active.
 */
export async function disableEndpoint(
  tx: Executor,
  endpointId: string,
  reason: string,
  now: number,
): Promise<boolean> {
  const result = await tx
    .updateTable('endpoints')
    .set({ state: 'disabled', state_reason: reason, updated_at: now })
    .where('id', '=', endpointId)
    .where('state', '=', 'active')
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) return false;
  await tx
    .updateTable('deliveries')
    .set({ status: 'held', updated_at: now })
    .where('endpoint_id', '=', endpointId)
    .where('status', 'in', ['pending', 'retrying'])
    .execute();
  return true;
}

/**
 * Repairs what a state change can race with where transactions see only committed rows (PostgreSQL's
 * READ COMMITTED): a change that read its endpoint as active while it was being disabled records a
 * `pending` row the hold missed, and one that read it as disabled while it was being enabled records
 * a `held` row the release missed, which nothing would ever send. Looks only at endpoints whose state
 * changed in the last `windowMs` (`updated_at`), so it stays cheap. Returns how many rows it moved.
 */
export async function reconcileHolds(db: Executor, now: number, windowMs: number): Promise<number> {
  const recent = (active: boolean) =>
    db
      .selectFrom('endpoints')
      .select('id')
      .where('updated_at', '>=', now - windowMs)
      .where('state', active ? '=' : '<>', 'active');
  const held = await db
    .updateTable('deliveries')
    .set({ status: 'held', updated_at: now })
    .where('status', 'in', ['pending', 'retrying'])
    .where('endpoint_id', 'in', recent(false))
    .executeTakeFirst();
  const released = await db
    .updateTable('deliveries')
    .set({
      status: sql<DeliveryStatus>`case when attempts > 0 then 'retrying' else 'pending' end`,
      updated_at: now,
    })
    .where('status', '=', 'held')
    .where('endpoint_id', 'in', recent(true))
    .executeTakeFirst();
  return Number(held.numUpdatedRows) + Number(released.numUpdatedRows);
}

/**
 * Gives a claimed delivery back without counting an attempt (graceful shutdown, or its endpoint was
 * paused or disabled while it waited to be sent): `held` if its endpoint is not active, else `pending`
 * if it was never tried, else `retrying`; due at once; lease cleared. False when the lease was lost.
 */
export async function releaseDelivery(
  db: Executor,
  id: string,
  owner: string,
  now: number,
): Promise<boolean> {
  const result = await db
    .updateTable('deliveries')
    .set(releasedColumns(now))
    .where('id', '=', id)
    .where('lease_owner', '=', owner)
    .where('status', '=', 'in_flight')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

function releasedColumns(now: number) {
  return {
    // An endpoint paused or disabled meanwhile holds it, like the rest of its deliveries.
    status: sql<DeliveryStatus>`case when (select e.state from endpoints e where e.id = deliveries.endpoint_id) <> 'active' then 'held' when attempts > 0 then 'retrying' else 'pending' end`,
    lease_owner: null,
    lease_until: null,
    updated_at: now,
  };
}

/** Releases every delivery `owner` still holds; returns how many. */
export async function releaseLeases(db: Executor, owner: string, now: number): Promise<number> {
  const result = await db
    .updateTable('deliveries')
    .set(releasedColumns(now))
    .where('lease_owner', '=', owner)
    .where('status', '=', 'in_flight')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export interface PurgeOptions {
  /** Succeeded deliveries finished before this are deleted. */
  readonly succeededBefore: number;
  /** Dead letters finished before this are deleted. */
  readonly deadBefore: number;
  /** Rows per transaction (default 500). */
  readonly batchSize?: number;
}

export interface PurgeCounts {
  readonly deliveries: number;
  readonly attempts: number;
  readonly events: number;
}

/**
 * Deletes finished deliveries past their retention with their attempts, and the events they were
 * the last delivery of, in small transactions so writers are never blocked for long.
 */
export async function purgeFinished(db: Database['db'], options: PurgeOptions): Promise<PurgeCounts> {
  const batchSize = options.batchSize ?? 500;
  let deliveries = 0;
  let attempts = 0;
  let events = 0;
  for (;;) {
    const batch = await db.transaction().execute(async (tx) => {
      const rows = await tx
        .selectFrom('deliveries')
        .select(['id', 'event_id'])
        .where((eb) =>
          eb.or([
            eb.and([eb('status', '=', 'succeeded'), eb('finished_at', '<', options.succeededBefore)]),
            eb.and([eb('status', '=', 'dead'), eb('finished_at', '<', options.deadBefore)]),
          ]),
        )
        .limit(batchSize)
        .execute();
      if (rows.length === 0) return { deliveries: 0, attempts: 0, events: 0 };
      const ids = rows.map((r) => r.id);
      const eventIds = [...new Set(rows.flatMap((r) => (r.event_id === null ? [] : [r.event_id])))];
      const a = await tx.deleteFrom('delivery_attempts').where('delivery_id', 'in', ids).executeTakeFirst();
      const d = await tx.deleteFrom('deliveries').where('id', 'in', ids).executeTakeFirst();
      const e =
        eventIds.length === 0
          ? { numDeletedRows: 0n }
          : await tx
              .deleteFrom('events')
              .where('id', 'in', eventIds)
              .where((eb) =>
                eb.not(
                  eb.exists(
                    eb
                      .selectFrom('deliveries')
                      .select('deliveries.id')
                      .whereRef('deliveries.event_id', '=', 'events.id'),
                  ),
                ),
              )
              .executeTakeFirst();
      return {
        deliveries: Number(d.numDeletedRows),
        attempts: Number(a.numDeletedRows),
        events: Number(e.numDeletedRows),
      };
    });
    deliveries += batch.deliveries;
    attempts += batch.attempts;
    events += batch.events;
    if (batch.deliveries < batchSize) return { deliveries, attempts, events };
  }
}

/** Deliveries not yet finished, by status (the dispatcher's queue depth). */
export async function countOpenDeliveries(
  db: Executor,
): Promise<Readonly<Record<Exclude<DeliveryStatus, 'succeeded' | 'dead'>, number>>> {
  const rows = await db
    .selectFrom('deliveries')
    .select((eb) => ['status', eb.fn.countAll<number | string>().as('n')])
    .where('status', 'in', ['pending', 'retrying', 'in_flight', 'held'])
    .groupBy('status')
    .execute();
  const counts = { pending: 0, retrying: 0, in_flight: 0, held: 0 };
  for (const row of rows) {
    if (row.status in counts) counts[row.status as keyof typeof counts] = Number(row.n);
  }
  return counts;
}

/**
 * Gives back every lease at start on a single-writer database (SQLite): only this process ever
 * claims there, so an `in_flight` row is a leftover of a crash and need not wait for its lease to expire.
 */
export async function releaseAllLeases(db: Executor, now: number): Promise<number> {
  const common = { lease_owner: null, lease_until: null, next_attempt_at: now, updated_at: now };
  const never = await db
    .updateTable('deliveries')
    .set({ ...common, status: 'pending' })
    .where('status', '=', 'in_flight')
    .where('attempts', '=', 0)
    .executeTakeFirst();
  const tried = await db
    .updateTable('deliveries')
    .set({ ...common, status: 'retrying' })
    .where('status', '=', 'in_flight')
    .executeTakeFirst();
  return Number(never.numUpdatedRows) + Number(tried.numUpdatedRows);
}
