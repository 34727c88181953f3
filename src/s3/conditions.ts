import { S3Error } from './s3-error.ts';

export interface ConditionHeaders {
  readonly ifMatch: string | undefined;
  readonly ifNoneMatch: string | undefined;
  readonly ifModifiedSince: string | undefined;
  readonly ifUnmodifiedSince: string | undefined;
}

/**
 * Evaluates HTTP preconditions against an object as S3 does (RFC 7232 order): a failed If-Match or
 * If-Unmodified-Since is 412; a failed If-None-Match or If-Modified-Since is 304 on reads
 * (`notModifiedAs: 'NotModified'`) or 412 for copy sources.
 */
export function checkConditions(
  conditions: ConditionHeaders,
  etag: string,
  lastModified: number,
  notModifiedAs: 'NotModified' | 'PreconditionFailed',
): void {
  const seconds = Math.floor(lastModified / 1000) * 1000;
  if (conditions.ifMatch !== undefined) {
    if (!etagMatches(conditions.ifMatch, etag))
      throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Match' });
  } else if (conditions.ifUnmodifiedSince !== undefined) {
    const since = Date.parse(conditions.ifUnmodifiedSince);
    if (!Number.isNaN(since) && seconds > since) {
      throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Unmodified-Since' });
    }
  }
  if (conditions.ifNoneMatch !== undefined) {
    if (etagMatches(conditions.ifNoneMatch, etag)) fail(notModifiedAs, 'If-None-Match', etag, lastModified);
  } else if (conditions.ifModifiedSince !== undefined) {
    const since = Date.parse(conditions.ifModifiedSince);
    if (!Number.isNaN(since) && seconds <= since)
      fail(notModifiedAs, 'If-Modified-Since', etag, lastModified);
  }
}

function fail(
  as: 'NotModified' | 'PreconditionFailed',
  condition: string,
  etag: string,
  lastModified: number,
): never {
  if (as === 'NotModified') {
    throw new S3Error(
      'NotModified',
      undefined,
      {},
      { etag: `"${etag}"`, 'last-modified': new Date(lastModified).toUTCString() },
    );
  }
  throw new S3Error('PreconditionFailed', undefined, { Condition: condition });
}

function etagMatches(list: string, etag: string): boolean {
  return list.split(',').some((candidate) => {
    const tag = candidate.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
    return tag === '*' || tag === etag;
  });
}

/** The conditions of a conditional write or delete (PutObject, CompleteMultipartUpload, DeleteObject). */
export interface WriteConditions {
  readonly ifMatch: string | undefined;
  /** Only `*` (no object at the key) is a write condition S3 knows. */
  readonly ifNoneMatch: '*' | undefined;
}

/** Reads If-Match and If-None-Match as write conditions; If-None-Match with an ETag is not one S3 implements. */
export function parseWriteConditions(
  ifMatch: string | undefined,
  ifNoneMatch: string | undefined,
): WriteConditions {
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw new S3Error('NotImplemented', 'If-None-Match accepts only * on writes.');
  }
  return { ifMatch, ifNoneMatch: ifNoneMatch === undefined ? undefined : '*' };
}

/**
 * Checks write conditions against the object now at `key` (undefined when there is none), as S3 does:
 * If-None-Match: * fails with 412 when an object exists; If-Match names the ETag (or `*`) the current
 * object must have, 412 when it has another and 404 NoSuchKey when there is none.
 */
export function checkWriteConditions(
  conditions: WriteConditions,
  current: { readonly etag: string } | undefined,
  key: string,
): void {
  if (current === undefined) {
    if (conditions.ifMatch !== undefined) throw new S3Error('NoSuchKey', undefined, { Key: key });
    return;
  }
  if (conditions.ifNoneMatch !== undefined)
    throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-None-Match' });
  if (conditions.ifMatch !== undefined && !etagMatches(conditions.ifMatch, current.etag))
    throw new S3Error('PreconditionFailed', undefined, { Condition: 'If-Match' });
}
