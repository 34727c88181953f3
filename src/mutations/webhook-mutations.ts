import type { Insertable } from 'kysely';
import { findBucket } from '../db/bucket-repository.ts';
import type { Tx } from '../db/database.ts';
import {
  finishDelivery,
  recordAttempt,
  type DeliveryAttemptRow,
  type DeliveryRow,
} from '../db/delivery-repository.ts';
import {
  findEndpoint,
  insertEndpoint,
  insertRules,
  listBucketRules,
  updateEndpoint,
  type EndpointRow,
  type RuleRow,
} from '../db/notification-repository.ts';
import type { EndpointsTable } from '../db/schema.ts';
import { validateRules, type RuleDraft, type RuleProblem } from '../events/rule-validation.ts';
import type { Actor } from './actor.ts';
import { commitUnit, type MutationContext } from './mutation-context.ts';
import { newDeliveryRow } from './new-delivery.ts';

/** Why a webhook change is refused; the admin API maps the codes to problem+json. */
export type WebhookErrorCode =
  /** The bucket does not exist (any more). */
  | 'NO_SUCH_BUCKET'
  /** The webhook does not exist (any more). */
  | 'NO_SUCH_WEBHOOK'
  /** The rule would make the bucket's notification configuration invalid (`problem` says how). */
  | 'RULE_REFUSED'
  /** The endpoint has no rule or several on its bucket (edited through the S3 API): edit them there. */
  | 'NOT_ONE_RULE';

export class WebhookError extends Error {
  readonly code: WebhookErrorCode;
  readonly problem: RuleProblem | undefined;
  constructor(code: WebhookErrorCode, message: string, problem?: RuleProblem) {
    super(message);
    this.code = code;
    this.problem = problem;
  }
}

/** The one rule a webhook created through the admin API has on its bucket. */
export interface WebhookRule {
  readonly id: string;
  readonly events: readonly string[];
  readonly prefix: string;
  readonly suffix: string;
}

/** What `pause` and `resume` did to the webhook's deliveries. */
export interface HoldCounts {
  /** Deliveries now held (pause). */
  readonly held: number;
  /** Held deliveries released to be delivered, oldest first (resume). */
  readonly released: number;
  /** Held deliveries dead-lettered with 'discarded on resume' (resume with discardHeld). */
  readonly discarded: number;
}

export const DELETED_REASON = 'webhook deleted';
export const DISCARDED_REASON = 'discarded on resume';

/**
 * Creates an endpoint and its rule on the endpoint's bucket together, as the console's "Add webhook"
 * does. The rule joins the bucket's notification configuration (as a QueueConfiguration naming
 * `arn:bucketbell:webhook::<id>`), which must stay valid under the S3 API's own checks.
 */
export async function createWebhook(
  ctx: MutationContext,
  actor: Actor,
  endpoint: Insertable<EndpointsTable> & { readonly bucket: string },
  rule: WebhookRule,
): Promise<void> {
  await commitUnit(ctx, actor, async (tx) => {
    const rules = await lockBucketRules(ctx, tx, endpoint.bucket);
    checkRules([...rules.map(draftOf), { ...rule, destination: endpoint.id }]);
    await insertEndpoint(tx, endpoint);
    await insertRules(tx, [
      {
        bucket: endpoint.bucket,
        id: rule.id,
        position: rules.reduce((max, r) => Math.max(max, r.position + 1), 0),
        endpoint_id: endpoint.id,
        form: 'QueueConfiguration',
        events: JSON.stringify(rule.events),
        prefix: rule.prefix,
        suffix: rule.suffix,
        created_at: endpoint.created_at,
      },
    ]);
    return { result: undefined, changes: [], freedBlobs: [] };
  });
}

/**
 * Changes an endpoint's settings and, when `rule` is given, its one rule on its bucket (re-validating
 * the bucket's whole configuration).
 */
export async function updateWebhook(
  ctx: MutationContext,
  actor: Actor,
  id: string,
  changes: Partial<Insertable<EndpointsTable>>,
  rule?: Partial<Omit<WebhookRule, 'id'>>,
): Promise<void> {
  await commitUnit(ctx, actor, async (tx) => {
    const endpoint = await requireEndpoint(tx, id);
    if (rule !== undefined && Object.keys(rule).length > 0) {
      if (endpoint.bucket === null)
        throw new WebhookError(
          'NOT_ONE_RULE',
          'This endpoint serves no single bucket; it has no rule to edit.',
        );
      const rules = await lockBucketRules(ctx, tx, endpoint.bucket);
      const own = rules.filter((r) => r.endpoint_id === id);
      const current = own[0];
      if (own.length !== 1 || current === undefined) {
        throw new WebhookError(
          'NOT_ONE_RULE',
          `The webhook has ${own.length} rules on bucket ${endpoint.bucket}; edit them with PUT ?notification.`,
        );
      }
      const next = {
        events: rule.events ?? (JSON.parse(current.events) as string[]),
        prefix: rule.prefix ?? current.prefix,
        suffix: rule.suffix ?? current.suffix,
      };
      checkRules(rules.map((r) => (r === current ? { ...draftOf(r), ...next } : draftOf(r))));
      await tx
        .updateTable('notification_rules')
        .set({ events: JSON.stringify(next.events), prefix: next.prefix, suffix: next.suffix })
        .where('bucket', '=', current.bucket)
        .where('id', '=', current.id)
        .execute();
    }
    await updateEndpoint(tx, id, { ...changes, updated_at: ctx.now() });
    return { result: undefined, changes: [], freedBlobs: [] };
  });
}

