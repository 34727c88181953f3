import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type ChecksumAlgorithm,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startServer, type TestServer } from './support/test-server.ts';
import { expectS3Error, parseErrorXml } from './support/s3-errors.ts';
import { rawRequest } from './support/raw-request.ts';

const ALGORITHMS: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];

function crc32Base64(data: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data));
  return out.toString('base64');
}

describe('checksums and data integrity', () => {
  let server: TestServer;
  let s3: S3Client;
  const bucket = 'checksums';
  before(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(() => server.cleanup());

  for (const algorithm of ALGORITHMS) {
    it(`stores and returns ${algorithm} for buffered and streamed (aws-chunked trailer) bodies`, async () => {
      const body = randomBytes(300_000);
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `buf-${algorithm}`,
          Body: body,
          ChecksumAlgorithm: algorithm,
        }),
      );
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: `stream-${algorithm}`,
          Body: Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]),
          ContentLength: body.length,
          ChecksumAlgorithm: algorithm,
        }),
      );
      for (const key of [`buf-${algorithm}`, `stream-${algorithm}`]) {
        // With ChecksumMode ENABLED the SDK itself verifies the returned checksum against the body.
        const got = await s3.send(
          new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }),
        );
        const bytes = Buffer.from(await got.Body!.transformToByteArray());
        assert.ok(bytes.equals(body), key);
        const field = `Checksum${algorithm}` as const;
        assert.ok(got[field], `${key} returns ${field}`);
        if (algorithm === 'CRC32') assert.equal(got.ChecksumCRC32, crc32Base64(body));
        if (algorithm === 'SHA256')
          assert.equal(got.ChecksumSHA256, createHash('sha256').update(body).digest('base64'));
        if (algorithm === 'SHA1')
          assert.equal(got.ChecksumSHA1, createHash('sha1').update(body).digest('base64'));
        const head = await s3.send(
          new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }),
        );
        assert.equal(head[field], got[field]);
      }
    });
  }

  it('does not return checksums unless asked', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'quiet', Body: 'abc', ChecksumAlgorithm: 'SHA256' }),
    );
    const res = await rawRequest(server.s3Url, { method: 'GET', path: `/${bucket}/quiet` });
    assert.equal(res.headers['x-amz-checksum-sha256'], undefined);
  });

  it('refuses a body whose checksum header does not match (BadDigest) and stores nothing', async () => {
    const res = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: `/${bucket}/bad-crc`,
      body: 'hello',
      headers: { 'x-amz-checksum-crc32': crc32Base64(Buffer.from('other')) },
    });
    assert.equal(res.status, 400);
    assert.equal(parseErrorXml(res.body).code, 'BadDigest');
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad-crc' })), 'NotFound', 404);
  });

  it('refuses a wrong Content-MD5 (BadDigest) and a malformed one (InvalidDigest)', async () => {
    const wrong = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: `/${bucket}/bad-md5`,
      body: 'hello',
      headers: { 'content-md5': createHash('md5').update('other').digest('base64') },
    });
    assert.equal(wrong.status, 400);
    assert.equal(parseErrorXml(wrong.body).code, 'BadDigest');
    const malformed = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: `/${bucket}/bad-md5`,
      body: 'hello',
      headers: { 'content-md5': 'not-md5' },
    });
    assert.equal(malformed.status, 400);
    assert.equal(parseErrorXml(malformed.body).code, 'InvalidDigest');
    const good = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: `/${bucket}/good-md5`,
      body: 'hello',
      headers: { 'content-md5': createHash('md5').update('hello').digest('base64') },
    });
    assert.equal(good.status, 200);
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad-md5' })), 'NotFound', 404);
  });

  it('refuses a body that does not match the signed x-amz-content-sha256 (XAmzContentSHA256Mismatch)', async () => {
    const res = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: `/${bucket}/bad-sha`,
      body: 'hello',
      contentSha256: createHash('sha256').update('other').digest('hex'),
    });
    assert.equal(res.status, 400);
    assert.equal(parseErrorXml(res.body).code, 'XAmzContentSHA256Mismatch');
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad-sha' })), 'NotFound', 404);
  });

  it('computes composite checksums for multipart uploads', async () => {
    const create = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'mp-sha256', ChecksumAlgorithm: 'SHA256' }),
    );
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1000)];
    const uploaded = [];
    for (const [i, part] of parts.entries()) {
      const out = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: 'mp-sha256',
          UploadId: create.UploadId,
          PartNumber: i + 1,
          Body: part,
          ChecksumAlgorithm: 'SHA256',
        }),
      );
      assert.equal(out.ChecksumSHA256, createHash('sha256').update(part).digest('base64'));
      uploaded.push({ PartNumber: i + 1, ETag: out.ETag!, ChecksumSHA256: out.ChecksumSHA256 });
    }
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'mp-sha256',
        UploadId: create.UploadId,
        MultipartUpload: { Parts: uploaded },
      }),
    );
    const composite = createHash('sha256')
      .update(Buffer.concat(parts.map((p) => createHash('sha256').update(p).digest())))
      .digest('base64');
    assert.equal(done.ChecksumSHA256, `${composite}-2`);
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'mp-sha256', ChecksumMode: 'ENABLED' }),
    );
    assert.equal(head.ChecksumSHA256, `${composite}-2`);
    assert.equal(head.ChecksumType, 'COMPOSITE');
  });

  it('computes full-object CRC checksums for multipart uploads', async () => {
    const create = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: 'mp-crc32',
        ChecksumAlgorithm: 'CRC32',
        ChecksumType: 'FULL_OBJECT',
      }),
    );
    const parts = [randomBytes(5 * 1024 * 1024), randomBytes(777)];
    const uploaded = [];
    for (const [i, part] of parts.entries()) {
      const out = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: 'mp-crc32',
          UploadId: create.UploadId,
          PartNumber: i + 1,
          Body: part,
          ChecksumAlgorithm: 'CRC32',
        }),
      );
      uploaded.push({ PartNumber: i + 1, ETag: out.ETag!, ChecksumCRC32: out.ChecksumCRC32! });
    }
    const whole = crc32Base64(Buffer.concat(parts));
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'mp-crc32',
        UploadId: create.UploadId,
        MultipartUpload: { Parts: uploaded },
        ChecksumCRC32: whole,
        ChecksumType: 'FULL_OBJECT',
      }),
    );
    assert.equal(done.ChecksumCRC32, whole);
    const got = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'mp-crc32', ChecksumMode: 'ENABLED' }),
    );
    assert.equal(got.ChecksumCRC32, whole);
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.concat(parts)));
  });
});
