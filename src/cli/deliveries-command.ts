import {
  CONNECTION_HELP,
  requirePositional,
  runAdminCommand,
  table,
  UsageError,
  type SubCommand,
} from './admin-command.ts';
import type { AttemptView, DeliveryView } from '../admin/delivery-views.ts';

interface EndpointView {
  id: string;
  name: string;
  state: string;
  stateReason: string | null;
  consecutiveFailures: number;
}

export const DELIVERIES_HELP = `Usage: bucketbell deliveries <command> [options]

The deliveries log of a webhook: every event (and test message) sent to it, with each attempt.

Commands:
  ls --webhook ID [--status S[,S]] [--since T] [--until T] [--limit N] [--cursor C]
                           deliveries, newest first (status: pending, in_flight, retrying,
                           succeeded, dead, held)
  show ID [--verbose]      one delivery and its attempts (--verbose: headers and bodies)
  resend ID                send one delivery again (same delivery id, next attempt number)
  resend --webhook ID [--status S] [--since T] [--until T]
                           send again every delivery of the webhook with that status
                           (default dead) created in the time range
  enable --webhook ID      enable a webhook that was disabled after failing; what it held
                           is delivered, oldest first

Times (T) are ISO 8601 (2025-01-31, 2025-01-31T12:00:00Z) or a span back from now (30m, 6h, 7d).

${CONNECTION_HELP}`;

