/**
 * The building blocks of AWS Signature Version 4 as S3 uses it: URI encoding, the canonical request
 * (path, query, headers), the string to sign, the signing key and signature comparison. Pure functions.
 */
import { createHash, createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
/** Hex SHA-256 of nothing: the payload hash of a request without a body. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

type HeaderMap = Readonly<Record<string, string | string[] | undefined>>;

const HEX_DIGITS = '0123456789ABCDEF';
const UNRESERVED_STRING = /^[A-Za-z0-9\-._~]*$/;
const UNRESERVED = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~')
  UNRESERVED[c.charCodeAt(0)] = 1;

/**
 * Percent-encodes per the SigV4 rules: the unreserved characters `A-Za-z0-9-._~` stay, every other byte
 * of the UTF-8 form becomes `%XX` with upper-case hex. With `keepSlash`, `/` stays too (for paths).
 */
export function uriEncode(input: string | Uint8Array, keepSlash = false): string {
  if (typeof input === 'string' && UNRESERVED_STRING.test(input)) return input;
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  let out = '';
  for (const b of bytes) {
    if (UNRESERVED[b] === 1 || (keepSlash && b === 0x2f)) out += String.fromCharCode(b);
    else out += `%${HEX_DIGITS[b >> 4]!}${HEX_DIGITS[b & 15]!}`;
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Decodes `%XX` escapes into bytes (and `+` into a space when `plusAsSpace`). A `%` not followed by two hex
 * digits stays a literal `%`. Characters outside ASCII count as their UTF-8 bytes.
 */
export function percentDecode(input: string, plusAsSpace: boolean): Buffer {
  const src = Buffer.from(input, 'utf8');
  if (!input.includes('%') && !(plusAsSpace && input.includes('+'))) return src;
  const out = Buffer.allocUnsafe(src.length);
  let n = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === 0x25 && i + 2 < src.length) {
      const high = hexValue(src[i + 1]!);
      const low = hexValue(src[i + 2]!);
      if (high >= 0 && low >= 0) {
        out[n++] = high * 16 + low;
        i += 2;
        continue;
      }
    }
    out[n++] = plusAsSpace && c === 0x2b ? 0x20 : c;
  }
  return out.subarray(0, n);
}

/**
 * The canonical URIs a signature over this request path may have used, best first. S3 signs the path
 * once-encoded (no double encoding, no dot-segment removal): first the path decoded and re-encoded per
 * the AWS rules (what the AWS SDKs, the CLI and rclone produce for any key), then, if different, the
 * path exactly as received (for clients that sign the bytes they send, e.g. a `~` sent as `%7E`).
 * Both decode to the same key, so accepting either never lets a signature cover another object.
 */
export function canonicalUriCandidates(rawPath: string): readonly string[] {
  const raw = rawPath === '' ? '/' : rawPath;
  const normalised = uriEncode(percentDecode(raw, false), true);
  return normalised === raw ? [normalised] : [normalised, raw];
}

/** One query parameter: decoded for reading, encoded for the canonical query string. */
export interface QueryParam {
  readonly name: string;
  readonly value: string;
  readonly encodedName: string;
  readonly encodedValue: string;
}

/**
 * Splits a raw query string (without `?`) into parameters, decoding like the S3 router does
 * (`URLSearchParams`: `+` is a space) and re-encoding per the AWS rules. Empty segments are skipped;
 * a name without `=` has the value ''.
 */
export function parseQuery(rawQuery: string): QueryParam[] {
  const params: QueryParam[] = [];
  if (rawQuery === '') return params;
  for (const segment of rawQuery.split('&')) {
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    const rawName = eq === -1 ? segment : segment.slice(0, eq);
    const rawValue = eq === -1 ? '' : segment.slice(eq + 1);
    const nameBytes = percentDecode(rawName, true);
    const valueBytes = percentDecode(rawValue, true);
    params.push({
      name: nameBytes.toString('utf8'),
      value: valueBytes.toString('utf8'),
      encodedName: uriEncode(nameBytes),
      encodedValue: uriEncode(valueBytes),
    });
  }
  return params;
}

/**
 * The canonical query string: `name=value` pairs sorted by encoded name, then encoded value, joined
 * with `&`. `exclude` drops a parameter by decoded name (`X-Amz-Signature` for presigned URLs).
 */
export function canonicalQueryString(params: readonly QueryParam[], exclude?: string): string {
  const pairs = params
    .filter((p) => p.name !== exclude)
    .map((p) => [p.encodedName, p.encodedValue] as const)
    .sort(([an, av], [bn, bv]) => (an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

/** A header value as it enters the canonical request: trimmed, runs of spaces and tabs made one space. */
export function canonicalHeaderValue(value: string | readonly string[]): string {
  const normalise = (v: string): string => v.replace(/[ \t]+/g, ' ').trim();
  return typeof value === 'string' ? normalise(value) : value.map(normalise).join(',');
}

/**
 * The canonical header lines (`name:value`) for the signed header names, in the order given (SigV4
 * signers send them sorted). Returns the name of the first signed header absent from the request
 * instead, so that the caller can report it.
 */
export function canonicalHeaderLines(
  headers: HeaderMap,
  signedHeaders: readonly string[],
): { readonly lines: readonly string[] } | { readonly missing: string } {
  const lines: string[] = [];
  for (const name of signedHeaders) {
    const value = headers[name];
    if (value === undefined) return { missing: name };
    lines.push(`${name}:${canonicalHeaderValue(value)}`);
  }
  return { lines };
}

export interface CanonicalRequestParts {
  readonly method: string;
  readonly uri: string;
  readonly query: string;
  readonly headerLines: readonly string[];
  /** The `SignedHeaders` list joined with `;`. */
  readonly signedHeaders: string;
  readonly payloadHash: string;
}

export function canonicalRequest(parts: CanonicalRequestParts): string {
  return [
    parts.method,
    parts.uri,
    parts.query,
    ...parts.headerLines,
    '',
    parts.signedHeaders,
    parts.payloadHash,
  ].join('\n');
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hmacSha256(key: string | Uint8Array, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** `AWS4-HMAC-SHA256`, the timestamp, the credential scope and the hash of the canonical request. */
export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${SIGV4_ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

const SIGNING_KEY_CACHE_SIZE = 128;
const signingKeys = new Map<string, Buffer>();

/**
 * The SigV4 signing key: HMAC chain of `AWS4<secret>` over date, region, service and `aws4_request`.
 * A small LRU keeps recent keys, since one key serves every request of a client for a day. The returned
 * buffer is shared: do not modify it.
 */
export function deriveSigningKey(secret: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${date}\n${region}\n${service}\n${secret}`;
  const cached = signingKeys.get(cacheKey);
  if (cached !== undefined) {
    signingKeys.delete(cacheKey);
    signingKeys.set(cacheKey, cached);
    return cached;
  }
  let key = hmacSha256(`AWS4${secret}`, date);
  for (const part of [region, service, 'aws4_request']) key = hmacSha256(key, part);
  signingKeys.set(cacheKey, key);
  if (signingKeys.size > SIGNING_KEY_CACHE_SIZE) {
    const oldest = signingKeys.keys().next();
    if (oldest.done !== true) signingKeys.delete(oldest.value);
  }
  return key;
}

/** KeyObjects of the signing keys in use: an HMAC made from raw key bytes imports them each time (~10 µs). */
const signingKeyObjects = new WeakMap<Uint8Array, KeyObject>();

/** The hex signature of a string to sign. */
export function signHex(signingKey: Uint8Array, toSign: string): string {
  let key = signingKeyObjects.get(signingKey);
  if (key === undefined) {
    key = createSecretKey(signingKey);
    signingKeyObjects.set(signingKey, key);
  }
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}

const SIGNATURE_HEX = /^[0-9a-f]{64}$/;

/** Compares a computed signature with a claimed one (hex, any case) in constant time. */
export function signaturesEqual(computed: string, claimed: string): boolean {
  const given = claimed.toLowerCase();
  if (!SIGNATURE_HEX.test(given) || !SIGNATURE_HEX.test(computed)) return false;
  return timingSafeEqual(Buffer.from(computed, 'latin1'), Buffer.from(given, 'latin1'));
}
