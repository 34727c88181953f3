import { sql, type ExpressionBuilder } from 'kysely';
import type { Database, Tx } from './database.ts';
import { preparedQuery, preparedStream } from './prepared-query.ts';
import type { DeliveryRow } from './delivery-repository.ts';
import type { DeliveriesTable, Schema } from './schema.ts';

export interface ClaimOptions {
  readonly now: number;
  /** Unique per running dispatcher (never reused across restarts): only its owner may settle a claimed row. */
  readonly owner: string;
  /**
   * How long a claim outlives the time its POST can take. A row's lease covers the POSTs queued
   * before it at its endpoint too: `lease_until = now + leaseMs + timeout_ms × (1 + ⌊position ÷
   * max_in_flight⌋)`, where position counts the endpoint's rows already in flight.
   */
  readonly leaseMs: number;
  readonly limit: number;
  /**
   * Rows an endpoint may have claimed at once, as a multiple of its `max_in_flight` (default 1): the
   * claimer queues them and POSTs at most `max_in_flight` at a time, so the next POST starts as soon
   * as one ends, without waiting for a claim.
   */
  readonly prefetch?: number;
}

/** A claimed delivery, with its endpoint's limit of concurrent POSTs. */
export type ClaimedDelivery = DeliveryRow & {
  readonly max_in_flight: number;
  /**
   * 1 when this row took the last place its endpoint had (`max_in_flight × prefetch` claimed):
   * further due rows of the endpoint wait until a claimed one is settled. Else 0.
   */
  readonly fills_endpoint: number;
};

type DueRow = ExpressionBuilder<Schema & { d: DeliveriesTable }, 'd'>;

/** Due: pending or retrying whose time has come, or in flight under a lease that expired (a crashed owner). */
function isDue(eb: DueRow, now: number) {
  return eb.or([
    eb.and([eb('d.status', 'in', ['pending', 'retrying']), eb('d.next_attempt_at', '<=', now)]),
    eb.and([eb('d.status', '=', 'in_flight'), eb('d.lease_until', '<', now)]),
  ]);
}

/**
 * Atomically claims up to `limit` due deliveries of active endpoints, oldest first, and returns them
 * marked `in_flight` under a lease for `owner`. No endpoint gets more than `max_in_flight × prefetch`
 * deliveries claimed at once, counting live leases of every instance, so one slow endpoint's
 * backlog never takes the places of another endpoint's deliveries (no head-of-line blocking).
 *
 * Through the group commit: on SQLite it shares its fsync with the changes around it. With row locks
 * (PostgreSQL) it is one statement whose rows are locked `FOR UPDATE SKIP LOCKED`, so several
 * instances drain one outbox without claiming a row twice (a row another instance claimed meanwhile
 * fails the re-checked due condition and is skipped). With one writer (SQLite) nothing can claim in
 * between, so it picks first (small reads, see `pickThenClaim`) and updates only what it picked.
 */