const SPAN = /^(\d+)(s|m|h|d)$/;
const SPAN_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since 6h` means six hours ago; anything else is passed on as ISO 8601 for the server to check. */
export function toInstant(text: string | undefined, now: number): string | undefined {
  if (text === undefined) return undefined;
  const span = SPAN.exec(text);
  if (span === null) return text;
  return new Date(now - Number(span[1]) * SPAN_MS[span[2]!]!).toISOString();
}

function webhookOf(values: Record<string, unknown>): string {
  const id = values['webhook'];
  if (typeof id !== 'string' || id === '') throw new UsageError('missing --webhook ID');
  return id;
}

const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

function deliveryRows(deliveries: readonly DeliveryView[]): string {
  return table(
    [
      'ID',
      'STATUS',
      'EVENT',
      'BUCKET',
      'KEY',
      'ATTEMPTS',
      'LAST',
      'MS',
      'CREATED',
      'NEXT ATTEMPT',
      'LAST ERROR',
    ],
    deliveries.map((d) => [
      d.id,
      d.status,
      d.eventName,
      d.bucket,
      d.key,
      d.attempts,
      d.lastStatusCode,
      d.lastDurationMs,
      d.createdAt,
      d.nextAttemptAt,
      d.lastError === null ? null : d.lastError.slice(0, 60),
    ]),
  );
}

export const deliveriesCommands: Record<string, SubCommand> = {
  ls: {
    usage:
      'bucketbell deliveries ls --webhook ID [--status S] [--since T] [--until T] [--limit N] [--cursor C]',
    options: {
      webhook: { type: 'string' },
      status: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    },
    run: async ({ client, json, out }, _positionals, values) => {
      const id = webhookOf(values);
      const now = Date.now();
      const page = await client.request<{ deliveries: DeliveryView[]; nextCursor: string | null }>(
        'GET',
        `/endpoints/${encodeURIComponent(id)}/deliveries`,
        undefined,
        {
          status: str(values['status']),
          from: toInstant(str(values['since']), now),
          to: toInstant(str(values['until']), now),
          limit: str(values['limit']),
          cursor: str(values['cursor']),
        },
      );
      if (json) {
        out(JSON.stringify(page, null, 2));
        return;
      }
      out(page.deliveries.length === 0 ? 'No deliveries.' : deliveryRows(page.deliveries));
      if (page.nextCursor !== null) out(`More: add --cursor ${page.nextCursor}`);
    },
  },
  show: {
    usage: 'bucketbell deliveries show ID [--verbose]',
    options: { verbose: { type: 'boolean' } },
    run: async ({ client, json, out }, positionals, values) => {
      const id = requirePositional(positionals, 0, 'ID');
      const result = await client.request<{ delivery: DeliveryView; attempts: AttemptView[] }>(
        'GET',
        `/deliveries/${encodeURIComponent(id)}`,
      );
      if (json) {
        out(JSON.stringify(result, null, 2));
        return;
      }
      const d = result.delivery;
      out(
        `Delivery ${d.id}  ${d.status}  ${d.eventName}${d.key === null ? '' : `  ${d.bucket ?? ''}/${d.key}`}`,
      );
      out(
        `webhook ${d.endpointId}  created ${d.createdAt}${d.nextAttemptAt === null ? '' : `  next attempt ${d.nextAttemptAt}`}${d.finishedAt === null ? '' : `  finished ${d.finishedAt}`}`,
      );
      out('');
      out(
        result.attempts.length === 0
          ? 'No attempts yet.'
          : table(
              ['ATTEMPT', 'STARTED', 'MS', 'STATUS', 'ERROR'],
              result.attempts.map((a) => [
                a.attempt,
                a.startedAt,
                a.durationMs,
                a.response?.statusCode,
                a.errorCode === null ? null : `${a.errorCode}: ${a.error ?? ''}`.slice(0, 80),
              ]),
            ),
      );
      if (values['verbose'] !== true) return;
      for (const a of result.attempts) {
        out(`\n--- attempt ${a.attempt} request`);
        for (const [name, value] of Object.entries(a.request.headers)) out(`${name}: ${value}`);
        out(`\n${a.request.body}${a.request.bodyTruncated ? '\n[truncated]' : ''}`);
        if (a.response === null) continue;
        out(`--- attempt ${a.attempt} response ${a.response.statusCode ?? ''}`);
        for (const [name, value] of Object.entries(a.response.headers)) out(`${name}: ${value}`);
        out(`\n${a.response.body}${a.response.bodyTruncated ? '\n[truncated]' : ''}`);
      }
    },
  },
  resend: {
    usage: 'bucketbell deliveries resend ID | resend --webhook ID [--status S] [--since T] [--until T]',
    options: {
      webhook: { type: 'string' },
      status: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
    },
    run: async ({ client, json, out }, positionals, values) => {
      const id = positionals[0];
      if (id !== undefined) {
        if (values['webhook'] !== undefined || values['status'] !== undefined) {
          throw new UsageError('give either a delivery ID or --webhook ID, not both');
        }
        const result = await client.request<{ delivery: DeliveryView }>(
          'POST',
          `/deliveries/${encodeURIComponent(id)}/resend`,
        );
        out(
          json ? JSON.stringify(result, null, 2) : `Delivery ${id} queued again (${result.delivery.status}).`,
        );
        return;
      }
      const webhook = webhookOf(values);
      const now = Date.now();
      const status = str(values['status']);
      const since = toInstant(str(values['since']), now);
      const until = toInstant(str(values['until']), now);
      const result = await client.request<{ count: number }>(
        'POST',
        `/endpoints/${encodeURIComponent(webhook)}/resend`,
        {
          ...(status === undefined ? {} : { status }),
          ...(since === undefined ? {} : { from: since }),
          ...(until === undefined ? {} : { to: until }),
        },
      );
      out(
        json
          ? JSON.stringify(result, null, 2)
          : `${result.count} deliveries of webhook ${webhook} queued again.`,
      );
    },
  },
  enable: {
    usage: 'bucketbell deliveries enable --webhook ID',
    options: { webhook: { type: 'string' } },
    run: async ({ client, json, out }, _positionals, values) => {
      const webhook = webhookOf(values);
      const result = await client.request<{ endpoint: EndpointView; released: number }>(
        'POST',
        `/endpoints/${encodeURIComponent(webhook)}/enable`,
      );
      out(
        json
          ? JSON.stringify(result, null, 2)
          : `Webhook ${webhook} is ${result.endpoint.state}; ${result.released} held deliveries released.`,
      );
    },
  },
};

export function runDeliveries(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return runAdminCommand('deliveries', DELIVERIES_HELP, deliveriesCommands, args, env);
}
