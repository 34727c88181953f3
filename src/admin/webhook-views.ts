import { z } from 'zod';
import { openEndpointHeaders } from '../db/endpoint-headers.ts';
import type { EndpointRow, RuleRow } from '../db/notification-repository.ts';
import type { SecretBox } from '../db/secret-box.ts';
import { maskHeaders } from '../delivery/delivery-request.ts';
import { SIGNATURE_FORMATS } from '../delivery/signature.ts';
import { summarizeCertificate } from './client-certificate.ts';

/** How S3 notification documents name an endpoint (the same as `endpointArn` of the S3 layer). */
export function webhookArn(id: string): string {
  return `arn:bucketbell:webhook::${id}`;
}

const ruleView = z.object({
  id: z.string().describe('The rule id: `configurationId` in event records and `Id` in GET ?notification.'),
  bucket: z.string().describe('`*` for a rule of every bucket (declared in the YAML file).'),
  events: z.array(z.string()),
  prefix: z.string(),
  suffix: z.string(),
});

/** A webhook as every response shows it: never a secret, never the Authorization value. */
export const webhookView = z.object({
  id: z.string(),
  arn: z.string().describe('Names the webhook in S3 notification configurations.'),
  name: z.string(),
  bucket: z.string().nullable(),
  owner: z.string(),
  origin: z
    .enum(['api', 'config', 'vk'])
    .describe('api: created here; config: the YAML file; vk: a SimpleTopicConfiguration.'),
  kind: z.enum(['webhook', 'slack']),
  format: z.string(),
  url: z.string(),
  state: z.enum(['active', 'paused', 'disabled']),
  stateReason: z.string().nullable(),
  rules: z.array(ruleView),
  auth: z
    .object({ type: z.enum(['none', 'basic', 'bearer', 'header']) })
    .describe('Only the kind; the value is never returned.'),
  headers: z
    .record(z.string(), z.string())
    .describe('Extra headers (stored encrypted); values of secret-looking names are masked as ***.'),
  signatureHeader: z.string(),
  signatureFormat: z
    .enum(SIGNATURE_FORMATS)
    .describe('`prefixed`: the header is `sha256=<hex>`; `hex`: the bare hex digest (Alarik).'),
  clientCertificate: z
    .object({
      subject: z.string(),
      issuer: z.string(),
      validTo: z.string().describe('ISO 8601: when the certificate expires.'),
      fingerprint256: z.string().describe('SHA-256 fingerprint of the certificate (colon-separated hex).'),
    })
    .nullable()
    .describe('The client certificate presented to https receivers (mTLS), if any; never its key.'),
  hasSecret: z.boolean(),
  previousSecretValidUntil: z
    .string()
    .nullable()
    .describe('While a rotation overlaps: until when the old secret signs too.'),
  timeoutMs: z.number(),
  retry: z.object({ maxAttempts: z.number(), backoffInitialMs: z.number(), backoffMaxMs: z.number() }),
  maxInFlight: z.number(),
  consecutiveFailures: z.number(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export type WebhookView = z.infer<typeof webhookView>;

/** Renders an endpoint and its rules. `now` decides whether a rotation still overlaps. */
export function toWebhookView(
  endpoint: EndpointRow,
  rules: readonly RuleRow[],
  box: SecretBox,
  now: number,
): WebhookView {
  return {
    id: endpoint.id,
    arn: webhookArn(endpoint.id),
    name: endpoint.name,
    bucket: endpoint.bucket,
    owner: endpoint.owner,
    origin: endpoint.origin,
    kind: endpoint.kind,
    format: endpoint.format,
    url: endpoint.url,
    state: endpoint.state,
    stateReason: endpoint.state_reason,
    rules: rules
      .filter((r) => r.endpoint_id === endpoint.id)
      .map((r) => ({
        id: r.id,
        bucket: r.bucket,
        events: JSON.parse(r.events) as string[],
        prefix: r.prefix,
        suffix: r.suffix,
      })),
    auth: { type: authType(endpoint.authorization_ciphertext, box) },
    headers: maskHeaders(readHeaders(endpoint, box)),
    signatureHeader: endpoint.signature_header,
    signatureFormat: endpoint.signature_format,
    clientCertificate: clientCertificateOf(endpoint.client_certificate),
    hasSecret: endpoint.secret_ciphertext !== null,
    previousSecretValidUntil:
      endpoint.previous_secret_ciphertext !== null &&
      endpoint.previous_secret_until !== null &&
      endpoint.previous_secret_until > now
        ? new Date(endpoint.previous_secret_until).toISOString()
        : null,
    timeoutMs: endpoint.timeout_ms,
    retry: {
      maxAttempts: endpoint.max_attempts,
      backoffInitialMs: endpoint.backoff_initial_ms,
      backoffMaxMs: endpoint.backoff_max_ms,
    },
    maxInFlight: endpoint.max_in_flight,
    consecutiveFailures: endpoint.consecutive_failures,
    createdAt: new Date(endpoint.created_at).toISOString(),
    updatedAt: new Date(endpoint.updated_at).toISOString(),
  };
}

function clientCertificateOf(pem: string | null): WebhookView['clientCertificate'] {
  if (pem === null) return null;
  return (
    summarizeCertificate(pem) ?? {
      subject: '(unreadable)',
      issuer: '(unreadable)',
      validTo: '',
      fingerprint256: '',
    }
  );
}

/** The kind of a sealed Authorization value, read from its scheme; the value itself stays inside. */
function authType(sealed: string | null, box: SecretBox): WebhookView['auth']['type'] {
  if (sealed === null) return 'none';
  let value: string;
  try {
    value = box.open(sealed);
  } catch {
    return 'header';
  }
  if (/^basic /i.test(value)) return 'basic';
  if (/^bearer /i.test(value)) return 'bearer';
  return 'header';
}

/** The endpoint's extra headers opened; none if they cannot be (the dispatcher records why on each attempt). */
export function readHeaders(endpoint: EndpointRow, box: SecretBox): Record<string, string> {
  try {
    return openEndpointHeaders(box, endpoint);
  } catch {
    return {};
  }
}
