import type { Tx } from '../db/database.ts';
import { insertDeliveryRow, insertEventRow } from '../db/delivery-repository.ts';
import { listRulesForEvent } from '../db/notification-repository.ts';
import { matchRules, type NotificationRule } from '../events/notification-rule.ts';
import type { Actor } from './actor.ts';
import type { ChangeRecorder } from './change-recorder.ts';
import { newDeliveryRow } from './new-delivery.ts';
import type { ObjectChange } from './object-change.ts';

/**
 * Writes, inside the change's own transaction, one event row per change that some rule matches and
 * one delivery row per matching endpoint (the transactional outbox, invariant 1). After the commit it
 * wakes the dispatcher.
 */
export class OutboxRecorder implements ChangeRecorder {
  readonly #now: () => number;
  readonly #wake: () => void;

  constructor(options: { readonly now: () => number; readonly wake: () => void }) {
    this.#now = options.now;
    this.#wake = options.wake;
  }

  async record(tx: Tx, changes: readonly ObjectChange[], actor: Actor): Promise<boolean> {
    let queued = false;
    const rulesByBucket = new Map<string, Awaited<ReturnType<typeof listRulesForEvent>>>();
    for (const change of changes) {
      let rows = rulesByBucket.get(change.bucket);
      if (rows === undefined) {
        rows = await listRulesForEvent(tx, change.bucket);
        rulesByBucket.set(change.bucket, rows);
      }
      if (rows.length === 0) continue;
      const rules: NotificationRule[] = rows.map((r) => ({
        id: r.id,
        bucket: change.bucket,
        endpointId: r.endpoint_id,
        events: JSON.parse(r.events) as string[],
        prefix: r.prefix,
        suffix: r.suffix,
      }));
      const matched = matchRules(rules, {
        bucket: change.bucket,
        key: change.key,
        eventName: change.eventName,
      });
      if (matched.length === 0) continue;
      const [inserted] = await insertEventRow(tx, {
        event_name: change.eventName,
        bucket: change.bucket,
        bucket_owner: change.bucketOwner,
        key: change.key,
        version_id: change.versionId,
        size: change.size,
        etag: change.etag,
        content_type: change.contentType,
        user_metadata: JSON.stringify(change.userMetadata),
        time: change.time,
        principal: actor.principal,
        source_ip: actor.sourceIp,
        request_id: actor.requestId,
      });
      if (inserted === undefined) throw new Error('inserting the event returned no id');
      const now = this.#now();
      const stateOf = new Map(rows.map((r) => [r.endpoint_id, r.endpoint_state]));
      for (const rule of matched) {
        await insertDeliveryRow(
          tx,
          newDeliveryRow({
            endpointId: rule.endpointId,
            ruleId: rule.id,
            eventId: inserted.id,
            testBody: null,
            status: stateOf.get(rule.endpointId) === 'active' ? 'pending' : 'held',
            now,
          }),
        );
      }
      queued = true;
    }
    return queued;
  }

  afterCommit(): void {
    this.#wake();
  }
}