/**
 * Deletes a webhook: its rules (on every bucket), then the endpoint. Its deliveries that are still
 * waiting (pending, retrying, held) are dead-lettered with the reason 'webhook deleted', so the log
 * keeps them until `dead_letter_retention` purges them with their events; one already in flight
 * finishes its POST and is recorded as usual (a dispatcher that finds the endpoint gone dead-letters
 * the delivery, it never fails). Returns how many deliveries were dead-lettered.
 */
export async function deleteWebhook(ctx: MutationContext, actor: Actor, id: string): Promise<number> {
  return commitUnit(ctx, actor, async (tx) => {
    await requireEndpoint(tx, id);
    const now = ctx.now();
    await tx.deleteFrom('notification_rules').where('endpoint_id', '=', id).execute();
    const dead = await tx
      .updateTable('deliveries')
      .set({ status: 'dead', last_error: DELETED_REASON, finished_at: now, updated_at: now })
      .where('endpoint_id', '=', id)
      .where('status', 'in', ['pending', 'retrying', 'held'])
      .executeTakeFirst();
    await tx.deleteFrom('endpoints').where('id', '=', id).execute();
    return { result: Number(dead.numUpdatedRows), changes: [], freedBlobs: [] };
  });
}

/**
 * Pauses a webhook: the dispatcher claims nothing of a paused endpoint, new events are recorded
 * `held` (OutboxRecorder), and its waiting deliveries (pending, retrying) become `held` too. A POST
 * already in flight finishes.
 */
export async function pauseWebhook(
  ctx: MutationContext,
  actor: Actor,
  id: string,
  reason: string,
): Promise<HoldCounts> {
  return commitUnit(ctx, actor, async (tx) => {
    await requireEndpoint(tx, id);
    const now = ctx.now();
    await updateEndpoint(tx, id, { state: 'paused', state_reason: reason, updated_at: now });
    const held = await tx
      .updateTable('deliveries')
      .set({ status: 'held', updated_at: now })
      .where('endpoint_id', '=', id)
      .where('status', 'in', ['pending', 'retrying'])
      .executeTakeFirst();
    return {
      result: { held: Number(held.numUpdatedRows), released: 0, discarded: 0 },
      changes: [],
      freedBlobs: [],
    };
  });
}

/**
 * Makes a paused (or disabled) webhook active again and releases its held deliveries: each is due
 * at once with `next_attempt_at` set back to its creation time, so the dispatcher, which claims
 * oldest first, sends the backlog in the order it was recorded. With `discardHeld` they are
 * dead-lettered with the reason 'discarded on resume' instead. Wakes the dispatcher after the commit.
 */
export async function resumeWebhook(
  ctx: MutationContext,
  actor: Actor,
  id: string,
  discardHeld: boolean,
): Promise<HoldCounts> {
  const counts = await commitUnit(ctx, actor, async (tx) => {
    await requireEndpoint(tx, id);
    const now = ctx.now();
    await updateEndpoint(tx, id, {
      state: 'active',
      state_reason: null,
      consecutive_failures: 0,
      failing_since: null,
      updated_at: now,
    });
    const held = tx.updateTable('deliveries').where('endpoint_id', '=', id).where('status', '=', 'held');
    if (discardHeld) {
      const dead = await held
        .set({ status: 'dead', last_error: DISCARDED_REASON, finished_at: now, updated_at: now })
        .executeTakeFirst();
      return {
        result: { held: 0, released: 0, discarded: Number(dead.numUpdatedRows) },
        changes: [],
        freedBlobs: [],
      };
    }
    const released = await held
      .set((eb) => ({
        status: eb
          .case()
          .when('attempts', '>', 0)
          .then('retrying' as const)
          .else('pending' as const)
          .end(),
        next_attempt_at: eb.ref('created_at'),
        // A released delivery gets a full retry schedule again, as `enable` gives it.
        budget_start: eb.ref('attempts'),
        updated_at: now,
      }))
      .executeTakeFirst();
    if (released.numUpdatedRows > 0n) await ctx.database.wake.signal(tx);
    return {
      result: { held: 0, released: Number(released.numUpdatedRows), discarded: 0 },
      changes: [],
      freedBlobs: [],
    };
  });
  if (counts.released > 0) ctx.recorder.afterCommit();
  return counts;
}

