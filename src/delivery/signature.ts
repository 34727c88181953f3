import { createHmac } from 'node:crypto';
import type { SignatureFormat } from '../db/schema.ts';

export type { SignatureFormat } from '../db/schema.ts';

/** Carries the signature made with the previous secret while a rotation overlaps. */
export const PREVIOUS_SIGNATURE_HEADER = 'X-Bucketbell-Signature-Previous-256';

/**
 * How a signature is written in its header:
 * - `prefixed`: `sha256=<hex>`, GitHub's `X-Hub-Signature-256` and s3-orchestrator's `X-Signature-256`;
 * - `hex`: the bare `<hex>`, Alarik's `X-Alarik-Signature-256`, whose documented receiver compares
 *   `hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()` with the whole header value.
 */
export const SIGNATURE_FORMATS = ['prefixed', 'hex'] as const satisfies readonly SignatureFormat[];

export const DEFAULT_SIGNATURE_FORMAT: SignatureFormat = 'prefixed';

/** An endpoint's signing settings, secrets already opened (never logged, never stored in attempts). */
export interface EndpointSigning {
  /** The header carrying the signature, e.g. `X-Hub-Signature-256`, `X-Signature-256`, `X-Alarik-Signature-256`. */
  readonly header: string;
  /** How the signature is written; `prefixed` when not given. */
  readonly format?: SignatureFormat | undefined;
  readonly secret: string;
  readonly previousSecret?: string | null | undefined;
  /** Milliseconds since the epoch; the previous secret signs too while this is in the future. */
  readonly previousSecretUntil?: number | null | undefined;
}

/**
 * The lowercase hex HMAC-SHA256 of the exact body bytes, keyed by the secret's UTF-8 bytes (exactly
 * Alarik's `hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()`), written in `format`:
 * `sha256=<hex>` (the default) or the bare `<hex>`.
 */
export function signBody(
  secret: string,
  body: string | Uint8Array,
  format: SignatureFormat = DEFAULT_SIGNATURE_FORMAT,
): string {
  const hex = createHmac('sha256', secret).update(body).digest('hex');
  switch (format) {
    case 'prefixed':
      return `sha256=${hex}`;
    case 'hex':
      return hex;
  }
}

/**
 * The signature headers of one request. The rule:
 * - outside a rotation: `<header>: <signature of the current secret>` and nothing else;
 * - while `previousSecretUntil > now` (a rotation's overlap), also
 *   `X-Bucketbell-Signature-Previous-256: <signature of the old secret>`, for receivers that compare
 *   the whole header value and can switch to the second header while they roll their secret. With the
 *   `prefixed` format the main header carries both, `sha256=<new>,sha256=<old>` (the Stripe convention
 *   of several signatures in one header, newest first, so a receiver that splits on "," and accepts
 *   any match keeps working with either secret). With the `hex` format (Alarik's receivers compare the
 *   whole value) the main header carries only the new signature.
 * Both headers use the endpoint's format.
 */
export function signatureHeaders(
  signing: EndpointSigning,
  body: string | Uint8Array,
  now: number,
): Record<string, string> {
  const format = signing.format ?? DEFAULT_SIGNATURE_FORMAT;
  const current = signBody(signing.secret, body, format);
  const { previousSecret, previousSecretUntil } = signing;
  const overlapping =
    previousSecret !== undefined &&
    previousSecret !== null &&
    previousSecret !== '' &&
    previousSecretUntil !== undefined &&
    previousSecretUntil !== null &&
    previousSecretUntil > now;
  if (!overlapping) return { [signing.header]: current };
  const previous = signBody(previousSecret, body, format);
  const main = format === 'prefixed' ? `${current},${previous}` : current;
  return { [signing.header]: main, [PREVIOUS_SIGNATURE_HEADER]: previous };
}
