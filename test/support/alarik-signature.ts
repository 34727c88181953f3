import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Alarik's documented receiver check (004_…txt), ported line for line:
 *
 *     def is_valid(body: bytes, header: str, secret: str) -> bool:
 *         expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
 *         return hmac.compare_digest(expected, header)
 *
 * The hex digest is compared with the WHOLE header value (no `sha256=` is stripped); like
 * `compare_digest`, values of different lengths are simply unequal.
 */
export function isValidAlarikSignature(body: Buffer, header: string, secret: string): boolean {
  const expected = Buffer.from(createHmac('sha256', Buffer.from(secret, 'utf8')).update(body).digest('hex'));
  const given = Buffer.from(header, 'utf8');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** The one value of a received header (undefined when absent or repeated). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return typeof value === 'string' ? value : undefined;
}
