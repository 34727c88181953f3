import { z } from 'zod';
import type { DeliveryAttemptRecord, DeliveryLogRow } from '../db/delivery-log-repository.ts';
import type { EndpointRow } from '../db/notification-repository.ts';
import type { DeliveryStatus } from '../db/schema.ts';
import { maskHeaders, TEST_EVENT_NAME } from '../delivery/delivery-request.ts';

/** Bodies shown by the admin API are cut at this many characters (responses are stored cut at 8 KiB already). */
export const MAX_SHOWN_BODY = 64 * 1024;

/** Every delivery status, in the order of a delivery's life. */
export const DELIVERY_STATUSES = [
  'pending',
  'in_flight',
  'retrying',
  'succeeded',
  'dead',
  'held',
] as const satisfies readonly DeliveryStatus[];
// A status added to the schema must be listed here: this line stops compiling until it is.
const _everyStatusListed: [Exclude<DeliveryStatus, (typeof DELIVERY_STATUSES)[number]>] extends [never]
  ? true
  : never = true;

const iso = z.string().describe('ISO 8601, UTC');

export const endpointView = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string(),
  bucket: z.string().nullable().describe('null: usable from every bucket'),
  owner: z.string(),
  origin: z.enum(['config', 'vk', 'api']),
  state: z.enum(['active', 'paused', 'disabled']),
  stateReason: z.string().nullable(),
  consecutiveFailures: z.number().int().describe('Dead-lettered deliveries since the last success'),
  failingSince: iso.nullable().describe('First failed attempt since the last success'),
  autoDisableFailures: z
    .number()
    .int()
    .describe('Disabled after this many consecutive failed deliveries (0: never)'),
  autoDisableAfterMs: z.number().int().nullable().describe('Disabled after failing this long (null: never)'),
});

export const deliveryView = z.object({
  id: z.string(),
  endpointId: z.string(),
  kind: z.enum(['event', 'test']),
  eventName: z.string().describe(`${TEST_EVENT_NAME} for test messages`),
  bucket: z.string().nullable(),
  key: z.string().nullable(),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable(),
  lastDurationMs: z.number().int().nullable(),
  lastError: z.string().nullable(),
  nextAttemptAt: iso.nullable().describe('When it is due (pending, retrying); null otherwise'),
  createdAt: iso,
  updatedAt: iso,
  finishedAt: iso.nullable(),
});

export const attemptView = z.object({
  attempt: z.number().int(),
  startedAt: iso,
  durationMs: z.number().int(),
  request: z.object({
    headers: z.record(z.string(), z.string()).describe('Authorization and credential-like values are masked'),
    body: z.string(),
    bodyTruncated: z.boolean(),
  }),
  response: z
    .object({
      statusCode: z.number().int().nullable(),
      headers: z.record(z.string(), z.string()),
      body: z.string(),
      bodyTruncated: z.boolean(),
    })
    .nullable()
    .describe('null when no response arrived'),
  errorCode: z.string().nullable(),
  error: z.string().nullable(),
});

/** A delivery as the admin API returns it (JSON). */
export type DeliveryView = z.infer<typeof deliveryView>;
/** One attempt as the admin API returns it (JSON). */
export type AttemptView = z.infer<typeof attemptView>;

const isoOf = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : isoOf(ms));

export function toEndpointView(row: EndpointRow): z.infer<typeof endpointView> {
  return {
    id: row.id,
    name: row.name,
    url: row.url,
    bucket: row.bucket,
    owner: row.owner,
    origin: row.origin,
    state: row.state,
    stateReason: row.state_reason,
    consecutiveFailures: row.consecutive_failures,
    failingSince: isoOrNull(row.failing_since),
    autoDisableFailures: row.auto_disable_failures,
    autoDisableAfterMs: row.auto_disable_after_ms,
  };
}

export function toDeliveryView(row: DeliveryLogRow): z.infer<typeof deliveryView> {
  const isTest = row.kind === 'test' || row.event_id === null;
  const waiting = row.status === 'pending' || row.status === 'retrying';
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    kind: isTest ? 'test' : 'event',
    eventName: isTest ? TEST_EVENT_NAME : (row.event_name ?? ''),
    bucket: isTest ? testBucket(row.test_body) : row.bucket,
    key: isTest ? null : row.key,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.last_status_code,
    lastDurationMs: row.last_duration_ms,
    lastError: row.last_error,
    nextAttemptAt: waiting ? isoOf(row.next_attempt_at) : null,
    createdAt: isoOf(row.created_at),
    updatedAt: isoOf(row.updated_at),
    finishedAt: isoOrNull(row.finished_at),
  };
}

export function toAttemptView(row: DeliveryAttemptRecord): z.infer<typeof attemptView> {
  const request = cut(row.request_body);
  const gotResponse = row.status_code !== null || row.response_headers !== null;
  const response = cut(row.response_body ?? '');
  return {
    attempt: row.attempt,
    startedAt: isoOf(row.started_at),
    durationMs: row.duration_ms,
    // Masked when recorded; masked again here so that no stored credential can ever be shown.
    request: {
      headers: maskHeaders(headersOf(row.request_headers)),
      body: request.text,
      bodyTruncated: request.truncated,
    },
    response: gotResponse
      ? {
          statusCode: row.status_code,
          headers: headersOf(row.response_headers ?? '{}'),
          body: response.text,
          bodyTruncated: response.truncated,
        }
      : null,
    errorCode: row.error_code,
    error: row.error,
  };
}

/** A test message names its bucket in its own body (AWS's s3:TestEvent has `Bucket`). */
function testBucket(body: string | null): string | null {
  if (body === null) return null;
  try {
    const parsed: unknown = JSON.parse(body);
    if (
      parsed !== null &&
      typeof parsed === 'object' &&
      'Bucket' in parsed &&
      typeof parsed.Bucket === 'string'
    ) {
      return parsed.Bucket;
    }
  } catch {
    // Not JSON: no bucket to show.
  }
  return null;
}

function headersOf(json: string): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(json);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(parsed)) if (typeof value === 'string') out[name] = value;
    return out;
  } catch {
    return {};
  }
}

function cut(text: string): { text: string; truncated: boolean } {
  return text.length > MAX_SHOWN_BODY
    ? { text: text.slice(0, MAX_SHOWN_BODY), truncated: true }
    : { text, truncated: false };
}
