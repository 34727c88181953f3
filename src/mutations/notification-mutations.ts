import { randomUUID } from 'node:crypto';
import type { Insertable } from 'kysely';
import type { Tx } from '../db/database.ts';
import {
  deleteBucketRules,
  insertEndpoint,
  insertRules,
  listBucketRules,
} from '../db/notification-repository.ts';
import type { EndpointsTable, NotificationRulesTable } from '../db/schema.ts';
import type { Actor } from './actor.ts';
import { commitUnit, type MutationContext } from './mutation-context.ts';
import { newDeliveryRow } from './new-delivery.ts';
import { requireBucket } from './object-mutations.ts';

export interface PlannedRule {
  readonly id: string;
  readonly form: NotificationRulesTable['form'];
  readonly endpointId: string;
  readonly events: readonly string[];
  readonly prefix: string;
  readonly suffix: string;
}

/** A validated notification configuration, ready to replace a bucket's current one. */
export interface ConfigurationPlan {
  readonly rules: readonly PlannedRule[];
  /** Endpoints the configuration creates (VK's SimpleTopicConfiguration URLs). */
  readonly createEndpoints: readonly Insertable<EndpointsTable>[];
  /** s3:TestEvent messages for destinations that are new to this bucket. */
  readonly testMessages: readonly {
    readonly endpointId: string;
    readonly ruleId: string;
    readonly body: string;
  }[];
}

/**
 * Replaces a bucket's whole notification configuration in one transaction, queues the test messages,
 * and removes the bucket-private (VK) endpoints it no longer uses once nothing is left to deliver to them.
 */
export async function replaceNotificationConfiguration(
  ctx: MutationContext,
  actor: Actor,
  bucket: string,
  plan: ConfigurationPlan,
): Promise<void> {
  await commitUnit(ctx, actor, async (tx) => {
    await requireBucket(ctx, tx, bucket);
    const previous = await listBucketRules(tx, bucket);
    for (const endpoint of plan.createEndpoints) await insertEndpoint(tx, endpoint);
    await deleteBucketRules(tx, bucket);
    const now = ctx.now();
    await insertRules(
      tx,
      plan.rules.map((rule, position) => ({
        bucket,
        id: rule.id,
        position,
        endpoint_id: rule.endpointId,
        form: rule.form,
        events: JSON.stringify(rule.events),
        prefix: rule.prefix,
        suffix: rule.suffix,
        created_at: now,
      })),
    );
    for (const message of plan.testMessages) await queueTestMessage(tx, message, now);
    const stillUsed = new Set(plan.rules.map((r) => r.endpointId));
    for (const old of previous) {
      if (!stillUsed.has(old.endpoint_id)) await removeUnusedPrivateEndpoint(tx, old.endpoint_id, bucket);
    }
    return { result: undefined, changes: [], freedBlobs: [] };
  });
  if (plan.testMessages.length > 0) ctx.recorder.afterCommit();
}

/** Queues one message with a fixed body (s3:TestEvent, ping) for an endpoint. */
export async function queueTestMessage(
  tx: Tx,
  message: { readonly endpointId: string; readonly ruleId: string; readonly body: string },
  now: number,
): Promise<string> {
  const row = newDeliveryRow({
    endpointId: message.endpointId,
    ruleId: message.ruleId,
    eventId: null,
    testBody: message.body,
    status: 'pending',
    now,
  });
  await tx.insertInto('deliveries').values(row).execute();
  return row.id;
}

async function removeUnusedPrivateEndpoint(tx: Tx, endpointId: string, bucket: string): Promise<void> {
  const endpoint = await tx
    .selectFrom('endpoints')
    .select(['id', 'origin', 'bucket'])
    .where('id', '=', endpointId)
    .executeTakeFirst();
  if (endpoint?.origin !== 'vk' || endpoint.bucket !== bucket) return;
  const open = await tx
    .selectFrom('deliveries')
    .select('id')
    .where('endpoint_id', '=', endpointId)
    .where('status', 'in', ['pending', 'in_flight', 'retrying', 'held'])
    .limit(1)
    .executeTakeFirst();
  if (open !== undefined) return;
  await tx
    .deleteFrom('delivery_attempts')
    .where(
      'delivery_id',
      'in',
      tx.selectFrom('deliveries').select('id').where('endpoint_id', '=', endpointId),
    )
    .execute();
  await tx.deleteFrom('deliveries').where('endpoint_id', '=', endpointId).execute();
  await tx.deleteFrom('endpoints').where('id', '=', endpointId).execute();
}

export function newRuleId(): string {
  return randomUUID();
}
