import type { DeliveryContext, DeliveryEventRow, DeliveryRow } from '../db/delivery-repository.ts';
import { EndpointHeadersError, openEndpointHeaders } from '../db/endpoint-headers.ts';
import type { SecretBox } from '../db/secret-box.ts';
import { EVENT_NAMES, type EventName } from '../events/event-name.ts';
import type { EventRecord } from '../events/event-record.ts';
import type { PayloadFormat, PayloadSettings } from './formats/payload-format.ts';
import type { ClientCertificate } from './http-sender.ts';
import { signatureHeaders } from './signature.ts';

/** Everything the dispatcher needs to render requests, the same for every delivery. */
export interface RequestSettings {
  /** Sent as `User-Agent: bucketbell/<version>`. */
  readonly version: string;
  readonly payloadSettings: PayloadSettings;
  /** Payload formats by name (`endpoints.format`). */
  readonly formats: ReadonlyMap<string, PayloadFormat>;
  readonly secretBox: SecretBox;
}

/** One POST, ready to send, and the form of its headers that may be stored in the attempt log. */
export interface DeliveryRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  /**
   * `headers` as the attempt log stores them: Authorization, secret-looking values and every value of
   * the endpoint's extra headers (stored sealed, so never written in the clear) replaced by `***`.
   */
  readonly recordedHeaders: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  /**
   * The endpoint's client certificate with its key opened, to present to the receiver (mTLS); never
   * recorded or logged. Undefined when the endpoint has none.
   */
  readonly clientCertificate: ClientCertificate | undefined;
}

/** A delivery whose request cannot be prepared; recorded as a RENDER_ERROR attempt and retried. */
export class DeliveryRenderError extends Error {
  readonly code = 'RENDER_ERROR';
}

export const TEST_EVENT_NAME = 's3:TestEvent';
export const MASK = '***';

/** Headers an endpoint's extra `headers` may not set: transport headers, and the ones bucketbell owns. */
const RESERVED = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'user-agent',
]);

const SECRET_NAME = /authorization|cookie|token|secret|password|passwd|api[-_]?key|auth/i;

/**
 * Renders the body with the endpoint's format (a test delivery sends its `test_body` verbatim), opens
 * the endpoint's client certificate key if it has one, and builds the headers, in this order so that bucketbell's own always win: the endpoint's extra headers,
 * then Content-Type, User-Agent, X-Bucketbell-Delivery (stable across retries), X-Bucketbell-Event,
 * X-Bucketbell-Attempt, the sealed Authorization value, and the signature(s) of the exact body in the
 * endpoint's signature format (`sha256=<hex>` or the bare hex).
 */
export function buildDeliveryRequest(
  delivery: DeliveryRow,
  context: Pick<DeliveryContext, 'endpoint' | 'event'>,
  attempt: number,
  now: number,
  settings: RequestSettings,
): DeliveryRequest {
  const { endpoint, event } = context;
  let body: string;
  let contentType = 'application/json';
  let eventName: string;
  if (delivery.kind === 'test' || event === null) {
    body = delivery.test_body ?? '';
    eventName = TEST_EVENT_NAME;
  } else {
    const format = settings.formats.get(endpoint.format);
    if (format === undefined) throw new DeliveryRenderError(`unknown payload format "${endpoint.format}"`);
    const record = toEventRecord(event);
    body = format.render([{ event: record, ruleId: delivery.rule_id }], settings.payloadSettings);
    contentType = format.contentType;
    eventName = record.eventName;
  }

  const ownNames = new Set([...RESERVED, endpoint.signature_header.toLowerCase()]);
  const headers: Record<string, string> = {};
  const extraNames: string[] = [];
  for (const [name, value] of Object.entries(extraHeaders(settings.secretBox, endpoint))) {
    const lower = name.toLowerCase();
    if (ownNames.has(lower) || lower.startsWith('x-bucketbell-')) continue;
    if (lower === 'authorization' && endpoint.authorization_ciphertext !== null) continue;
    headers[name] = value;
    extraNames.push(name);
  }
  headers['Content-Type'] = contentType;
  headers['User-Agent'] = `bucketbell/${settings.version}`;
  headers['X-Bucketbell-Delivery'] = delivery.id;
  headers['X-Bucketbell-Event'] = eventName;
  headers['X-Bucketbell-Attempt'] = String(attempt);
  if (endpoint.authorization_ciphertext !== null) {
    headers['Authorization'] = open(settings.secretBox, endpoint.authorization_ciphertext, 'authorization');
  }
  if (endpoint.secret_ciphertext !== null) {
    const previous =
      endpoint.previous_secret_ciphertext !== null && (endpoint.previous_secret_until ?? 0) > now
        ? open(settings.secretBox, endpoint.previous_secret_ciphertext, 'previous signing secret')
        : null;
    Object.assign(
      headers,
      signatureHeaders(
        {
          header: endpoint.signature_header,
          format: endpoint.signature_format,
          secret: open(settings.secretBox, endpoint.secret_ciphertext, 'signing secret'),
          previousSecret: previous,
          previousSecretUntil: endpoint.previous_secret_until,
        },
        body,
        now,
      ),
    );
  }
  return {
    url: endpoint.url,
    headers,
    recordedHeaders: { ...maskHeaders(headers), ...Object.fromEntries(extraNames.map((n) => [n, MASK])) },
    body,
    timeoutMs: endpoint.timeout_ms,
    clientCertificate:
      endpoint.client_certificate !== null && endpoint.client_key_ciphertext !== null
        ? {
            cert: endpoint.client_certificate,
            key: open(settings.secretBox, endpoint.client_key_ciphertext, 'client certificate key'),
          }
        : undefined,
  };
}

/** Replaces the values of Authorization, cookies and headers named like a credential with `***`. */
export function maskHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const isSignature = /signature/i.test(name);
    out[name] = !isSignature && SECRET_NAME.test(name) ? MASK : value;
  }
  return out;
}

const eventNames: readonly string[] = EVENT_NAMES;

/** The outbox's event row as the payload formats take it. */
export function toEventRecord(row: DeliveryEventRow): EventRecord {
  if (!eventNames.includes(row.event_name))
    throw new DeliveryRenderError(`unknown event name "${row.event_name}"`);
  let userMetadata: Record<string, string>;
  try {
    userMetadata = JSON.parse(row.user_metadata) as Record<string, string>;
  } catch {
    throw new DeliveryRenderError(`event ${row.id} has unreadable user metadata`);
  }
  return {
    id: row.id,
    eventName: row.event_name as EventName,
    bucket: row.bucket,
    bucketOwner: row.bucket_owner,
    key: row.key,
    versionId: row.version_id,
    size: row.size,
    etag: row.etag,
    contentType: row.content_type,
    userMetadata,
    time: row.time,
    principal: row.principal,
    sourceIp: row.source_ip,
    requestId: row.request_id,
  };
}

function extraHeaders(box: SecretBox, endpoint: DeliveryContext['endpoint']): Record<string, string> {
  try {
    return openEndpointHeaders(box, endpoint);
  } catch (err) {
    if (err instanceof EndpointHeadersError) throw new DeliveryRenderError(err.message);
    throw err;
  }
}

function open(box: SecretBox, sealed: string, what: string): string {
  try {
    return box.open(sealed);
  } catch {
    // Never the error's text: it must not carry key material into the attempt log.
    throw new DeliveryRenderError(`the endpoint's ${what} cannot be decrypted with this server's master key`);
  }
}
