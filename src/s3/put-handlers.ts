import { putObject, type ObjectPrecondition } from '../mutations/object-mutations.ts';
import { authorizeBucket } from './bucket-access.ts';
import { checkWriteConditions, parseWriteConditions } from './conditions.ts';
import { attributesFromRequest, quoteEtag } from './object-headers.ts';
import { receiveObjectPayload } from './payload.ts';
import { header, type RequestContext } from './request-context.ts';
import { sendEmpty } from './respond.ts';
import { S3Error } from './s3-error.ts';
import { checksumHeaderName } from '../storage/checksum-algorithm.ts';

export const MAX_KEY_BYTES = 1024;

export function checkKey(key: string): void {
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new S3Error('KeyTooLongError');
}

/** Refuses a plain body without a length, which S3 cannot accept (aws-chunked carries its own). */
export function requireContentLength(rc: RequestContext): void {
  const streaming =
    rc.payload.kind === 'streaming-signed' || rc.payload.kind === 'streaming-unsigned-trailer';
  if (!streaming && header(rc, 'content-length') === undefined) throw new S3Error('MissingContentLength');
}

export async function handlePutObject(rc: RequestContext, bucket: string, key: string): Promise<void> {
  checkKey(key);
  await authorizeBucket(rc, bucket);
  requireContentLength(rc);
  rejectUnsupportedPutHeaders(rc, { conditional: true });
  const precondition = writePrecondition(rc, key);
  const attributes = attributesFromRequest(rc);
  const received = await receiveObjectPayload(rc, { maxSize: rc.services.config.maxObjectSize });
  const result = await putObject(rc.services.mutations, rc.actor, {
    bucket,
    key,
    bytes: received.bytes,
    size: received.size,
    etag: received.md5,
    attributes,
    checksum: received.checksum === null ? null : { ...received.checksum, type: 'FULL_OBJECT' },
    eventName: 's3:ObjectCreated:Put',
    precondition,
  });
  const headers: Record<string, string> = { etag: quoteEtag(result.etag) };
  if (received.checksum !== null) {
    headers[checksumHeaderName(received.checksum.algorithm)] = received.checksum.value;
    headers['x-amz-checksum-type'] = 'FULL_OBJECT';
  }
  sendEmpty(rc, 200, headers);
}

/** Headers asking for features we do not implement: a write that carries one must not silently succeed. */
const UNSUPPORTED_WRITE_HEADERS = [
  // SSE-S3, SSE-KMS and SSE-C: bytes are stored as sent, and we will not claim otherwise.
  'x-amz-server-side-encryption',
  'x-amz-server-side-encryption-aws-kms-key-id',
  'x-amz-server-side-encryption-context',
  'x-amz-server-side-encryption-bucket-key-enabled',
  'x-amz-server-side-encryption-customer-algorithm',
  'x-amz-server-side-encryption-customer-key',
  'x-amz-server-side-encryption-customer-key-md5',
  'x-amz-copy-source-server-side-encryption-customer-algorithm',
  'x-amz-object-lock-mode',
  'x-amz-object-lock-retain-until-date',
  'x-amz-object-lock-legal-hold',
  'x-amz-write-offset-bytes',
  'x-amz-tagging',
  'x-amz-website-redirect-location',
] as const;

/**
 * Refuses write headers for features we do not implement (NotImplemented) and storage classes other
 * than STANDARD. Conditional writes (If-Match, If-None-Match) are refused too unless the operation
 * implements them (`conditional`: PutObject, CompleteMultipartUpload).
 */
export function rejectUnsupportedPutHeaders(
  rc: RequestContext,
  options: { readonly conditional?: boolean } = {},
): void {
  const names = options.conditional === true ? [] : ['if-match', 'if-none-match'];
  for (const name of [...names, ...UNSUPPORTED_WRITE_HEADERS]) {
    if (header(rc, name) !== undefined)
      throw new S3Error('NotImplemented', `The ${name} header is not supported on writes.`);
  }
  const storageClass = header(rc, 'x-amz-storage-class');
  if (storageClass !== undefined && storageClass !== 'STANDARD') {
    throw new S3Error(
      'InvalidStorageClass',
      'The storage class you specified is not valid (only STANDARD is supported).',
    );
  }
}

/** The conditional write a request asks for (If-Match, If-None-Match: *), checked in the write's transaction. */
export function writePrecondition(rc: RequestContext, key: string): ObjectPrecondition | undefined {
  const conditions = parseWriteConditions(header(rc, 'if-match'), header(rc, 'if-none-match'));
  if (conditions.ifMatch === undefined && conditions.ifNoneMatch === undefined) return undefined;
  return (current) => {
    checkWriteConditions(conditions, current, key);
  };
}
