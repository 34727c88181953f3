import type { ServerResponse } from 'node:http';
import { AuthError } from '../auth/auth-error.ts';
import { MutationError } from '../mutations/mutation-error.ts';
import type { Logger } from '../observability/logger.ts';
import { BlobError } from '../storage/blob-error.ts';
import { isS3ErrorCode, S3Error } from './s3-error.ts';
import { renderXml } from './xml.ts';

/** The one place an error becomes an S3 response. Errors it does not know are logged 500s. */
export function toS3Error(err: unknown, logger: Logger): S3Error {
  if (err instanceof S3Error) return err;
  if (err instanceof AuthError || err instanceof MutationError || err instanceof BlobError) {
    if (isS3ErrorCode(err.code)) return new S3Error(err.code, err.message);
  }
  logger.error({ err }, 'internal error');
  return new S3Error('InternalError');
}

export function sendS3Error(
  res: ServerResponse,
  error: S3Error,
  context: { readonly requestId: string; readonly resource: string; readonly isHead: boolean },
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = context.isHead
    ? ''
    : renderXml(
        'Error',
        {
          Code: error.code,
          Message: error.message,
          ...error.extra,
          Resource: context.resource,
          RequestId: context.requestId,
        },
        false,
      );
  res.writeHead(error.status, {
    ...error.headers,
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-amz-request-id': context.requestId,
    'x-amz-id-2': context.requestId,
  });
  res.end(body);
}
