import { z } from 'zod';
import { parseDuration } from '../config/duration.ts';
import { SIGNATURE_FORMATS } from '../delivery/signature.ts';
import { isAwsEventPattern } from '../events/event-pattern.ts';
import { checkClientCertificate } from './client-certificate.ts';

/** An RFC 9110 field name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A field value: visible ASCII and Latin-1, spaces and tabs inside; no CR, LF or NUL. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Headers an endpoint's extra `headers` (and its signature header) may not name: hop-by-hop and
 * framing headers, Host, the ones bucketbell sets itself, and Authorization (which has `auth`, so it
 * is stored sealed rather than in the clear).
 */
const FORBIDDEN_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'content-encoding',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'user-agent',
  'authorization',
  'cookie',
]);

export const MAX_EXTRA_HEADERS = 32;

/** Why a header name is refused for an endpoint, or undefined. */
export function headerNameProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (!TOKEN.test(name)) return 'is not a valid header name';
  if (lower.startsWith('x-bucketbell-')) return 'X-Bucketbell-* headers are set by bucketbell';
  if (lower === 'authorization') return 'set Authorization with `auth`, which stores it encrypted';
  if (FORBIDDEN_HEADERS.has(lower)) return `${name} is a transport header bucketbell sets itself`;
  return undefined;
}

/** A duration: `500ms`, `10s`, `5m`, `1h`, `7d`, or a number of milliseconds. */
function duration(min: number, max: number, what: string) {
  return z
    .union([
      z.number().int(),
      z.string().transform((text, ctx) => {
        try {
          return parseDuration(what, text);
        } catch {
          ctx.addIssue({
            code: 'custom',
            message: `"${text}" is not a duration like 500ms, 10s, 5m, 1h or 7d`,
          });
          return z.NEVER;
        }
      }),
    ])
    .pipe(z.number().min(min, `must be at least ${min} ms`).max(max, `must be at most ${max} ms`))
    .describe(`A duration (500ms, 10s, 5m, 1h, 7d) or a number of milliseconds, ${min}..${max} ms.`);
}

const noControl = (what: string) =>
  z.string().regex(FIELD_VALUE, `${what} must not contain line breaks or control characters`);

export const webhookAuth = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('none') }).strict(),
    z
      .object({
        type: z.literal('basic'),
        username: noControl('the username')
          .min(1)
          .max(256)
          .refine((u) => !u.includes(':'), 'a Basic username cannot contain ":"'),
        password: noControl('the password').max(1024),
      })
      .strict(),
    z
      .object({
        type: z.literal('bearer'),
        token: z
          .string()
          .min(1)
          .max(4096)
          .regex(/^[\x21-\x7e]+$/, 'a bearer token is visible ASCII without spaces'),
      })
      .strict(),
    z
      .object({ type: z.literal('header'), value: noControl('the Authorization value').min(1).max(4096) })
      .strict(),
  ])
  .describe('Sent as the Authorization header of every POST; stored encrypted, never returned.');

export type WebhookAuth = z.infer<typeof webhookAuth>;

/** The verbatim Authorization header value, or null for none. */
export function authorizationValue(auth: WebhookAuth): string | null {
  switch (auth.type) {
    case 'none':
      return null;
    case 'basic':
      return `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}`;
    case 'bearer':
      return `Bearer ${auth.token}`;
    case 'header':
      return auth.value;
  }
}

