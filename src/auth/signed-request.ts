/** What signature verification needs of an HTTP request. */
export interface SignedRequest {
  readonly method: string;
  /** The path part of the request URL exactly as received, still percent-encoded, without the query. */
  readonly rawPath: string;
  /** The query string as received, without `?`; may be ''. */
  readonly rawQuery: string;
  /** node's `IncomingHttpHeaders` (or `headersDistinct`), lower-case names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** One header's value; repeated values (`headersDistinct`, `set-cookie`) joined with commas. */
export function headerValue(req: SignedRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}
