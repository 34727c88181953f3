import { z } from 'zod';
import { loadDeliveryContext, type DeliveryRow } from '../db/delivery-repository.ts';
import type { EndpointRow } from '../db/notification-repository.ts';
import {
  buildDeliveryRequest,
  DeliveryRenderError,
  type DeliveryRequest,
} from '../delivery/delivery-request.ts';
import { awsS3Format, renderTestEvent } from '../delivery/formats/aws-s3-format.ts';
import { classifyResponse } from '../delivery/retry-policy.ts';
import type { SendResult } from '../delivery/send-result.ts';
import type { Actor } from '../mutations/actor.ts';
import { beginPing, finishPing } from '../mutations/webhook-mutations.ts';
import type { AdminServices } from './admin-services.ts';

/** Response bodies are cut to this many characters in the ping's answer (the attempt log keeps more). */
const RESPONSE_EXCERPT = 1024;
/** How long a ping's claim outlives its timeout, as the dispatcher's lease. */
const LEASE_MARGIN_MS = 30_000;

export const pingView = z.object({
  deliveryId: z.string().describe('The test delivery recorded for this ping (kind `test`).'),
  outcome: z.enum(['succeeded', 'failed']),
  statusCode: z.number().nullable(),
  durationMs: z.number(),
  responseBody: z
    .string()
    .nullable()
    .describe(`The first ${RESPONSE_EXCERPT} characters of the response body.`),
  errorCode: z
    .string()
    .nullable()
    .describe('TIMEOUT, CONNECTION_ERROR, TLS_ERROR, SSRF_BLOCKED, HTTP_STATUS, ...'),
  error: z.string().nullable(),
});

export type PingView = z.infer<typeof pingView>;

/**
 * Sends an s3:TestEvent to a webhook now, through the dispatcher's own path: the request is built by
 * `buildDeliveryRequest` (extra headers, Authorization, signatures), sent by the same sender the
 * dispatcher would use for this endpoint (the SSRF-guarded one unless an admin or the YAML file owns
 * it), and recorded as a test delivery with its one attempt. Works whatever the webhook's state.
 */
export async function pingWebhook(
  services: AdminServices,
  actor: Actor,
  endpoint: EndpointRow,
  ruleId: string,
): Promise<PingView> {
  const leaseOwner = `ping:${actor.requestId}`;
  const startedAt = services.now();
  const delivery = await beginPing(services.mutations, actor, {
    endpointId: endpoint.id,
    ruleId,
    body: renderTestEvent(endpoint.bucket ?? '*', actor.requestId, startedAt),
    leaseOwner,
    leaseUntil: startedAt + endpoint.timeout_ms + LEASE_MARGIN_MS,
  });
  const { request, result } = await send(services, delivery);
  const succeeded = classifyResponse(result) === 'success';
  const errorCode = succeeded ? null : (result.errorCode ?? 'HTTP_STATUS');
  const error = succeeded ? null : (result.error ?? `HTTP ${result.statusCode ?? '?'}`);
  await finishPing(services.mutations, actor, delivery, leaseOwner, {
    delivery_id: delivery.id,
    attempt: 1,
    started_at: startedAt,
    duration_ms: result.durationMs,
    request_headers: JSON.stringify(request?.recordedHeaders ?? {}),
    request_body: request?.body ?? delivery.test_body ?? '',
    status_code: result.statusCode ?? null,
    response_headers: result.responseHeaders === undefined ? null : JSON.stringify(result.responseHeaders),
    response_body: result.responseBody ?? null,
    error_code: errorCode,
    error,
  });
  services.logger.info(
    {
      endpointId: endpoint.id,
      deliveryId: delivery.id,
      statusCode: result.statusCode,
      errorCode,
      requestId: actor.requestId,
    },
    'webhook pinged',
  );
  return {
    deliveryId: delivery.id,
    outcome: succeeded ? 'succeeded' : 'failed',
    statusCode: result.statusCode ?? null,
    durationMs: result.durationMs,
    responseBody: result.responseBody === undefined ? null : result.responseBody.slice(0, RESPONSE_EXCERPT),
    errorCode,
    error,
  };
}

/** Builds the ping's request as the dispatcher would, and sends it with the sender the dispatcher would use. */
async function send(
  services: AdminServices,
  delivery: DeliveryRow,
): Promise<{ request: DeliveryRequest | undefined; result: SendResult }> {
  const context = await loadDeliveryContext(services.database.db, delivery);
  if (context === undefined) {
    return {
      request: undefined,
      result: { durationMs: 0, errorCode: 'RENDER_ERROR', error: 'the webhook no longer exists' },
    };
  }
  let request: DeliveryRequest;
  try {
    request = buildDeliveryRequest(delivery, context, 1, services.now(), {
      version: services.version,
      payloadSettings: { region: services.config.region, eventSource: services.config.eventSource },
      formats: new Map([[awsS3Format.name, awsS3Format]]),
      secretBox: services.secretBox,
    });
  } catch (err) {
    if (!(err instanceof DeliveryRenderError)) throw err;
    return { request: undefined, result: { durationMs: 0, errorCode: 'RENDER_ERROR', error: err.message } };
  }
  const trusted = context.ownerIsAdmin || context.endpoint.origin === 'config';
  const sender = trusted ? services.trustedSender : services.sender;
  const result = await sender.send({
    url: request.url,
    headers: request.headers,
    body: request.body,
    timeoutMs: request.timeoutMs,
    clientCertificate: request.clientCertificate,
  });
  return { request, result };
}
