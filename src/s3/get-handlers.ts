import { pipeline } from 'node:stream/promises';
import { findObject, type ObjectPartRow, type ObjectRow } from '../db/object-repository.ts';
import { checksumHeaderName, parseChecksumAlgorithm } from '../storage/checksum-algorithm.ts';
import { authorizeBucket } from './bucket-access.ts';
import { parseRange, type ByteRange } from './byte-range.ts';
import { checkConditions } from './conditions.ts';
import { objectResponseHeaders } from './object-headers.ts';
import { inlineRange, objectSegments, readSegments } from './object-reader.ts';
import { header, type RequestContext } from './request-context.ts';
import { S3Error } from './s3-error.ts';
import { NULL_VERSION_ID, requireNullVersion } from './version-id.ts';

const RESPONSE_OVERRIDES = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
} as const;

export async function handleGetObject(
  rc: RequestContext,
  bucket: string,
  key: string,
  isHead: boolean,
): Promise<void> {
  await authorizeBucket(rc, bucket);
  const namesNullVersion = requireNullVersion(rc.query.get('versionId'), 'versionId');
  const row = await findObject(rc.services.database.db, bucket, key);
  if (row === undefined) throw new S3Error('NoSuchKey', undefined, { Key: key });
  checkConditions(
    {
      ifMatch: header(rc, 'if-match'),
      ifNoneMatch: header(rc, 'if-none-match'),
      ifModifiedSince: header(rc, 'if-modified-since'),
      ifUnmodifiedSince: header(rc, 'if-unmodified-since'),
    },
    row.etag,
    row.last_modified,
    'NotModified',
  );
  const { segments, parts } = await objectSegments(rc.services.database.db, row);
  const headers = objectResponseHeaders(rc, row);
  if (namesNullVersion) headers['x-amz-version-id'] = NULL_VERSION_ID;
  for (const [param, name] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = rc.query.get(param);
    if (value !== undefined) headers[name] = value;
  }
  const range = selectRange(rc, row, parts);
  if (range !== undefined && range.partial) {
    headers['content-range'] = `bytes ${range.start}-${range.end}/${row.size}`;
    // A whole-object checksum does not describe a slice; a part's own checksum does.
    for (const name of Object.keys(headers).filter((n) => n.startsWith('x-amz-checksum-')))
      Reflect.deleteProperty(headers, name);
    const part = range.partNumber === undefined ? undefined : parts[range.partNumber - 1];
    const algorithm =
      row.checksum_algorithm === null ? undefined : parseChecksumAlgorithm(row.checksum_algorithm);
    if (
      part?.checksum_value != null &&
      algorithm !== undefined &&
      header(rc, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED'
    ) {
      headers[checksumHeaderName(algorithm)] = part.checksum_value;
    }
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? row.size - 1;
  headers['content-length'] = String(Math.max(0, end - start + 1));
  const status = range?.partial === true ? 206 : 200;
  if (isHead || end < start) {
    rc.res.writeHead(status, headers);
    rc.res.end();
    return;
  }
  const inline = inlineRange(segments, start, end);
  if (inline !== undefined) {
    rc.res.writeHead(status, headers);
    rc.services.metrics.s3BytesSent.inc(inline.byteLength);
    rc.res.end(inline);
    return;
  }
  const body = await readSegments(rc.services.blobs, segments, start, end);
  rc.res.writeHead(status, headers);
  rc.services.metrics.s3BytesSent.inc(end - start + 1);
  await pipeline(body, rc.res);
}

interface SelectedRange extends ByteRange {
  /** True when the response is 206 with a Content-Range. */
  readonly partial: boolean;
  readonly partNumber?: number;
}

function selectRange(
  rc: RequestContext,
  row: ObjectRow,
  parts: readonly ObjectPartRow[],
): SelectedRange | undefined {
  const partNumberText = rc.query.get('partNumber');
  const rangeHeader = header(rc, 'range');
  if (partNumberText !== undefined) {
    if (rangeHeader !== undefined)
      throw new S3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter');
    if (!/^\d{1,5}$/.test(partNumberText) || Number(partNumberText) < 1 || Number(partNumberText) > 10_000) {
      throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', {
        ArgumentName: 'partNumber',
        ArgumentValue: partNumberText,
      });
    }
    const partNumber = Number(partNumberText);
    if (row.parts_count === null) {
      if (partNumber !== 1) throw new S3Error('InvalidPartNumber');
      return { start: 0, end: row.size - 1, partial: false };
    }
    if (partNumber > parts.length) throw new S3Error('InvalidPartNumber');
    const start = parts.slice(0, partNumber - 1).reduce((sum, p) => sum + p.size, 0);
    return { start, end: start + parts[partNumber - 1]!.size - 1, partial: true, partNumber };
  }
  const range = parseRange(rangeHeader, row.size);
  return range === undefined ? undefined : { ...range, partial: true };
}
