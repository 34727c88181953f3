import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { INLINE_MAX_BYTES } from '../src/mutations/object-bytes.ts';
import { countBlobFiles } from './support/blob-files.ts';
import { queryServerDb } from './support/inspect-db.ts';
import { expectS3Error } from './support/s3-errors.ts';
import {
  persistentStorage,
  startServer,
  type PersistentStorage,
  type TestServer,
} from './support/test-server.ts';

// Simple objects of at most INLINE_MAX_BYTES keep their bytes in their metadata row: no blob file is
// written, read or removed for them. Everything a client sees must be exactly as for any other object.

const md5 = (b: Buffer) => `"${createHash('md5').update(b).digest('hex')}"`;

describe('small objects kept in their metadata row', () => {
  let storage: PersistentStorage;
  let server: TestServer;
  let s3: S3Client;
  const bucket = 'inline';
  const small = randomBytes(INLINE_MAX_BYTES);
  const large = randomBytes(INLINE_MAX_BYTES + 1);

  before(async () => {
    storage = await persistentStorage();
    server = await startServer({ dataDir: storage.dataDir, databaseUrl: storage.databaseUrl });
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(async () => {
    await server.cleanup();
    await storage.remove();
  });

  const bytesOf = async (key: string, range?: string) => {
    const got = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, ...(range === undefined ? {} : { Range: range }) }),
    );
    return { got, body: Buffer.from(await got.Body!.transformToByteArray()) };
  };

  it('stores up to INLINE_MAX_BYTES without a blob file, and one byte more in one', async () => {
    const files = await countBlobFiles(server.dataDir);
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'small', Body: small }));
    assert.equal(put.ETag, md5(small));
    assert.equal(await countBlobFiles(server.dataDir), files, 'no blob file for a small object');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'large', Body: large }));
    assert.equal(await countBlobFiles(server.dataDir), files + 1, 'one blob file for a larger one');
    const rows = await queryServerDb(
      server,
      'select key, blob_id, inline_data is not null as inline from objects where bucket = $1 order by key',
      [bucket],
    );
    assert.deepEqual(
      rows.map((r) => ({ key: r['key'], blob: r['blob_id'] !== null, inline: Boolean(r['inline']) })),
      [
        { key: 'large', blob: true, inline: false },
        { key: 'small', blob: false, inline: true },
      ],
    );
  });

  it('serves the bytes, ETag, checksum and headers as for any object', async () => {
    const { got, body } = await bytesOf('small');
    assert.ok(body.equals(small));
    assert.equal(got.ETag, md5(small));
    assert.equal(got.ContentLength, small.length);
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'small', ChecksumMode: 'ENABLED' }),
    );
    assert.equal(head.ContentLength, small.length);
    assert.ok(head.ChecksumCRC32 !== undefined, 'the SDK default CRC32 is stored and returned');
    const empty = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'empty', Body: Buffer.alloc(0) }),
    );
    assert.equal(empty.ETag, md5(Buffer.alloc(0)));
    assert.equal((await bytesOf('empty')).body.length, 0);
  });

  it('serves ranges, suffix ranges and an unsatisfiable range as S3 does', async () => {
    const mid = await bytesOf('small', 'bytes=100-199');
    assert.equal(mid.got.ContentRange, `bytes 100-199/${small.length}`);
    assert.ok(mid.body.equals(small.subarray(100, 200)));
    const suffix = await bytesOf('small', 'bytes=-10');
    assert.ok(suffix.body.equals(small.subarray(small.length - 10)));
    const open = await bytesOf('small', `bytes=${small.length - 1}-`);
    assert.ok(open.body.equals(small.subarray(small.length - 1)));
    await expectS3Error(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'small', Range: `bytes=${small.length}-` })),
      'InvalidRange',
      416,
    );
  });

  it('copies a small object (CopyObject and UploadPartCopy with a range)', async () => {
    const copy = await s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: 'small-copy', CopySource: `${bucket}/small` }),
    );
    assert.equal(copy.CopyObjectResult?.ETag, md5(small));
    assert.ok((await bytesOf('small-copy')).body.equals(small));

    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'assembled' }));
    const first = randomBytes(5 * 1024 * 1024);
    const p1 = await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: 'assembled',
        UploadId: upload.UploadId,
        PartNumber: 1,
        Body: first,
      }),
    );
    const p2 = await s3.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: 'assembled',
        UploadId: upload.UploadId,
        PartNumber: 2,
        CopySource: `${bucket}/small`,
        CopySourceRange: 'bytes=10-4009',
      }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'assembled',
        UploadId: upload.UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.CopyPartResult?.ETag },
          ],
        },
      }),
    );
    assert.ok((await bytesOf('assembled')).body.equals(Buffer.concat([first, small.subarray(10, 4010)])));
  });

  it('lists small objects with their sizes and ETags', async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'small' }));
    assert.deepEqual(
      listed.Contents?.map((o) => [o.Key, o.Size, o.ETag]),
      [
        ['small', small.length, md5(small)],
        ['small-copy', small.length, md5(small)],
      ],
    );
  });

  it('overwrites in both directions, freeing the blob file of a large object it replaces', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'flip', Body: large }));
    const withLarge = await countBlobFiles(server.dataDir);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'flip', Body: small }));
    assert.equal(await countBlobFiles(server.dataDir), withLarge - 1);
    assert.ok((await bytesOf('flip')).body.equals(small));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'flip', Body: large }));
    assert.equal(await countBlobFiles(server.dataDir), withLarge);
    assert.ok((await bytesOf('flip')).body.equals(large));
  });

  it('refuses a small body that fails its Content-MD5 or its checksum, storing nothing', async () => {
    const files = await countBlobFiles(server.dataDir);
    await expectS3Error(
      s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'bad-md5',
          Body: small,
          ContentMD5: createHash('md5').update('other').digest('base64'),
        }),
      ),
      'BadDigest',
      400,
    );
    await expectS3Error(
      s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: 'bad-crc', Body: small, ChecksumCRC32: 'AAAAAA==' }),
      ),
      'BadDigest',
      400,
    );
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad-md5' })), 'NotFound', 404);
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'bad-crc' })), 'NotFound', 404);
    assert.equal(await countBlobFiles(server.dataDir), files);
  });

  it('deletes a small object', async () => {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'small-copy' }));
    await expectS3Error(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'small-copy' })),
      'NoSuchKey',
      404,
    );
  });

  it('keeps small objects across a restart and a crash', async () => {
    const durable = randomBytes(1000);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'durable', Body: durable }));
    await server.kill();
    server = await startServer({ dataDir: storage.dataDir, databaseUrl: storage.databaseUrl });
    s3 = server.client();
    assert.ok((await bytesOf('durable')).body.equals(durable));
    assert.ok((await bytesOf('small')).body.equals(small));
  });
});
