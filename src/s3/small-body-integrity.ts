import { createHash } from 'node:crypto';
import { createChecksum } from '../storage/checksum.ts';
import { requestedChecksum } from './payload.ts';
import { header, type RequestContext } from './request-context.ts';
import { S3Error } from './s3-error.ts';

/**
 * Checks a small body (an XML document read whole) against everything the client vouched for: the
 * signed `x-amz-content-sha256`, `Content-MD5` and an `x-amz-checksum-*` header. On
 * CompleteMultipartUpload the x-amz-checksum-* headers describe the object, not the body
 * (`checksumsDescribeBody` false).
 */
export function verifySmallBodyIntegrity(
  rc: RequestContext,
  body: Buffer,
  checksumsDescribeBody: boolean,
): void {
  const md5 = header(rc, 'content-md5');
  if (md5 !== undefined && createHash('md5').update(body).digest('base64') !== md5.trim()) {
    throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  if (
    rc.payload.kind === 'signed' &&
    createHash('sha256').update(body).digest('hex') !== rc.payload.sha256.toLowerCase()
  ) {
    throw new S3Error('XAmzContentSHA256Mismatch');
  }
  const wanted = checksumsDescribeBody ? requestedChecksum(rc) : undefined;
  if (wanted?.value !== undefined) {
    const checksum = createChecksum(wanted.algorithm);
    checksum.update(body);
    if (checksum.digest() !== wanted.value) {
      throw new S3Error(
        'BadDigest',
        `The ${wanted.algorithm} you specified did not match the calculated checksum.`,
      );
    }
  }
}
