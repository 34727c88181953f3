import { isAdmin } from '../auth/identity.ts';
import { findBucket, type BucketRow } from '../db/bucket-repository.ts';
import type { RequestContext } from './request-context.ts';
import { S3Error } from './s3-error.ts';

/** Loads a bucket the caller may use: its owner or an admin. Others get AccessDenied and learn nothing more. */
export async function authorizeBucket(rc: RequestContext, bucket: string): Promise<BucketRow> {
  const row = await findBucket(rc.services.database.db, bucket);
  if (row === undefined) throw new S3Error('NoSuchBucket', undefined, { BucketName: bucket });
  if (row.owner !== rc.identity.userName && !isAdmin(rc.identity)) throw new S3Error('AccessDenied');
  return row;
}