const extraHeaders = z
  .record(z.string(), noControl('a header value').max(4096))
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > MAX_EXTRA_HEADERS) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_EXTRA_HEADERS} headers` });
    }
    const seen = new Set<string>();
    for (const name of names) {
      const problem = headerNameProblem(name);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: problem });
      if (seen.has(name.toLowerCase()))
        ctx.addIssue({ code: 'custom', path: [name], message: 'named twice' });
      seen.add(name.toLowerCase());
    }
  })
  .describe('Extra request headers (name to value). Values of secret-looking names are masked in responses.');

const signatureHeader = z
  .string()
  .max(64)
  .superRefine((name, ctx) => {
    const problem = headerNameProblem(name);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe(
    'The header carrying the hex HMAC-SHA256 of the body, written as signatureFormat says (default X-Hub-Signature-256).',
  );

const signatureFormat = z
  .enum(SIGNATURE_FORMATS, { error: 'prefixed (sha256=<hex>) or hex (the bare hex digest)' })
  .describe(
    'How the signature is written: `prefixed` is `sha256=<hex>` (GitHub, s3-orchestrator; the default), `hex` the bare hex digest (Alarik: X-Alarik-Signature-256).',
  );

const events = z
  .array(
    z.string().refine(isAwsEventPattern, {
      message: 'not an event name S3 accepts (s3:ObjectCreated:*, s3:ObjectRemoved:Delete, ...)',
    }),
  )
  .min(1, 'at least one event')
  .max(32);

const keyFilter = z.string().max(1024);

const retry = z
  .object({
    maxAttempts: z.number().int().min(1).max(100).optional(),
    backoffInitial: duration(100, 86_400_000, 'retry.backoffInitial').optional(),
    backoffMax: duration(100, 7 * 86_400_000, 'retry.backoffMax').optional(),
  })
  .strict();

/**
 * A client certificate for mTLS: both parse, and the key belongs to the certificate. The output is
 * normalised (the certificate's PEM blocks; the key as PKCS#8 PEM), ready to store and seal.
 */
const clientCertificate = z
  .object({
    certificate: z
      .string()
      .min(1)
      .max(65_536)
      .describe('PEM certificate, optionally followed by its intermediate CA certificates.'),
    privateKey: z
      .string()
      .min(1)
      .max(65_536)
      .describe("The certificate's unencrypted PEM private key; stored encrypted, never returned."),
  })
  .strict()
  .transform((input, ctx) => {
    const checked = checkClientCertificate(input.certificate, input.privateKey);
    if (!checked.ok) {
      ctx.addIssue({ code: 'custom', path: [checked.field], message: checked.message });
      return z.NEVER;
    }
    return checked.value;
  })
  .describe(
    'Presented to https receivers that ask for one (mTLS). The key is stored encrypted and never returned; null removes it.',
  );

const url = z
  .string()
  .min(1)
  .max(2048)
  .describe('http or https; checked against the SSRF policy when saved.');
const name = z.string().trim().min(1).max(128);

/** POST /webhooks */
export const createWebhookBody = z
  .object({
    bucket: z.string().min(1).max(63),
    url,
    name: name.optional().describe('A nickname; default: the URL host.'),
    kind: z
      .enum(['webhook', 'slack'])
      .default('webhook')
      .refine((k) => k === 'webhook', 'slack endpoints are not supported yet; use kind "webhook"'),
    events,
    prefix: keyFilter.default(''),
    suffix: keyFilter.default(''),
    format: z.enum(['aws']).default('aws'),
    auth: webhookAuth.default({ type: 'none' }),
    headers: extraHeaders.default({}),
    timeout: duration(100, 300_000, 'timeout').optional(),
    retry: retry.default({}),
    maxInFlight: z
      .number()
      .int()
      .min(1)
      .max(64)
      .optional()
      .describe('POSTs at once to this webhook (default 16)'),
    signatureHeader: signatureHeader.optional(),
    signatureFormat: signatureFormat.optional(),
    clientCertificate: clientCertificate.nullable().optional(),
    ruleId: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe("The rule's id in the bucket's notification configuration; default: the webhook id."),
  })
  .strict();

export type CreateWebhookBody = z.infer<typeof createWebhookBody>;

/**
 * PATCH /webhooks/{id}: every field optional; `headers` replaces the whole set; `auth` {type:'none'}
 * and `clientCertificate: null` remove them.
 */
export const updateWebhookBody = z
  .object({
    url: url.optional(),
    name: name.optional(),
    events: events.optional(),
    prefix: keyFilter.optional(),
    suffix: keyFilter.optional(),
    format: z.enum(['aws']).optional(),
    auth: webhookAuth.optional(),
    headers: extraHeaders.optional(),
    timeout: duration(100, 300_000, 'timeout').optional(),
    retry: retry.optional(),
    maxInFlight: z.number().int().min(1).max(64).optional(),
    signatureHeader: signatureHeader.optional(),
    signatureFormat: signatureFormat.optional(),
    clientCertificate: clientCertificate.nullable().optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, 'name at least one field to change');

export type UpdateWebhookBody = z.infer<typeof updateWebhookBody>;

export const rotateSecretBody = z
  .object({
    overlap: duration(0, 30 * 86_400_000, 'overlap')
      .default(86_400_000)
      .describe('How long the old secret keeps signing too (default 24h; 0 drops it at once).'),
  })
  .strict();

export const resumeBody = z
  .object({
    discardHeld: z
      .boolean()
      .default(false)
      .describe('Dead-letter the deliveries held while paused instead of sending them.'),
  })
  .strict();

export const webhookIdParams = z.object({ id: z.string().min(1).max(128) });
