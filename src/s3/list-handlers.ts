import { listObjectsAfter, type ListedObjectRow } from '../db/object-repository.ts';
import { authorizeBucket } from './bucket-access.ts';
import { isoDate, quoteEtag } from './object-headers.ts';
import type { RequestContext } from './request-context.ts';
import { sendXml } from './respond.ts';
import { S3Error } from './s3-error.ts';
import type { XmlTree } from './xml.ts';

/** Sorts after every key that starts with the same prefix, in UTF-8 byte order. */
const MAX_CHAR = '\u{10FFFF}';

export interface ListPage {
  readonly objects: ListedObjectRow[];
  readonly commonPrefixes: string[];
  readonly isTruncated: boolean;
  /** The last key or common prefix returned: where the next page starts. */
  readonly last: string | undefined;
}

/** One page of keys after `after`, folded into common prefixes at `delimiter`. */
export async function listPage(
  rc: RequestContext,
  bucket: string,
  options: {
    readonly prefix: string;
    readonly delimiter: string;
    readonly after: string;
    readonly maxKeys: number;
  },
): Promise<ListPage> {
  const { prefix, delimiter, maxKeys } = options;
  const objects: ListedObjectRow[] = [];
  const commonPrefixes: string[] = [];
  let cursor = options.after;
  let skipPrefix = delimiter === '' ? undefined : groupOf(cursor, prefix, delimiter);
  if (skipPrefix !== undefined) cursor = skipPrefix + MAX_CHAR;
  let last: string | undefined;
  const batch = Math.min(1000, maxKeys + 1);
  for (;;) {
    const rows = await listObjectsAfter(rc.services.database.db, bucket, prefix, cursor, batch);
    if (rows.length === 0) return { objects, commonPrefixes, isTruncated: false, last };
    let jumped = false;
    for (const row of rows) {
      if (!row.key.startsWith(prefix)) return { objects, commonPrefixes, isTruncated: false, last };
      cursor = row.key;
      if (skipPrefix !== undefined && row.key.startsWith(skipPrefix)) continue;
      const group = delimiter === '' ? undefined : groupOf(row.key, prefix, delimiter);
      if (objects.length + commonPrefixes.length >= maxKeys)
        return { objects, commonPrefixes, isTruncated: true, last };
      if (group !== undefined) {
        commonPrefixes.push(group);
        last = group;
        skipPrefix = group;
        cursor = group + MAX_CHAR;
        jumped = true;
        break;
      }
      objects.push(row);
      last = row.key;
    }
    if (!jumped && rows.length < batch) return { objects, commonPrefixes, isTruncated: false, last };
  }
}

/** The common prefix `key` folds into, if any. */
export function groupOf(key: string, prefix: string, delimiter: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at === -1 ? undefined : key.slice(0, at + delimiter.length);
}

function parseMaxKeys(rc: RequestContext): number {
  const text = rc.query.get('max-keys');
  if (text === undefined) return 1000;
  if (!/^\d{1,9}$/.test(text))
    throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', {
      ArgumentName: 'max-keys',
      ArgumentValue: text,
    });
  return Math.min(1000, Number(text));
}

function encodingOf(rc: RequestContext): (s: string) => string {
  const type = rc.query.get('encoding-type');
  if (type === undefined) return (s) => s;
  if (type !== 'url')
    throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', {
      ArgumentName: 'encoding-type',
      ArgumentValue: type,
    });
  return (s) => encodeURIComponent(s).replace(/%2F/g, '/');
}

function contents(
  rows: readonly ListedObjectRow[],
  encode: (s: string) => string,
  withOwner: boolean,
): XmlTree[] {
  return rows.map((row) => ({
    Key: encode(row.key),
    LastModified: isoDate(row.last_modified),
    ETag: quoteEtag(row.etag),
    ...(row.checksum_algorithm === null
      ? {}
      : { ChecksumAlgorithm: row.checksum_algorithm, ChecksumType: row.checksum_type ?? undefined }),
    Size: row.size,
    ...(withOwner ? { Owner: { ID: row.owner, DisplayName: row.owner } } : {}),
    StorageClass: 'STANDARD',
  }));
}

export async function handleListObjects(rc: RequestContext, bucket: string): Promise<void> {
  await authorizeBucket(rc, bucket);
  const encode = encodingOf(rc);
  const prefix = rc.query.get('prefix') ?? '';
  const delimiter = rc.query.get('delimiter') ?? '';
  const marker = rc.query.get('marker') ?? '';
  const maxKeys = parseMaxKeys(rc);
  const page = await listPage(rc, bucket, { prefix, delimiter, after: marker, maxKeys });
  sendXml(rc, 200, 'ListBucketResult', {
    Name: bucket,
    Prefix: encode(prefix),
    Marker: encode(marker),
    NextMarker:
      page.isTruncated && delimiter !== '' && page.last !== undefined ? encode(page.last) : undefined,
    MaxKeys: maxKeys,
    Delimiter: delimiter === '' ? undefined : encode(delimiter),
    IsTruncated: page.isTruncated,
    EncodingType: rc.query.get('encoding-type'),
    Contents: contents(page.objects, encode, true),
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: encode(p) })),
  });
}

export async function handleListObjectsV2(rc: RequestContext, bucket: string): Promise<void> {
  await authorizeBucket(rc, bucket);
  const encode = encodingOf(rc);
  const prefix = rc.query.get('prefix') ?? '';
  const delimiter = rc.query.get('delimiter') ?? '';
  const startAfter = rc.query.get('start-after') ?? '';
  const token = rc.query.get('continuation-token');
  const maxKeys = parseMaxKeys(rc);
  let after = startAfter;
  if (token !== undefined) {
    const decoded = Buffer.from(token, 'base64url').toString('utf8');
    if (token === '' || !decoded.startsWith('v1:'))
      throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', {
        ArgumentName: 'continuation-token',
      });
    after = decoded.slice(3);
  }
  const page = await listPage(rc, bucket, { prefix, delimiter, after, maxKeys });
  const withOwner = rc.query.get('fetch-owner') === 'true';
  sendXml(rc, 200, 'ListBucketResult', {
    Name: bucket,
    Prefix: encode(prefix),
    Delimiter: delimiter === '' ? undefined : encode(delimiter),
    MaxKeys: maxKeys,
    EncodingType: rc.query.get('encoding-type'),
    KeyCount: page.objects.length + page.commonPrefixes.length,
    IsTruncated: page.isTruncated,
    ContinuationToken: token,
    NextContinuationToken:
      page.isTruncated && page.last !== undefined
        ? Buffer.from(`v1:${page.last}`).toString('base64url')
        : undefined,
    StartAfter: startAfter === '' ? undefined : encode(startAfter),
    Contents: contents(page.objects, encode, withOwner),
    CommonPrefixes: page.commonPrefixes.map((p) => ({ Prefix: encode(p) })),
  });
}
