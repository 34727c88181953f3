/** Every request the S3 port understands, named after the AWS operation (see router.ts). */
export type S3Operation =
  | { readonly name: 'ListBuckets' }
  | {
      readonly name:
        | 'CreateBucket'
        | 'DeleteBucket'
        | 'HeadBucket'
        | 'GetBucketLocation'
        | 'GetBucketVersioning'
        | 'ListObjects'
        | 'ListObjectsV2'
        | 'ListMultipartUploads'
        | 'DeleteObjects'
        | 'PostObject'
        | 'GetBucketNotificationConfiguration'
        | 'PutBucketNotificationConfiguration';
      readonly bucket: string;
    }
  | {
      readonly name:
        'PutObject' | 'CopyObject' | 'GetObject' | 'HeadObject' | 'DeleteObject' | 'CreateMultipartUpload';
      readonly bucket: string;
      readonly key: string;
    }
  | {
      readonly name:
        'UploadPart' | 'UploadPartCopy' | 'CompleteMultipartUpload' | 'AbortMultipartUpload' | 'ListParts';
      readonly bucket: string;
      readonly key: string;
      readonly uploadId: string;
    }
  /** A request we recognise but do not support: answered with NotImplemented naming `operation`. */
  | { readonly name: 'NotImplemented'; readonly operation: string; readonly bucket?: string | undefined };

export type S3OperationName = S3Operation['name'];