/**
 * Replaces the signing secret. With an overlap the old secret stays the previous one until
 * `previousUntil`, and deliveries carry signatures made with both; without one it is dropped at once.
 */
export async function rotateWebhookSecret(
  ctx: MutationContext,
  actor: Actor,
  id: string,
  sealedSecret: string,
  previousUntil: number | null,
): Promise<void> {
  await commitUnit(ctx, actor, async (tx) => {
    const endpoint = await requireEndpoint(tx, id);
    const keepPrevious = previousUntil !== null && endpoint.secret_ciphertext !== null;
    await updateEndpoint(tx, id, {
      secret_ciphertext: sealedSecret,
      previous_secret_ciphertext: keepPrevious ? endpoint.secret_ciphertext : null,
      previous_secret_until: keepPrevious ? previousUntil : null,
      updated_at: ctx.now(),
    });
    return { result: undefined, changes: [], freedBlobs: [] };
  });
}

/**
 * Records a ping as a test delivery that is already in flight under `leaseOwner` (so no dispatcher
 * claims it while the admin API sends it; if the server dies meanwhile, the lease expires and the
 * dispatcher sends it like any other delivery).
 */
export async function beginPing(
  ctx: MutationContext,
  actor: Actor,
  ping: {
    readonly endpointId: string;
    readonly ruleId: string;
    readonly body: string;
    readonly leaseOwner: string;
    readonly leaseUntil: number;
  },
): Promise<DeliveryRow> {
  return commitUnit(ctx, actor, async (tx) => {
    await requireEndpoint(tx, ping.endpointId);
    const row = {
      ...newDeliveryRow({
        endpointId: ping.endpointId,
        ruleId: ping.ruleId,
        eventId: null,
        testBody: ping.body,
        status: 'pending',
        now: ctx.now(),
      }),
      status: 'in_flight' as const,
      lease_owner: ping.leaseOwner,
      lease_until: ping.leaseUntil,
    };
    await tx.insertInto('deliveries').values(row).execute();
    const inserted = await tx
      .selectFrom('deliveries')
      .selectAll()
      .where('id', '=', row.id)
      .executeTakeFirstOrThrow();
    return { result: inserted, changes: [], freedBlobs: [] };
  });
}

/**
 * Settles a ping with its one attempt: succeeded on a 2xx, else dead (a ping is not retried: the
 * caller sees the outcome and can ping again). Pings do not count toward the endpoint's consecutive
 * failures, which are about its events.
 */
export async function finishPing(
  ctx: MutationContext,
  actor: Actor,
  delivery: DeliveryRow,
  leaseOwner: string,
  attempt: DeliveryAttemptRow,
): Promise<boolean> {
  const succeeded = attempt.error_code === null;
  return commitUnit(ctx, actor, async (tx) => {
    const owned = await finishDelivery(tx, delivery.id, leaseOwner, {
      now: ctx.now(),
      status: succeeded ? 'succeeded' : 'dead',
      attempts: attempt.attempt,
      lastStatusCode: attempt.status_code ?? null,
      lastError: succeeded ? null : `${attempt.error_code ?? ''}: ${attempt.error ?? ''}`,
      lastDurationMs: attempt.duration_ms,
    });
    if (owned) await recordAttempt(tx, attempt);
    return { result: owned, changes: [], freedBlobs: [] };
  });
}

async function requireEndpoint(tx: Tx, id: string): Promise<EndpointRow> {
  const endpoint = await findEndpoint(tx, id);
  if (endpoint === undefined) throw new WebhookError('NO_SUCH_WEBHOOK', `There is no webhook ${id}.`);
  return endpoint;
}

/** The bucket's rules, read under a lock on the bucket row so concurrent rule changes are serialised. */
async function lockBucketRules(ctx: MutationContext, tx: Tx, bucket: string): Promise<RuleRow[]> {
  const row = await findBucket(tx, bucket, ctx.database.hasRowLocks ? 'update' : 'none');
  if (row === undefined) throw new WebhookError('NO_SUCH_BUCKET', `There is no bucket ${bucket}.`);
  return listBucketRules(tx, bucket);
}

function draftOf(rule: RuleRow): RuleDraft {
  return {
    id: rule.id,
    destination: rule.endpoint_id,
    events: JSON.parse(rule.events) as string[],
    prefix: rule.prefix,
    suffix: rule.suffix,
  };
}

function checkRules(drafts: readonly RuleDraft[]): void {
  const problem = validateRules(drafts);
  if (problem !== undefined) {
    throw new WebhookError(
      'RULE_REFUSED',
      'The rule would make the bucket notification configuration invalid.',
      problem,
    );
  }
}