export async function claimDueDeliveries(
  database: Database,
  options: ClaimOptions,
): Promise<ClaimedDelivery[]> {
  if (options.limit <= 0) return [];
  // A lease lost in a crash is harmless (the row is due again), so the claim need not wait for the
  // disk; it reads only rows whose commits are on disk, so it never sends an event that could vanish.
  const rows = await database.commit(
    (tx) => (database.hasRowLocks ? claimInOneStatement(tx, options) : pickThenClaim(tx, options)),
    { durable: false },
  );
  // The order the claim ranked them in, which the claimer keeps per endpoint.
  return rows.sort(
    (a, b) =>
      a.next_attempt_at - b.next_attempt_at ||
      (a.event_id ?? 0) - (b.event_id ?? 0) ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/**
 * The due rows a claim takes, as CTEs: `busy` (live leases per endpoint), `ranked` (due rows of active
 * endpoints, numbered per endpoint in order, with the places left and each row's lease), and `picked`
 * (the first `limit` that fit, oldest first).
 */
function withPicked(tx: Tx, options: ClaimOptions) {
  const { now, leaseMs, limit } = options;
  const prefetch = Math.max(1, Math.floor(options.prefetch ?? 1));
  const rank = sql<number>`row_number() over (partition by d.endpoint_id order by d.next_attempt_at, coalesce(d.event_id, 0), d.id)`;
  return tx
    .with('busy', (db) =>
      db
        .selectFrom('deliveries')
        .select((eb) => ['endpoint_id', eb.fn.countAll<number>().as('n')])
        .where('status', '=', 'in_flight')
        .where('lease_until', '>=', now)
        .groupBy('endpoint_id'),
    )
    .with('ranked', (db) =>
      db
        .selectFrom('deliveries as d')
        .innerJoin('endpoints as e', 'e.id', 'd.endpoint_id')
        .leftJoin('busy as b', 'b.endpoint_id', 'd.endpoint_id')
        .select([
          'd.id',
          'd.next_attempt_at',
          'e.max_in_flight',
          sql<number>`coalesce(d.event_id, 0)`.as('event_order'),
          // Event ids break ties in one millisecond, so an endpoint gets its events in commit order.
          rank.as('rn'),
          sql<number>`e.max_in_flight * ${prefetch} - coalesce(b.n, 0)`.as('room'),
          sql<number>`cast(${now + leaseMs} as bigint) + e.timeout_ms * (1 + (coalesce(b.n, 0) + ${rank} - 1) / e.max_in_flight)`.as(
            'lease_until',
          ),
        ])
        .where('e.state', '=', 'active')
        .where((eb) => isDue(eb, now)),
    )
    .with('picked', (db) =>
      db
        .selectFrom('ranked')
        .select(['id', 'lease_until', 'max_in_flight', 'rn', 'room'])
        .whereRef('rn', '<=', 'room')
        .orderBy('next_attempt_at')
        .orderBy('event_order')
        .orderBy('id')
        .limit(limit),
    );
}

const claimedColumns = (owner: string, now: number) => ({
  status: 'in_flight' as const,
  lease_owner: owner,
  updated_at: now,
});

async function claimInOneStatement(tx: Tx, options: ClaimOptions): Promise<ClaimedDelivery[]> {
  const { now, owner } = options;
  return withPicked(tx, options)
    .updateTable('deliveries')
    .set({
      ...claimedColumns(owner, now),
      lease_until: sql<number>`(select p.lease_until from picked p where p.id = deliveries.id)`,
    })
    .where('id', 'in', (db) =>
      db
        .selectFrom('deliveries as d')
        .select('d.id')
        .where('d.id', 'in', db.selectFrom('picked').select('picked.id'))
        .where((eb) => isDue(eb, now))
        .forUpdate()
        .skipLocked(),
    )
    .returningAll()
    .returning([
      sql<number>`(select p.max_in_flight from picked p where p.id = deliveries.id)`.as('max_in_flight'),
      sql<number>`(select case when p.rn >= p.room then 1 else 0 end from picked p where p.id = deliveries.id)`.as(
        'fills_endpoint',
      ),
    ])
    .execute();
}

/**
 * The single-writer claim: nothing can claim in between, so it picks first and updates only what it
 * picked. The pick is the ranking `withPicked` does, done here on rows read in claim order: the active
 * endpoints and their live leases (two small reads; a claim where no endpoint has a place left ends
 * there), then the due rows oldest first, each taking its endpoint's next place, until `limit` rows
 * are picked or every endpoint with places has filled them. A backlog an endpoint has no room for is
 * then read only as far as the claim needs, where the window query ranked every due row.
 */
async function pickThenClaim(tx: Tx, options: ClaimOptions): Promise<ClaimedDelivery[]> {
  const picked = await pickInClaimOrder(tx, options);
  if (picked.length === 0) return [];
  // Rows of one endpoint share a lease per wave of max_in_flight: a few updates, not one per row.
  const byLease = new Map<number, Picked[]>();
  for (const p of picked) {
    const lease = p.lease_until;
    byLease.set(lease, [...(byLease.get(lease) ?? []), p]);
  }
  const claimed: ClaimedDelivery[] = [];
  for (const [leaseUntil, rows] of byLease) {
    const updated = await claimPicked(
      tx,
      options.owner,
      options.now,
      leaseUntil,
      JSON.stringify(rows.map((r) => r.id)),
    );
    const pick = new Map(rows.map((r) => [r.id, r]));
    for (const row of updated) {
      const p = pick.get(row.id)!;
      claimed.push({ ...row, max_in_flight: p.max_in_flight, fills_endpoint: p.rn >= p.room ? 1 : 0 });
    }
  }
  return claimed;
}

/** Leases the deliveries whose ids `idsJson` (a JSON array) lists to `owner` (the single-writer claim). */
const claimPicked = preparedQuery(4, (tx, owner: string, now: number, leaseUntil: number, idsJson: string) =>
  tx
    .updateTable('deliveries')
    .set({ ...claimedColumns(owner, now), lease_until: leaseUntil })
    .where('id', 'in', (db) =>
      db.selectFrom(sql<{ value: string }>`json_each(${idsJson})`.as('j')).select('j.value'),
    )
    .returningAll(),
);

const activeEndpoints = preparedQuery(0, (tx) =>
  tx.selectFrom('endpoints').select(['id', 'max_in_flight', 'timeout_ms']).where('state', '=', 'active'),
);

/** Live leases per endpoint. */
const leasedPerEndpoint = preparedQuery(1, (tx, now: number) =>
  tx
    .selectFrom('deliveries')
    .select((eb) => ['endpoint_id', eb.fn.countAll<number>().as('n')])
    .where('status', '=', 'in_flight')
    .where('lease_until', '>=', now)
    .groupBy('endpoint_id'),
);

/** Due deliveries, oldest first, read as far as the claim needs. */
const dueInClaimOrder = preparedStream(1, (tx, now: number) =>
  tx
    .selectFrom('deliveries as d')
    .select(['d.id', 'd.endpoint_id'])
    .where((eb) => isDue(eb, now))
    // Event ids break ties in one millisecond, so an endpoint gets its events in commit order.
    .orderBy('d.next_attempt_at')
    .orderBy(sql`coalesce(d.event_id, 0)`)
    .orderBy('d.id'),
);

/** A row a claim takes: its lease, and its place among its endpoint's (`rn` of `room`). */
interface Picked {
  readonly id: string;
  readonly lease_until: number;
  readonly max_in_flight: number;
  readonly rn: number;
  readonly room: number;
}

/** The rows `withPicked` would pick, read in claim order instead of ranked in one statement. */
async function pickInClaimOrder(tx: Tx, options: ClaimOptions): Promise<Picked[]> {
  const { now, leaseMs, limit } = options;
  const prefetch = Math.max(1, Math.floor(options.prefetch ?? 1));
  const active = await activeEndpoints(tx);
  if (active.length === 0) return [];
  const busy = await leasedPerEndpoint(tx, now);
  const leased = new Map(busy.map((b) => [b.endpoint_id, b.n]));
  const places = new Map<string, { readonly busy: number; readonly room: number; taken: number }>();
  for (const e of active) {
    const n = leased.get(e.id) ?? 0;
    const room = e.max_in_flight * prefetch - n;
    if (room > 0) places.set(e.id, { busy: n, room, taken: 0 });
  }
  let open = places.size;
  if (open === 0) return [];
  const endpointOf = new Map(active.map((e) => [e.id, e]));
  const picked: Picked[] = [];
  const due = dueInClaimOrder(tx, now);
  for await (const row of due) {
    const place = places.get(row.endpoint_id);
    if (place === undefined || place.taken >= place.room) continue;
    const endpoint = endpointOf.get(row.endpoint_id)!;
    const rn = ++place.taken;
    picked.push({
      id: row.id,
      lease_until:
        now +
        leaseMs +
        endpoint.timeout_ms * (1 + Math.floor((place.busy + rn - 1) / endpoint.max_in_flight)),
      max_in_flight: endpoint.max_in_flight,
      rn,
      room: place.room,
    });
    if (rn === place.room) open--;
    if (picked.length >= limit || open === 0) break;
  }
  return picked;
}
