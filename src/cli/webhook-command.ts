import { readFileSync } from 'node:fs';
import {
  CONNECTION_HELP,
  requirePositional,
  runAdminCommand,
  table,
  UsageError,
  type SubCommand,
} from './admin-command.ts';

interface WebhookView {
  id: string;
  arn: string;
  name: string;
  bucket: string | null;
  owner: string;
  origin: string;
  kind: string;
  format: string;
  url: string;
  state: string;
  stateReason: string | null;
  rules: { id: string; bucket: string; events: string[]; prefix: string; suffix: string }[];
  auth: { type: string };
  headers: Record<string, string>;
  signatureHeader: string;
  signatureFormat: string;
  clientCertificate: { subject: string; issuer: string; validTo: string; fingerprint256: string } | null;
  hasSecret: boolean;
  previousSecretValidUntil: string | null;
  timeoutMs: number;
  retry: { maxAttempts: number; backoffInitialMs: number; backoffMaxMs: number };
  maxInFlight: number;
  consecutiveFailures: number;
  createdAt: string;
  updatedAt: string;
}

interface PingView {
  deliveryId: string;
  outcome: string;
  statusCode: number | null;
  durationMs: number;
  responseBody: string | null;
  errorCode: string | null;
  error: string | null;
}

export const WEBHOOK_HELP = `Usage: bucketbell webhook <command> [options]

Manage bucket webhooks: an endpoint and its notification rule on one bucket. Users manage the
webhooks of their own buckets; admins every webhook.

Commands:
  add --bucket B --url URL --event E [--event E ...] [options]
                           add a webhook; prints its signing secret once
  ls [--bucket B]          list webhooks
  show ID                  one webhook (never its secret or Authorization value)
  update ID [options]      change a webhook (the add options but --bucket; --no-auth removes auth,
                           --no-client-cert the client certificate)
  rm ID                    delete a webhook; its waiting deliveries are dead-lettered
  pause ID                 hold new and waiting deliveries
  resume ID [--discard-held]
                           send what was held, oldest first (or dead-letter it)
  rotate-secret ID [--overlap 24h]
                           new signing secret, printed once; the old one signs too during the overlap
  ping ID                  send an s3:TestEvent now and print the receiver's answer

Options of add and update:
  --url URL                http(s) receiver; private addresses are for admins (or webhook_allowed_cidrs)
  --event NAME             s3:ObjectCreated:*, s3:ObjectCreated:Put, s3:ObjectRemoved:Delete, ... (repeat)
  --prefix P, --suffix S   key filter
  --name NAME              nickname (default: the URL host)
  --format aws             payload format (only aws for now)
  --auth-header VALUE      the Authorization header value to send, verbatim (stored encrypted)
  --basic-auth USER:PASS   send Authorization: Basic base64(USER:PASS)
  --bearer TOKEN           send Authorization: Bearer TOKEN
  --header 'Name: value'   an extra request header (repeat; update replaces the whole set)
  --signature-header NAME  header carrying the hex HMAC-SHA256 of the body (default X-Hub-Signature-256)
  --signature-format F     prefixed: the header is sha256=<hex> (default; GitHub, s3-orchestrator's
                           X-Signature-256); hex: the bare hex digest (Alarik's X-Alarik-Signature-256)
  --client-cert FILE, --client-key FILE
                           PEM client certificate (chain) and its unencrypted key, presented to https
                           receivers that ask for one (mTLS); the key is stored encrypted
  --timeout DURATION       per POST, e.g. 10s
  --max-attempts N         attempts before a delivery is dead-lettered
  --max-in-flight N        POSTs in flight at once (1 keeps deliveries in order)
  --rule-id ID             (add) the rule id in the bucket's notification configuration

${CONNECTION_HELP}`;

const SETTINGS_OPTIONS = {
  url: { type: 'string' },
  event: { type: 'string', multiple: true },
  prefix: { type: 'string' },
  suffix: { type: 'string' },
  name: { type: 'string' },
  format: { type: 'string' },
  'auth-header': { type: 'string' },
  'basic-auth': { type: 'string' },
  bearer: { type: 'string' },
  header: { type: 'string', multiple: true },
  'signature-header': { type: 'string' },
  'signature-format': { type: 'string' },
  timeout: { type: 'string' },
  'max-attempts': { type: 'string' },
  'max-in-flight': { type: 'string' },
  'client-cert': { type: 'string' },
  'client-key': { type: 'string' },
} as const;

