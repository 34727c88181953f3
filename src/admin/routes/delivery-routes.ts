import { z } from 'zod';
import { parseDuration } from '../../config/duration.ts';
import {
  enableEndpoint,
  findDeliveryLogRow,
  listDeliveryAttempts,
  listDeliveryLog,
  resendDelivery,
  resendEndpointDeliveries,
  type DeliveryLogFilter,
} from '../../db/delivery-log-repository.ts';
import { findEndpoint, updateEndpoint } from '../../db/notification-repository.ts';
import { ApiError } from '../api-error.ts';
import { defineRoute, type ApiRoute, type RouteContext } from '../api-route.ts';
import {
  attemptView,
  DELIVERY_STATUSES,
  deliveryView,
  endpointView,
  toAttemptView,
  toDeliveryView,
  toEndpointView,
} from '../delivery-views.ts';
import { assertEndpointOwner, requireOwnEndpoint } from '../endpoint-access.ts';
import { decodeLogCursor, encodeLogCursor } from '../log-cursor.ts';
import { wakeDispatchers } from '../wake-dispatchers.ts';

export const MAX_LOG_PAGE = 500;

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;

/** An ISO 8601 date (midnight UTC) or date-time with a zone, as epoch milliseconds. */
const instant = z
  .string()
  .refine(
    (text) => ISO_INSTANT.test(text) && !Number.isNaN(Date.parse(text)),
    'an ISO 8601 date or date-time with a zone, e.g. 2025-01-31 or 2025-01-31T12:00:00Z',
  )
  .transform((text) => Date.parse(text));

const statusList = z
  .string()
  .describe(`One status or several separated by commas: ${DELIVERY_STATUSES.join(', ')}`)
  .transform((text) => text.split(',').map((s) => s.trim()))
  .pipe(z.array(z.enum(DELIVERY_STATUSES)));

const RESENDABLE = DELIVERY_STATUSES.filter((s) => s !== 'in_flight');

function fromBeforeTo(
  value: { from?: number | undefined; to?: number | undefined },
  ctx: z.RefinementCtx,
): void {
  if (value.from !== undefined && value.to !== undefined && value.from >= value.to) {
    ctx.addIssue({ code: 'custom', path: ['from'], message: 'must be earlier than to' });
  }
}

const logQuery = z
  .object({
    status: statusList.optional(),
    from: instant.optional().describe('Created at or after (ISO 8601)'),
    to: instant.optional().describe('Created before (ISO 8601)'),
    limit: z.coerce.number().int().min(1).max(MAX_LOG_PAGE).default(50),
    cursor: z
      .string()
      .transform((text, ctx) => {
        const position = decodeLogCursor(text);
        if (position === undefined) {
          ctx.addIssue({ code: 'custom', message: 'not a cursor this API handed out (use nextCursor)' });
          return z.NEVER;
        }
        return position;
      })
      .optional()
      .describe('nextCursor of the previous page'),
  })
  .superRefine(fromBeforeTo);

const idParams = z.object({ id: z.string().min(1) });

const deliveryPage = z.object({
  deliveries: z.array(deliveryView),
  nextCursor: z
    .string()
    .nullable()
    .describe('Pass as cursor for the next (older) page; null on the last page'),
});

async function listDeliveries({
  params,
  query,
  identity,
  services,
}: RouteContext<z.output<typeof idParams>, z.output<typeof logQuery>, unknown>): Promise<
  z.infer<typeof deliveryPage>
> {
  const db = services.database.db;
  const endpoint = await requireOwnEndpoint(db, identity, params.id);
  const rows = await listDeliveryLog(
    db,
    { endpointId: endpoint.id, statuses: query.status ?? [], from: query.from, to: query.to },
    { limit: query.limit + 1, after: query.cursor },
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    deliveries: page.map(toDeliveryView),
    nextCursor:
      rows.length > query.limit && last !== undefined
        ? encodeLogCursor({ createdAt: last.created_at, id: last.id })
        : null,
  };
}

const listSummary =
  'Deliveries of a webhook endpoint, newest first (filter by status and creation time; paged)';

