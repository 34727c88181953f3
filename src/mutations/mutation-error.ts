/** Reasons a change is refused. Codes are AWS's S3 error codes; no HTTP here. */
export type MutationErrorCode =
  | 'NoSuchBucket'
  | 'NoSuchKey'
  | 'NoSuchUpload'
  | 'BucketNotEmpty'
  | 'BucketAlreadyExists'
  | 'BucketAlreadyOwnedByYou'
  | 'InvalidPart'
  | 'InvalidPartOrder'
  | 'EntityTooSmall'
  | 'InvalidRequest'
  | 'BadDigest'
  | 'InvalidArgument';

export class MutationError extends Error {
  readonly code: MutationErrorCode;
  constructor(code: MutationErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
