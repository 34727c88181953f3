import assert from 'node:assert/strict';
import { S3ServiceException } from '@aws-sdk/client-s3';

/** Asserts that an SDK call fails with exactly this S3 error code and HTTP status. */
export async function expectS3Error(
  promise: Promise<unknown>,
  code: string,
  status: number,
): Promise<S3ServiceException> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof S3ServiceException, `expected S3 error ${code}, got ${String(caught)}`);
  assert.equal(caught.name, code, `error code (message: ${caught.message})`);
  assert.equal(caught.$metadata.httpStatusCode, status, `status of ${code}`);
  return caught;
}

/** Parses an S3 error XML document from a raw HTTP response body. */
export function parseErrorXml(body: string): { code: string; message: string; requestId: string } {
  const pick = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1] ?? '';
  return { code: pick('Code'), message: pick('Message'), requestId: pick('RequestId') };
}
