import { randomBytes } from 'node:crypto';
import type { Insertable } from 'kysely';
import { z } from 'zod';
import type { Identity } from '../../auth/identity.ts';
import { sealEndpointHeaders } from '../../db/endpoint-headers.ts';
import { ENDPOINT_DEFAULTS, findEndpoint, type EndpointRow } from '../../db/notification-repository.ts';
import type { EndpointsTable } from '../../db/schema.ts';
import type { RuleProblem } from '../../events/rule-validation.ts';
import type { Actor } from '../../mutations/actor.ts';
import {
  createWebhook,
  deleteWebhook,
  pauseWebhook,
  resumeWebhook,
  rotateWebhookSecret,
  updateWebhook,
  WebhookError,
} from '../../mutations/webhook-mutations.ts';
import type { AdminServices } from '../admin-services.ts';
import { ApiError, type FieldProblem } from '../api-error.ts';
import type { CheckedClientCertificate } from '../client-certificate.ts';
import { defineRoute, type RouteContext } from '../api-route.ts';
import {
  checkUrlForCaller,
  listVisibleWebhooks,
  requireOwnBucket,
  requireWebhook,
  rulesOfEndpoints,
} from '../webhook-access.ts';
import {
  authorizationValue,
  createWebhookBody,
  resumeBody,
  rotateSecretBody,
  updateWebhookBody,
  webhookIdParams,
  type UpdateWebhookBody,
} from '../webhook-input.ts';
import { pingView, pingWebhook } from '../webhook-ping.ts';
import { readHeaders, toWebhookView, webhookView, type WebhookView } from '../webhook-views.ts';

const TAG = 'webhooks';

/** `whsec_` + 32 random bytes, base64url: the signing secret, shown once. */
function generateSigningSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

function generateWebhookId(): string {
  return `wh_${randomBytes(10).toString('hex')}`;
}

function actorOf(ctx: RouteContext<unknown, unknown, unknown>): Actor {
  return { principal: ctx.identity.userName, sourceIp: ctx.sourceIp, requestId: ctx.requestId };
}

async function viewOf(services: AdminServices, id: string): Promise<WebhookView> {
  const endpoint = await findEndpoint(services.database.db, id);
  if (endpoint === undefined) throw new ApiError('NOT_FOUND', `There is no webhook ${id}.`);
  const rules = await rulesOfEndpoints(services.database.db, [id]);
  return toWebhookView(endpoint, rules, services.secretBox, services.now());
}

/** YAML-declared endpoints are rewritten from the file at every start: change them there. */
function refuseConfigEndpoint(endpoint: EndpointRow, what: string): void {
  if (endpoint.origin === 'config') {
    throw new ApiError(
      'CONFLICT',
      `Webhook ${endpoint.id} is declared in the configuration file; ${what} it there (the file wins at the next start).`,
    );
  }
}

/** Maps the mutation layer's refusals; anything else stays an internal error. */
async function mapWebhookErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (!(err instanceof WebhookError)) throw err;
    switch (err.code) {
      case 'NO_SUCH_BUCKET':
      case 'NO_SUCH_WEBHOOK':
        throw new ApiError('NOT_FOUND', err.message);
      case 'NOT_ONE_RULE':
        throw new ApiError('CONFLICT', err.message);
      case 'RULE_REFUSED':
        throw ruleProblemError(err.problem);
    }
  }
}

function ruleProblemError(problem: RuleProblem | undefined): ApiError {
  switch (problem?.kind) {
    case 'duplicate-id':
      return new ApiError('CONFLICT', `The bucket already has a notification rule with id ${problem.id}.`, [
        { field: 'body.ruleId', message: 'already used on this bucket' },
      ]);
    case 'ambiguous':
      return new ApiError(
        'CONFLICT',
        `The rule overlaps rule ${problem.first === problem.second ? problem.first : `${problem.first}/${problem.second}`} for the same webhook: events, prefix and suffix would all overlap (S3: "Configuration is ambiguously defined").`,
        [{ field: 'body.events', message: 'overlaps another rule of this webhook on the bucket' }],
      );
    case 'unknown-event':
      return new ApiError('VALIDATION_FAILED', `Unknown event ${problem.event}.`, [
        { field: 'body.events', message: `${problem.event} is not an event S3 accepts` },
      ]);
    case 'no-events':
      return new ApiError('VALIDATION_FAILED', 'At least one event.', [
        { field: 'body.events', message: 'at least one event' },
      ]);
    case 'invalid-id':
      return new ApiError('VALIDATION_FAILED', 'The rule id is too long.', [
        { field: 'body.ruleId', message: 'at most 255 characters' },
      ]);
    case undefined:
      return new ApiError('CONFLICT', 'The rule would make the bucket notification configuration invalid.');
  }
}

