export type BlobErrorCode = 'EntityTooLarge' | 'NoSuchBlob';

/** A coded storage failure; the S3 layer maps the code to its error response. */
export class BlobError extends Error {
  readonly code: BlobErrorCode;
  constructor(code: BlobErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
