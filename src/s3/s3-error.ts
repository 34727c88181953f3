import { S3_ERROR_CODES, type S3ErrorCode } from './error-codes.ts';

/** An S3 error response waiting to be rendered; `extra` becomes additional XML elements (e.g. BucketName). */
export class S3Error extends Error {
  readonly code: S3ErrorCode;
  readonly status: number;
  readonly extra: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    code: S3ErrorCode,
    message?: string,
    extra: Readonly<Record<string, string>> = {},
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(message ?? S3_ERROR_CODES[code].message);
    this.code = code;
    this.status = S3_ERROR_CODES[code].status;
    this.extra = extra;
    this.headers = headers;
  }
}

export function isS3ErrorCode(code: string): code is S3ErrorCode {
  return Object.hasOwn(S3_ERROR_CODES, code);
}
