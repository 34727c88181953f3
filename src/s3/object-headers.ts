import type { ObjectRow } from '../db/object-repository.ts';
import type { ObjectAttributes } from '../mutations/object-attributes.ts';
import { checksumHeaderName, parseChecksumAlgorithm } from '../storage/checksum-algorithm.ts';
import { header, type RequestContext } from './request-context.ts';
import { S3Error } from './s3-error.ts';

export const MAX_USER_METADATA_BYTES = 2048;

/** Reads Content-Type, the other stored standard headers and x-amz-meta-* from a request. */
export function attributesFromRequest(rc: RequestContext): ObjectAttributes {
  const userMetadata: Record<string, string> = {};
  let metadataBytes = 0;
  const raw = rc.req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!name.startsWith('x-amz-meta-')) continue;
    const short = name.slice('x-amz-meta-'.length);
    const value = raw[i + 1]!;
    userMetadata[short] = short in userMetadata ? `${userMetadata[short]},${value}` : value;
    metadataBytes += short.length + Buffer.byteLength(value);
  }
  if (metadataBytes > MAX_USER_METADATA_BYTES) {
    throw new S3Error(
      'MetadataTooLarge',
      `Your metadata headers exceed the maximum allowed metadata size of ${MAX_USER_METADATA_BYTES} bytes.`,
    );
  }
  const encoding = header(rc, 'content-encoding');
  // aws-chunked is transfer framing, not a property of the object.
  const storedEncoding = encoding
    ?.split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '' && e.toLowerCase() !== 'aws-chunked')
    .join(',');
  return {
    contentType: header(rc, 'content-type') ?? 'binary/octet-stream',
    contentEncoding: storedEncoding === undefined || storedEncoding === '' ? null : storedEncoding,
    contentDisposition: header(rc, 'content-disposition') ?? null,
    contentLanguage: header(rc, 'content-language') ?? null,
    cacheControl: header(rc, 'cache-control') ?? null,
    expires: header(rc, 'expires') ?? null,
    userMetadata,
  };
}

export function attributesFromRow(row: ObjectRow): ObjectAttributes {
  return {
    contentType: row.content_type,
    contentEncoding: row.content_encoding,
    contentDisposition: row.content_disposition,
    contentLanguage: row.content_language,
    cacheControl: row.cache_control,
    expires: row.expires,
    userMetadata: JSON.parse(row.user_metadata) as Record<string, string>,
  };
}

export function quoteEtag(etag: string): string {
  return `"${etag}"`;
}

export function httpDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** ISO 8601 with milliseconds, as S3 XML uses. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString();
}

/** The headers GET and HEAD answer with for an object (before Range and response-* overrides). */
export function objectResponseHeaders(rc: RequestContext, row: ObjectRow): Record<string, string> {
  const headers: Record<string, string> = {
    etag: quoteEtag(row.etag),
    'last-modified': httpDate(row.last_modified),
    'content-type': row.content_type,
    'accept-ranges': 'bytes',
  };
  if (row.content_encoding !== null) headers['content-encoding'] = row.content_encoding;
  if (row.content_disposition !== null) headers['content-disposition'] = row.content_disposition;
  if (row.content_language !== null) headers['content-language'] = row.content_language;
  if (row.cache_control !== null) headers['cache-control'] = row.cache_control;
  if (row.expires !== null) headers['expires'] = row.expires;
  for (const [name, value] of Object.entries(JSON.parse(row.user_metadata) as Record<string, string>)) {
    headers[`x-amz-meta-${name}`] = value;
  }
  if (row.parts_count !== null) headers['x-amz-mp-parts-count'] = String(row.parts_count);
  if (
    header(rc, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED' &&
    row.checksum_algorithm !== null &&
    row.checksum_value !== null
  ) {
    const algorithm = parseChecksumAlgorithm(row.checksum_algorithm);
    if (algorithm !== undefined) {
      const suffix =
        row.checksum_type === 'COMPOSITE' && row.parts_count !== null ? `-${row.parts_count}` : '';
      headers[checksumHeaderName(algorithm)] = row.checksum_value.endsWith(suffix)
        ? row.checksum_value
        : `${row.checksum_value}${suffix}`;
      if (row.checksum_type !== null) headers['x-amz-checksum-type'] = row.checksum_type;
    }
  }
  return headers;
}
