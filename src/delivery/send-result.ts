/** Why an attempt did not end in a 2xx, as recorded in `delivery_attempts.error_code`. Callers branch on these, never on messages. */
export const SEND_ERROR_CODES = [
  /** No response within the endpoint's timeout (connect, headers or body). */
  'TIMEOUT',
  /** DNS failure, refused, reset or closed connection. */
  'CONNECTION_ERROR',
  /** Handshake or certificate failure. */
  'TLS_ERROR',
  /** The address the URL resolves to was refused by the SSRF guard; nothing was dialled. */
  'SSRF_BLOCKED',
  /** A response arrived with a status other than 2xx (3xx redirects are never followed). */
  'HTTP_STATUS',
  /** The URL cannot be parsed or is not http(s). */
  'INVALID_URL',
  /** The body or headers could not be prepared (unknown format, unreadable secret): nothing was sent. Set by the dispatcher. */
  'RENDER_ERROR',
] as const;

export type SendErrorCode = (typeof SEND_ERROR_CODES)[number];

/** What one POST to a receiver came to. `statusCode` is set whenever a response arrived. */
export interface SendResult {
  readonly statusCode?: number;
  /** Response headers, names lowercased, repeated values joined with `, `. */
  readonly responseHeaders?: Readonly<Record<string, string>>;
  /** The first bytes of the response body (at most the sender's limit, 8 KiB by default), as UTF-8. */
  readonly responseBody?: string;
  readonly durationMs: number;
  readonly errorCode?: SendErrorCode;
  readonly error?: string;
}