type Values = Record<string, string | boolean | string[] | undefined>;

function str(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function list(values: Values, name: string): string[] | undefined {
  const value = values[name];
  return Array.isArray(value) ? value : undefined;
}

function integer(values: Values, name: string): number | undefined {
  const text = str(values, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new UsageError(`--${name} must be a whole number`);
  return Number(text);
}

function parseHeaderFlags(flags: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const flag of flags) {
    const colon = flag.indexOf(':');
    if (colon <= 0) throw new UsageError(`--header must be 'Name: value', not '${flag}'`);
    headers[flag.slice(0, colon).trim()] = flag.slice(colon + 1).trim();
  }
  return headers;
}

function authFromFlags(values: Values): Record<string, string> | undefined {
  const header = str(values, 'auth-header');
  const basic = str(values, 'basic-auth');
  const bearer = str(values, 'bearer');
  const none = values['no-auth'] === true;
  if ([header, basic, bearer].filter((v) => v !== undefined).length + (none ? 1 : 0) > 1) {
    throw new UsageError('use one of --auth-header, --basic-auth, --bearer, --no-auth');
  }
  if (none) return { type: 'none' };
  if (header !== undefined) return { type: 'header', value: header };
  if (bearer !== undefined) return { type: 'bearer', token: bearer };
  if (basic !== undefined) {
    const colon = basic.indexOf(':');
    if (colon <= 0) throw new UsageError('--basic-auth must be USER:PASS');
    return { type: 'basic', username: basic.slice(0, colon), password: basic.slice(colon + 1) };
  }
  return undefined;
}

function readPemFile(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--${flag}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}

/** `clientCertificate` from --client-cert and --client-key (both or neither), or null for --no-client-cert. */
function clientCertificateFromFlags(values: Values): Record<string, string> | null | undefined {
  const cert = str(values, 'client-cert');
  const key = str(values, 'client-key');
  const none = values['no-client-cert'] === true;
  if (none && (cert !== undefined || key !== undefined)) {
    throw new UsageError('use either --client-cert/--client-key or --no-client-cert');
  }
  if (none) return null;
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    throw new UsageError('--client-cert and --client-key go together');
  }
  return { certificate: readPemFile('client-cert', cert), privateKey: readPemFile('client-key', key) };
}

/** The request body fields shared by add and update, from the flags given. */
function settingsFromFlags(values: Values): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) body[key] = value;
  };
  set('url', str(values, 'url'));
  set('events', list(values, 'event'));
  set('prefix', str(values, 'prefix'));
  set('suffix', str(values, 'suffix'));
  set('name', str(values, 'name'));
  set('format', str(values, 'format'));
  set('auth', authFromFlags(values));
  const headers = list(values, 'header');
  set('headers', headers === undefined ? undefined : parseHeaderFlags(headers));
  set('signatureHeader', str(values, 'signature-header'));
  set('signatureFormat', str(values, 'signature-format'));
  set('timeout', str(values, 'timeout'));
  const maxAttempts = integer(values, 'max-attempts');
  set('retry', maxAttempts === undefined ? undefined : { maxAttempts });
  set('maxInFlight', integer(values, 'max-in-flight'));
  set('clientCertificate', clientCertificateFromFlags(values));
  return body;
}

function eventsOf(webhook: WebhookView): string {
  const rule = webhook.rules[0];
  if (rule === undefined) return '-';
  const filter = [
    rule.prefix === '' ? '' : `prefix=${rule.prefix}`,
    rule.suffix === '' ? '' : `suffix=${rule.suffix}`,
  ]
    .filter((f) => f !== '')
    .join(' ');
  return `${rule.events.join(',')}${filter === '' ? '' : ` (${filter})`}${webhook.rules.length > 1 ? ` +${webhook.rules.length - 1} rules` : ''}`;
}