const bulkResendBody = z
  .object({
    status: z.enum(RESENDABLE).default('dead').describe('Which deliveries (never in_flight); default dead'),
    from: instant.optional().describe('Created at or after (ISO 8601)'),
    to: instant.optional().describe('Created before (ISO 8601)'),
  })
  .strict()
  .superRefine(fromBeforeTo);

const bulkResendResponse = z.object({ count: z.number().int().describe('Deliveries queued again') });

/** Bulk replay: every delivery of the endpoint with the status in the range becomes due again, oldest first. */
async function resendDeliveries({
  params,
  body,
  identity,
  services,
}: RouteContext<z.output<typeof idParams>, unknown, z.output<typeof bulkResendBody>>): Promise<
  z.infer<typeof bulkResendResponse>
> {
  const db = services.database.db;
  const endpoint = await requireOwnEndpoint(db, identity, params.id);
  const filter: DeliveryLogFilter = {
    endpointId: endpoint.id,
    statuses: [body.status],
    from: body.from,
    to: body.to,
  };
  const count = await resendEndpointDeliveries(db, filter, services.now());
  if (count > 0) await wakeDispatchers(services);
  services.logger.info(
    { endpointId: endpoint.id, user: identity.userName, status: body.status, count },
    'deliveries resent',
  );
  return { count };
}

const resendSummary = 'Resend every delivery of an endpoint with a status (default dead) in a time range';

