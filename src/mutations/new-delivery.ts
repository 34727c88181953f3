import { randomUUID } from 'node:crypto';
import type { Insertable } from 'kysely';
import type { DeliveriesTable, DeliveryStatus } from '../db/schema.ts';

/** A fresh outbox row: due now, never tried, no lease. The one place delivery rows are born. */
export function newDeliveryRow(fields: {
  readonly endpointId: string;
  readonly ruleId: string;
  readonly eventId: number | null;
  readonly testBody: string | null;
  readonly status: Extract<DeliveryStatus, 'pending' | 'held'>;
  readonly now: number;
}): Insertable<DeliveriesTable> {
  return {
    id: randomUUID(),
    endpoint_id: fields.endpointId,
    event_id: fields.eventId,
    rule_id: fields.ruleId,
    kind: fields.eventId === null ? 'test' : 'event',
    test_body: fields.testBody,
    status: fields.status,
    attempts: 0,
    next_attempt_at: fields.now,
    lease_owner: null,
    lease_until: null,
    last_status_code: null,
    last_error: null,
    last_duration_ms: null,
    created_at: fields.now,
    updated_at: fields.now,
    finished_at: null,
  };
}