function describe(webhook: WebhookView): string {
  const lines: [string, string][] = [
    ['ID', webhook.id],
    ['ARN', webhook.arn],
    ['Name', webhook.name],
    ['Bucket', webhook.bucket ?? '(every bucket)'],
    ['Owner', webhook.owner],
    ['URL', webhook.url],
    ['State', `${webhook.state}${webhook.stateReason === null ? '' : ` (${webhook.stateReason})`}`],
    ['Kind / format', `${webhook.kind} / ${webhook.format}`],
    ['Auth', webhook.auth.type],
    [
      'Signature header',
      `${webhook.signatureHeader}: ${webhook.signatureFormat === 'hex' ? '<hex>' : 'sha256=<hex>'}${webhook.hasSecret ? '' : ' (no secret)'}`,
    ],
    [
      'Client certificate',
      webhook.clientCertificate === null
        ? 'none'
        : `${webhook.clientCertificate.subject} (issuer ${webhook.clientCertificate.issuer}, until ${webhook.clientCertificate.validTo}, SHA-256 ${webhook.clientCertificate.fingerprint256})`,
    ],
    ...(webhook.previousSecretValidUntil === null
      ? []
      : ([['Previous secret until', webhook.previousSecretValidUntil]] as [string, string][])),
    ['Timeout', `${webhook.timeoutMs} ms`],
    [
      'Retry',
      `${webhook.retry.maxAttempts} attempts, backoff ${webhook.retry.backoffInitialMs} ms .. ${webhook.retry.backoffMaxMs} ms`,
    ],
    ['Max in flight', String(webhook.maxInFlight)],
    ['Created', webhook.createdAt],
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  const text = lines.map(([k, v]) => `${`${k}:`.padEnd(width + 2)}${v}`).join('\n');
  const headers = Object.entries(webhook.headers).map(([k, v]) => `  ${k}: ${v}`);
  const rules = table(
    ['RULE', 'BUCKET', 'EVENTS', 'PREFIX', 'SUFFIX'],
    webhook.rules.map((r) => [r.id, r.bucket, r.events.join(','), r.prefix, r.suffix]),
  );
  return `${text}${headers.length === 0 ? '' : `\nHeaders:\n${headers.join('\n')}`}\n\n${rules}`;
}

function printSecretOnce(out: (t: string) => void, secret: string): void {
  out(`Signing secret: ${secret}\n(The secret is shown only now; store it safely.)`);
}

const path = (id: string) => `/webhooks/${encodeURIComponent(id)}`;

export const webhookCommands: Record<string, SubCommand> = {
  add: {
    usage:
      "bucketbell webhook add --bucket B --url URL --event E [--event E ...] [--header 'Name: value'] ...",
    options: { ...SETTINGS_OPTIONS, bucket: { type: 'string' }, 'rule-id': { type: 'string' } },
    run: async ({ client, json, out }, _positionals, values) => {
      const bucket = str(values, 'bucket');
      if (bucket === undefined) throw new UsageError('missing --bucket');
      const body: Record<string, unknown> = { bucket, ...settingsFromFlags(values) };
      if (body['url'] === undefined) throw new UsageError('missing --url');
      if (body['events'] === undefined) throw new UsageError('missing --event (at least one)');
      const ruleId = str(values, 'rule-id');
      const result = await client.request<{ webhook: WebhookView; secret: string }>('POST', '/webhooks', {
        ...body,
        ...(ruleId === undefined ? {} : { ruleId }),
      });
      if (json) out(JSON.stringify(result, null, 2));
      else {
        out(
          `Webhook ${result.webhook.id} added to bucket ${result.webhook.bucket ?? ''} (${result.webhook.arn}).`,
        );
        printSecretOnce(out, result.secret);
      }
    },
  },
  ls: {
    usage: 'bucketbell webhook ls [--bucket B]',
    options: { bucket: { type: 'string' } },
    run: async ({ client, json, out }, _positionals, values) => {
      const { webhooks } = await client.request<{ webhooks: WebhookView[] }>('GET', '/webhooks', undefined, {
        bucket: str(values, 'bucket'),
      });
      out(
        json
          ? JSON.stringify(webhooks, null, 2)
          : table(
              ['ID', 'NAME', 'BUCKET', 'STATE', 'EVENTS', 'URL'],
              webhooks.map((w) => [w.id, w.name, w.bucket ?? '*', w.state, eventsOf(w), w.url]),
            ),
      );
    },
  },
  show: {
    usage: 'bucketbell webhook show ID',
    run: async ({ client, json, out }, positionals) => {
      const id = requirePositional(positionals, 0, 'ID');
      const { webhook } = await client.request<{ webhook: WebhookView }>('GET', path(id));
      out(json ? JSON.stringify(webhook, null, 2) : describe(webhook));
    },
  },
  update: {
    usage:
      "bucketbell webhook update ID [--url URL] [--event E ...] [--name N] [--header 'Name: value' ...] [--no-auth] [--no-client-cert] ...",
    options: { ...SETTINGS_OPTIONS, 'no-auth': { type: 'boolean' }, 'no-client-cert': { type: 'boolean' } },
    run: async ({ client, json, out }, positionals, values) => {
      const id = requirePositional(positionals, 0, 'ID');
      const body = settingsFromFlags(values);
      if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give at least one option');
      const { webhook } = await client.request<{ webhook: WebhookView }>('PATCH', path(id), body);
      out(json ? JSON.stringify(webhook, null, 2) : `Webhook ${webhook.id} updated.`);
    },
  },
  rm: {
    usage: 'bucketbell webhook rm ID',
    run: async ({ client, json, out }, positionals) => {
      const id = requirePositional(positionals, 0, 'ID');
      const result = await client.request<{ id: string; deadLettered: number }>('DELETE', path(id));
      out(
        json
          ? JSON.stringify(result)
          : `Webhook ${id} deleted.${result.deadLettered > 0 ? ` ${result.deadLettered} waiting deliveries were dead-lettered.` : ''}`,
      );
    },
  },
  pause: {
    usage: 'bucketbell webhook pause ID',
    run: async ({ client, json, out }, positionals) => {
      const id = requirePositional(positionals, 0, 'ID');
      const result = await client.request<{ webhook: WebhookView; held: number }>(
        'POST',
        `${path(id)}/pause`,
      );
      out(
        json
          ? JSON.stringify(result, null, 2)
          : `Webhook ${id} paused; ${result.held} waiting deliveries held.`,
      );
    },
  },
  resume: {
    usage: 'bucketbell webhook resume ID [--discard-held]',
    options: { 'discard-held': { type: 'boolean' } },
    run: async ({ client, json, out }, positionals, values) => {
      const id = requirePositional(positionals, 0, 'ID');
      const result = await client.request<{ webhook: WebhookView; released: number; discarded: number }>(
        'POST',
        `${path(id)}/resume`,
        { discardHeld: values['discard-held'] === true },
      );
      out(
        json
          ? JSON.stringify(result, null, 2)
          : result.discarded > 0
            ? `Webhook ${id} resumed; ${result.discarded} held deliveries discarded.`
            : `Webhook ${id} resumed; ${result.released} held deliveries released.`,
      );
    },
  },
  'rotate-secret': {
    usage: 'bucketbell webhook rotate-secret ID [--overlap DURATION]',
    options: { overlap: { type: 'string' } },
    run: async ({ client, json, out }, positionals, values) => {
      const id = requirePositional(positionals, 0, 'ID');
      const overlap = str(values, 'overlap');
      const result = await client.request<{
        webhook: WebhookView;
        secret: string;
        previousSecretValidUntil: string | null;
      }>('POST', `${path(id)}/rotate-secret`, overlap === undefined ? {} : { overlap });
      if (json) out(JSON.stringify(result, null, 2));
      else {
        out(
          result.previousSecretValidUntil === null
            ? `Webhook ${id}: new signing secret; the old one no longer signs.`
            : `Webhook ${id}: new signing secret; the old one signs too until ${result.previousSecretValidUntil}.`,
        );
        printSecretOnce(out, result.secret);
      }
    },
  },
  ping: {
    usage: 'bucketbell webhook ping ID',
    run: async ({ client, json, out }, positionals) => {
      const id = requirePositional(positionals, 0, 'ID');
      const ping = await client.request<PingView>('POST', `${path(id)}/ping`);
      if (json) out(JSON.stringify(ping, null, 2));
      else {
        const answer =
          ping.statusCode === null
            ? `${ping.errorCode ?? 'ERROR'}: ${ping.error ?? ''}`
            : `HTTP ${ping.statusCode}`;
        out(`Ping ${ping.outcome}: ${answer} in ${ping.durationMs} ms (delivery ${ping.deliveryId})`);
        if (ping.responseBody !== null && ping.responseBody !== '') out(ping.responseBody);
      }
    },
  },
};

export function runWebhook(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return runAdminCommand('webhook', WEBHOOK_HELP, webhookCommands, args, env);
}
