import {
  handleCreateBucket,
  handleDeleteBucket,
  handleGetBucketLocation,
  handleGetBucketVersioning,
  handleHeadBucket,
  handleListBuckets,
} from './bucket-handlers.ts';
import { handleCopyObject, handleUploadPartCopy } from './copy-handlers.ts';
import { handleDeleteObject, handleDeleteObjects } from './delete-handlers.ts';
import { handleGetObject } from './get-handlers.ts';
import { handleListObjects, handleListObjectsV2 } from './list-handlers.ts';
import {
  handleAbortMultipartUpload,
  handleCompleteMultipartUpload,
  handleCreateMultipartUpload,
  handleListMultipartUploads,
  handleListParts,
  handleUploadPart,
} from './multipart-handlers.ts';
import { handlePostObject } from './post-object-handler.ts';
import { handlePutObject } from './put-handlers.ts';
import {
  handleGetBucketNotificationConfiguration,
  handlePutBucketNotificationConfiguration,
} from './notification-handlers.ts';
import type { RequestContext } from './request-context.ts';
import { S3Error } from './s3-error.ts';
import type { S3Operation } from './s3-operation.ts';

/** Runs the handler of an authenticated operation. The switch is exhaustive over S3Operation. */
export async function dispatch(rc: RequestContext, op: S3Operation): Promise<void> {
  switch (op.name) {
    case 'ListBuckets':
      return handleListBuckets(rc);
    case 'CreateBucket':
      return handleCreateBucket(rc, op.bucket);
    case 'DeleteBucket':
      return handleDeleteBucket(rc, op.bucket);
    case 'HeadBucket':
      return handleHeadBucket(rc, op.bucket);
    case 'GetBucketLocation':
      return handleGetBucketLocation(rc, op.bucket);
    case 'GetBucketVersioning':
      return handleGetBucketVersioning(rc, op.bucket);
    case 'ListObjects':
      return handleListObjects(rc, op.bucket);
    case 'ListObjectsV2':
      return handleListObjectsV2(rc, op.bucket);
    case 'ListMultipartUploads':
      return handleListMultipartUploads(rc, op.bucket);
    case 'DeleteObjects':
      return handleDeleteObjects(rc, op.bucket);
    case 'PutObject':
      return handlePutObject(rc, op.bucket, op.key);
    case 'CopyObject':
      return handleCopyObject(rc, op.bucket, op.key);
    case 'GetObject':
      return handleGetObject(rc, op.bucket, op.key, false);
    case 'HeadObject':
      return handleGetObject(rc, op.bucket, op.key, true);
    case 'DeleteObject':
      return handleDeleteObject(rc, op.bucket, op.key);
    case 'CreateMultipartUpload':
      return handleCreateMultipartUpload(rc, op.bucket, op.key);
    case 'UploadPart':
      return handleUploadPart(rc, op.bucket, op.key, op.uploadId);
    case 'UploadPartCopy':
      return handleUploadPartCopy(rc, op.bucket, op.key, op.uploadId);
    case 'CompleteMultipartUpload':
      return handleCompleteMultipartUpload(rc, op.bucket, op.key, op.uploadId);
    case 'AbortMultipartUpload':
      return handleAbortMultipartUpload(rc, op.bucket, op.key, op.uploadId);
    case 'ListParts':
      return handleListParts(rc, op.bucket, op.key, op.uploadId);
    case 'PostObject':
      return handlePostObject(rc, op.bucket);
    case 'GetBucketNotificationConfiguration':
      return handleGetBucketNotificationConfiguration(rc, op.bucket);
    case 'PutBucketNotificationConfiguration':
      return handlePutBucketNotificationConfiguration(rc, op.bucket);
    case 'NotImplemented':
      throw new S3Error('NotImplemented', `${op.operation} is not implemented.`);
  }
}