export const deliveryRoutes: readonly ApiRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/endpoints/{id}',
    operationId: 'getEndpoint',
    summary: 'A webhook endpoint: state (active, paused, disabled), the reason, and its failure record',
    tag: 'deliveries',
    access: 'user',
    params: idParams,
    response: z.object({ endpoint: endpointView }),
    handle: async ({ params, identity, services }) => ({
      endpoint: toEndpointView(await requireOwnEndpoint(services.database.db, identity, params.id)),
    }),
  }),
  defineRoute({
    method: 'PATCH',
    path: '/endpoints/{id}',
    operationId: 'updateEndpointAutoDisable',
    summary: 'Set when a failing endpoint is disabled automatically',
    tag: 'deliveries',
    access: 'user',
    params: idParams,
    body: z
      .object({
        autoDisableFailures: z
          .number()
          .int()
          .min(0)
          .max(1_000_000)
          .optional()
          .describe('Consecutive failed (dead-lettered) deliveries; 0: never'),
        autoDisableAfter: z
          .string()
          .regex(/^\d+(?:\.\d+)?(?:ms|s|m|h|d)$/, 'a duration like 30s, 10m, 6h or 3d')
          .transform((text) => parseDuration('autoDisableAfter', text))
          .refine((ms) => ms > 0, 'must be longer than 0')
          .refine((ms) => ms <= 365 * 86_400_000, 'must be at most 365d')
          .nullable()
          .optional()
          .describe('Failing without a success this long; null: never'),
      })
      .strict()
      .refine((b) => b.autoDisableFailures !== undefined || b.autoDisableAfter !== undefined, {
        message: 'give autoDisableFailures or autoDisableAfter',
      }),
    response: z.object({ endpoint: endpointView }),
    handle: async ({ params, body, identity, services }) => {
      const db = services.database.db;
      const endpoint = await requireOwnEndpoint(db, identity, params.id);
      await updateEndpoint(db, endpoint.id, {
        ...(body.autoDisableFailures === undefined
          ? {}
          : { auto_disable_failures: body.autoDisableFailures }),
        ...(body.autoDisableAfter === undefined ? {} : { auto_disable_after_ms: body.autoDisableAfter }),
        updated_at: services.now(),
      });
      services.logger.info(
        { endpointId: endpoint.id, user: identity.userName, ...body },
        'endpoint auto-disable settings changed',
      );
      return { endpoint: toEndpointView((await findEndpoint(db, endpoint.id))!) };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/endpoints/{id}/enable',
    operationId: 'enableEndpoint',
    summary: 'Enable a disabled endpoint: clears its failure record and delivers what it held, in order',
    tag: 'deliveries',
    access: 'user',
    params: idParams,
    response: z.object({ endpoint: endpointView, released: z.number().int() }),
    handle: async ({ params, identity, services }) => {
      const db = services.database.db;
      const now = services.now();
      const released = await db.transaction().execute(async (tx) => {
        const endpoint = await requireOwnEndpoint(tx, identity, params.id);
        return (await enableEndpoint(tx, endpoint.id, now)) ?? 0;
      });
      await wakeDispatchers(services);
      services.logger.info({ endpointId: params.id, user: identity.userName, released }, 'endpoint enabled');
      return { endpoint: toEndpointView((await findEndpoint(db, params.id))!), released };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/endpoints/{id}/deliveries',
    operationId: 'listEndpointDeliveries',
    summary: listSummary,
    tag: 'deliveries',
    access: 'user',
    params: idParams,
    query: logQuery,
    response: deliveryPage,
    handle: listDeliveries,
  }),
  defineRoute({
    method: 'GET',
    path: '/webhooks/{id}/deliveries',
    operationId: 'listWebhookDeliveries',
    summary: `${listSummary}; a webhook's id is its endpoint's id`,
    tag: 'deliveries',
    access: 'user',
    params: idParams,
    query: logQuery,
    response: deliveryPage,
    handle: listDeliveries,
  }),
  defineRoute({
    method: 'POST',
    path: '/endpoints/{id}/resend',
    operationId: 'resendEndpointDeliveries',
    summary: resendSummary,
    tag: 'deliveries',
    access: 'user',
    params: idParams,
    body: bulkResendBody,
    response: bulkResendResponse,
    handle: resendDeliveries,
  }),
  defineRoute({
    method: 'POST',
    path: '/webhooks/{id}/resend',
    operationId: 'resendWebhookDeliveries',
    summary: `${resendSummary}; a webhook's id is its endpoint's id`,
    tag: 'deliveries',
    access: 'user',
    params: idParams,
    body: bulkResendBody,
    response: bulkResendResponse,
    handle: resendDeliveries,
  }),
  defineRoute({
    method: 'GET',
    path: '/deliveries/{id}',
    operationId: 'getDelivery',
    summary: 'One delivery with every attempt: request headers (secrets masked) and body, response, error',
    tag: 'deliveries',
    access: 'user',
    params: idParams,
    response: z.object({ delivery: deliveryView, attempts: z.array(attemptView) }),
    handle: async ({ params, identity, services }) => {
      const db = services.database.db;
      const row = await findDeliveryLogRow(db, params.id);
      if (row === undefined) throw new ApiError('NOT_FOUND', `There is no delivery ${params.id}.`);
      assertEndpointOwner(identity, row.endpoint_owner, `Delivery ${params.id}`);
      const attempts = await listDeliveryAttempts(db, row.id);
      return { delivery: toDeliveryView(row), attempts: attempts.map(toAttemptView) };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/deliveries/{id}/resend',
    operationId: 'resendDelivery',
    summary: 'Send a delivery again (same delivery id, next attempt number, a whole retry budget)',
    tag: 'deliveries',
    access: 'user',
    params: idParams,
    response: z.object({ delivery: deliveryView }),
    handle: async ({ params, identity, services }) => {
      const db = services.database.db;
      const row = await findDeliveryLogRow(db, params.id);
      if (row === undefined) throw new ApiError('NOT_FOUND', `There is no delivery ${params.id}.`);
      assertEndpointOwner(identity, row.endpoint_owner, `Delivery ${params.id}`);
      const result = await resendDelivery(db, row.id, services.now());
      switch (result.outcome) {
        case 'missing':
          throw new ApiError('NOT_FOUND', `There is no delivery ${params.id}.`);
        case 'in_flight':
          throw new ApiError(
            'CONFLICT',
            `Delivery ${params.id} is being sent right now; resend it once it settles.`,
          );
        case 'resent':
          break;
      }
      // The answer shows the delivery as the resend queued it (`pending`, or `held`): it is read
      // back before the dispatcher is woken, which could otherwise already have claimed it.
      const queued = { ...toDeliveryView((await findDeliveryLogRow(db, row.id))!), status: result.status };
      await wakeDispatchers(services);
      services.logger.info(
        { deliveryId: row.id, endpointId: row.endpoint_id, user: identity.userName, status: result.status },
        'delivery resent',
      );
      return { delivery: queued };
    },
  }),
];