/** Field checks that need more than one field or the stored endpoint. */
function crossFieldProblems(
  headers: Readonly<Record<string, string>>,
  signatureHeader: string,
  backoffInitialMs: number,
  backoffMaxMs: number,
): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const name of Object.keys(headers)) {
    if (name.toLowerCase() === signatureHeader.toLowerCase()) {
      problems.push({ field: `body.headers.${name}`, message: 'is the signature header, set by bucketbell' });
    }
  }
  if (backoffMaxMs < backoffInitialMs) {
    problems.push({ field: 'body.retry.backoffMax', message: 'must not be below retry.backoffInitial' });
  }
  return problems;
}

function throwProblems(problems: readonly FieldProblem[]): void {
  if (problems.length > 0) {
    throw new ApiError(
      'VALIDATION_FAILED',
      problems.map((p) => `${p.field}: ${p.message}`).join('; '),
      problems,
    );
  }
}

function logFields(identity: Identity, requestId: string, endpoint: { id: string; bucket: string | null }) {
  return { endpointId: endpoint.id, bucket: endpoint.bucket, user: identity.userName, requestId };
}

export const webhookRoutes = [
  defineRoute({
    method: 'POST',
    path: '/webhooks',
    operationId: 'createWebhook',
    summary: 'Add a webhook to a bucket: an endpoint and its rule (the signing secret is returned once)',
    tag: TAG,
    access: 'user',
    status: 201,
    body: createWebhookBody,
    response: z.object({
      webhook: webhookView,
      secret: z.string().describe('The signing secret; shown only in this response.'),
    }),
    handle: async (ctx) => {
      const { body, identity, services, requestId } = ctx;
      const signatureHeader = body.signatureHeader ?? ENDPOINT_DEFAULTS.signature_header;
      const backoffInitial = body.retry.backoffInitial ?? ENDPOINT_DEFAULTS.backoff_initial_ms;
      const backoffMax = body.retry.backoffMax ?? ENDPOINT_DEFAULTS.backoff_max_ms;
      throwProblems(crossFieldProblems(body.headers, signatureHeader, backoffInitial, backoffMax));
      await requireOwnBucket(services, identity, body.bucket);
      await checkUrlForCaller(services, identity, body.url);
      const id = generateWebhookId();
      const secret = generateSigningSecret();
      const authorization = authorizationValue(body.auth);
      const now = services.now();
      const endpoint: Insertable<EndpointsTable> & { bucket: string } = {
        ...ENDPOINT_DEFAULTS,
        id,
        name: body.name ?? new URL(body.url).host,
        url: body.url,
        kind: 'webhook',
        format: body.format,
        owner: identity.userName,
        bucket: body.bucket,
        origin: 'api',
        secret_ciphertext: services.secretBox.seal(secret),
        signature_header: signatureHeader,
        signature_format: body.signatureFormat ?? ENDPOINT_DEFAULTS.signature_format,
        authorization_ciphertext: authorization === null ? null : services.secretBox.seal(authorization),
        ...clientCertificateColumns(services, body.clientCertificate ?? null),
        ...sealEndpointHeaders(services.secretBox, body.headers),
        timeout_ms: body.timeout ?? ENDPOINT_DEFAULTS.timeout_ms,
        max_attempts: body.retry.maxAttempts ?? ENDPOINT_DEFAULTS.max_attempts,
        backoff_initial_ms: backoffInitial,
        backoff_max_ms: backoffMax,
        max_in_flight: body.maxInFlight ?? ENDPOINT_DEFAULTS.max_in_flight,
        created_at: now,
        updated_at: now,
      };
      await mapWebhookErrors(() =>
        createWebhook(services.mutations, actorOf(ctx), endpoint, {
          id: body.ruleId ?? id,
          events: body.events,
          prefix: body.prefix,
          suffix: body.suffix,
        }),
      );
      services.logger.info(logFields(identity, requestId, endpoint), 'webhook created');
      return { webhook: await viewOf(services, id), secret };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/webhooks',
    operationId: 'listWebhooks',
    summary: 'List webhooks (a user sees its own, an admin every one), optionally of one bucket',
    tag: TAG,
    access: 'user',
    query: z.object({ bucket: z.string().min(1).max(63).optional() }).strict(),
    response: z.object({ webhooks: z.array(webhookView) }),
    handle: async ({ query, identity, services }) => {
      const db = services.database.db;
      const endpoints = await listVisibleWebhooks(db, identity, query.bucket);
      const rules = await rulesOfEndpoints(
        db,
        endpoints.map((e) => e.id),
      );
      const now = services.now();
      return { webhooks: endpoints.map((e) => toWebhookView(e, rules, services.secretBox, now)) };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/webhooks/{id}',
    operationId: 'getWebhook',
    summary: 'One webhook (never its secret or Authorization value)',
    tag: TAG,
    access: 'user',
    params: webhookIdParams,
    response: z.object({ webhook: webhookView }),
    handle: async ({ params, identity, services }) => {
      await requireWebhook(services, identity, params.id);
      return { webhook: await viewOf(services, params.id) };
    },
  }),
  defineRoute({
    method: 'PATCH',
    path: '/webhooks/{id}',
    operationId: 'updateWebhook',
    summary: 'Change a webhook (a new URL is checked against the SSRF policy again)',
    tag: TAG,
    access: 'user',
    params: webhookIdParams,
    body: updateWebhookBody,
    response: z.object({ webhook: webhookView }),
    handle: async (ctx) => {
      const { params, body, identity, services, requestId } = ctx;
      const endpoint = await requireWebhook(services, identity, params.id);
      refuseConfigEndpoint(endpoint, 'change');
      const changes = endpointChanges(services, endpoint, body);
      if (body.url !== undefined && body.url !== endpoint.url)
        await checkUrlForCaller(services, identity, body.url);
      const rule = {
        ...(body.events === undefined ? {} : { events: body.events }),
        ...(body.prefix === undefined ? {} : { prefix: body.prefix }),
        ...(body.suffix === undefined ? {} : { suffix: body.suffix }),
      };
      await mapWebhookErrors(() =>
        updateWebhook(services.mutations, actorOf(ctx), endpoint.id, changes, rule),
      );
      services.logger.info(
        { ...logFields(identity, requestId, endpoint), fields: Object.keys(body) },
        'webhook updated',
      );
      return { webhook: await viewOf(services, endpoint.id) };
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/webhooks/{id}',
    operationId: 'deleteWebhook',
    summary: "Delete a webhook and its rules; its waiting deliveries are dead-lettered ('webhook deleted')",
    tag: TAG,
    access: 'user',
    params: webhookIdParams,
    response: z.object({
      id: z.string(),
      deadLettered: z
        .number()
        .describe('Deliveries that were still waiting, now dead with the reason "webhook deleted".'),
    }),
    handle: async (ctx) => {
      const { params, identity, services, requestId } = ctx;
      const endpoint = await requireWebhook(services, identity, params.id);
      refuseConfigEndpoint(endpoint, 'remove');
      const deadLettered = await mapWebhookErrors(() =>
        deleteWebhook(services.mutations, actorOf(ctx), endpoint.id),
      );
      services.logger.info({ ...logFields(identity, requestId, endpoint), deadLettered }, 'webhook deleted');
      return { id: endpoint.id, deadLettered };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/webhooks/{id}/rotate-secret',
    operationId: 'rotateWebhookSecret',
    summary: 'Replace the signing secret (returned once); the old one keeps signing too during the overlap',
    tag: TAG,
    access: 'user',
    params: webhookIdParams,
    body: rotateSecretBody,
    response: z.object({
      webhook: webhookView,
      secret: z.string().describe('The new signing secret; shown only in this response.'),
      previousSecretValidUntil: z.string().nullable(),
    }),
    handle: async (ctx) => {
      const { params, body, identity, services, requestId } = ctx;
      const endpoint = await requireWebhook(services, identity, params.id);
      refuseConfigEndpoint(endpoint, 'rotate its secret');
      const secret = generateSigningSecret();
      const until = body.overlap > 0 ? services.now() + body.overlap : null;
      await mapWebhookErrors(() =>
        rotateWebhookSecret(
          services.mutations,
          actorOf(ctx),
          endpoint.id,
          services.secretBox.seal(secret),
          until,
        ),
      );
      services.logger.info(
        { ...logFields(identity, requestId, endpoint), overlapMs: body.overlap },
        'webhook signing secret rotated',
      );
      const webhook = await viewOf(services, endpoint.id);
      return { webhook, secret, previousSecretValidUntil: webhook.previousSecretValidUntil };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/webhooks/{id}/pause',
    operationId: 'pauseWebhook',
    summary: 'Pause a webhook: new and waiting deliveries are held until it is resumed',
    tag: TAG,
    access: 'user',
    params: webhookIdParams,
    response: z.object({
      webhook: webhookView,
      held: z
        .number()
        .describe(
          'Waiting deliveries held at once (ones the dispatcher had already claimed are held when their turn comes).',
        ),
    }),
    handle: async (ctx) => {
      const { params, identity, services, requestId } = ctx;
      const endpoint = await requireWebhook(services, identity, params.id);
      const { held } = await mapWebhookErrors(() =>
        pauseWebhook(services.mutations, actorOf(ctx), endpoint.id, `paused by ${identity.userName}`),
      );
      services.logger.info({ ...logFields(identity, requestId, endpoint), held }, 'webhook paused');
      return { webhook: await viewOf(services, endpoint.id), held };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/webhooks/{id}/resume',
    operationId: 'resumeWebhook',
    summary: 'Resume a paused (or disabled) webhook: held deliveries are sent oldest first, or discarded',
    tag: TAG,
    access: 'user',
    params: webhookIdParams,
    body: resumeBody,
    response: z.object({
      webhook: webhookView,
      released: z.number().describe('Held deliveries released, to be sent oldest first.'),
      discarded: z
        .number()
        .describe('Held deliveries dead-lettered ("discarded on resume") with discardHeld.'),
    }),
    handle: async (ctx) => {
      const { params, body, identity, services, requestId } = ctx;
      const endpoint = await requireWebhook(services, identity, params.id);
      const { released, discarded } = await mapWebhookErrors(() =>
        resumeWebhook(services.mutations, actorOf(ctx), endpoint.id, body.discardHeld),
      );
      services.logger.info(
        { ...logFields(identity, requestId, endpoint), released, discarded },
        'webhook resumed',
      );
      return { webhook: await viewOf(services, endpoint.id), released, discarded };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/webhooks/{id}/ping',
    operationId: 'pingWebhook',
    summary: "Send an s3:TestEvent now and return the receiver's answer (recorded as a test delivery)",
    tag: TAG,
    access: 'user',
    params: webhookIdParams,
    response: pingView,
    handle: async (ctx) => {
      const { params, identity, services } = ctx;
      const endpoint = await requireWebhook(services, identity, params.id);
      const rules = await rulesOfEndpoints(services.database.db, [endpoint.id]);
      return pingWebhook(services, actorOf(ctx), endpoint, rules[0]?.id ?? '');
    },
  }),
];

/** The certificate as stored and its key sealed, or both null to present none. */
function clientCertificateColumns(
  services: AdminServices,
  certificate: CheckedClientCertificate | null,
): Pick<EndpointsTable, 'client_certificate' | 'client_key_ciphertext'> {
  if (certificate === null) return { client_certificate: null, client_key_ciphertext: null };
  return {
    client_certificate: certificate.certificate,
    client_key_ciphertext: services.secretBox.seal(certificate.privateKey),
  };
}

/** The endpoint columns a PATCH changes, after the checks that need the stored endpoint. */
function endpointChanges(
  services: AdminServices,
  endpoint: EndpointRow,
  body: UpdateWebhookBody,
): Partial<Insertable<EndpointsTable>> {
  const headers = body.headers ?? readHeaders(endpoint, services.secretBox);
  const signatureHeader = body.signatureHeader ?? endpoint.signature_header;
  const backoffInitial = body.retry?.backoffInitial ?? endpoint.backoff_initial_ms;
  const backoffMax = body.retry?.backoffMax ?? endpoint.backoff_max_ms;
  const problems = crossFieldProblems(headers, signatureHeader, backoffInitial, backoffMax);
  throwProblems(problems);
  const changes: Partial<Insertable<EndpointsTable>> = {};
  if (body.url !== undefined) changes.url = body.url;
  if (body.name !== undefined) changes.name = body.name;
  if (body.format !== undefined) changes.format = body.format;
  if (body.auth !== undefined) {
    const value = authorizationValue(body.auth);
    changes.authorization_ciphertext = value === null ? null : services.secretBox.seal(value);
  }
  if (body.clientCertificate !== undefined)
    Object.assign(changes, clientCertificateColumns(services, body.clientCertificate));
  if (body.headers !== undefined)
    Object.assign(changes, sealEndpointHeaders(services.secretBox, body.headers));
  if (body.signatureHeader !== undefined) changes.signature_header = body.signatureHeader;
  if (body.signatureFormat !== undefined) changes.signature_format = body.signatureFormat;
  if (body.timeout !== undefined) changes.timeout_ms = body.timeout;
  if (body.retry?.maxAttempts !== undefined) changes.max_attempts = body.retry.maxAttempts;
  if (body.retry?.backoffInitial !== undefined) changes.backoff_initial_ms = body.retry.backoffInitial;
  if (body.retry?.backoffMax !== undefined) changes.backoff_max_ms = body.retry.backoffMax;
  if (body.maxInFlight !== undefined) changes.max_in_flight = body.maxInFlight;
  return changes;
}
