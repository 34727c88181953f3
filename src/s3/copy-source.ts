import { findObject, type ObjectRow } from '../db/object-repository.ts';
import { authorizeBucket } from './bucket-access.ts';
import { checkConditions } from './conditions.ts';
import { header, type RequestContext } from './request-context.ts';
import { S3Error } from './s3-error.ts';
import { requireNullVersion } from './version-id.ts';

export interface CopySource {
  readonly bucket: string;
  readonly key: string;
  readonly row: ObjectRow;
}

/** Resolves `x-amz-copy-source` (bucket/key, URL-encoded) to an object the caller may read, checking x-amz-copy-source-if-*. */
export async function resolveCopySource(rc: RequestContext): Promise<CopySource> {
  const raw = header(rc, 'x-amz-copy-source') ?? '';
  const [pathPart = '', queryPart = ''] = raw.split('?', 2);
  let path: string;
  try {
    path = decodeURIComponent(pathPart).replace(/^\//, '');
  } catch {
    throw new S3Error(
      'InvalidArgument',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      { ArgumentName: 'x-amz-copy-source' },
    );
  }
  const slash = path.indexOf('/');
  if (slash <= 0 || slash === path.length - 1) {
    throw new S3Error(
      'InvalidArgument',
      'Copy Source must mention the source bucket and key: sourcebucket/sourcekey',
      { ArgumentName: 'x-amz-copy-source' },
    );
  }
  const versionId = new URLSearchParams(queryPart).get('versionId');
  requireNullVersion(versionId ?? undefined, 'x-amz-copy-source', raw);
  const bucket = path.slice(0, slash);
  const key = path.slice(slash + 1);
  await authorizeBucket(rc, bucket);
  const row = await findObject(rc.services.database.db, bucket, key);
  if (row === undefined) throw new S3Error('NoSuchKey', undefined, { Key: key });
  checkConditions(
    {
      ifMatch: header(rc, 'x-amz-copy-source-if-match'),
      ifNoneMatch: header(rc, 'x-amz-copy-source-if-none-match'),
      ifModifiedSince: header(rc, 'x-amz-copy-source-if-modified-since'),
      ifUnmodifiedSince: header(rc, 'x-amz-copy-source-if-unmodified-since'),
    },
    row.etag,
    row.last_modified,
    'PreconditionFailed',
  );
  return { bucket, key, row };
}
