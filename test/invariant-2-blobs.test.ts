// DESIGN invariant 2: bytes before metadata. A blob is durable before the row that points at it
// commits; orphaned blobs are swept, never served. Here: orphan files found at start are removed
// (on PostgreSQL only once older than the 1 h grace, since another instance may be mid-upload), and an
// upload the client abandons mid-body leaves no object and no file, and does not disturb the object
// it would have replaced. (crash-safety.test.ts kills the server mid-upload and counts blob files.)
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, stat, utimes, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { blobFiles } from './support/blob-files.ts';
import { expectS3Error } from './support/s3-errors.ts';
import { TEST_DB } from './support/test-database.ts';
import {
  persistentStorage,
  startServer,
  type PersistentStorage,
  type TestServer,
} from './support/test-server.ts';
import { until } from './support/until.ts';

const BUCKET = 'blobs';
const HOUR = 3600_000;

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * Writes a blob file no row points at, as a crash between the blob write and the commit leaves one,
 * in the same fan-out layout as `example` (a real blob's path under blobs/, e.g. `ab/cd/abcd…`).
 */
async function plantOrphan(dataDir: string, example: string, ageMs: number): Promise<string> {
  const id = `abcd${randomBytes(14).toString('hex')}`;
  const levels = example.split(path.sep).length - 1;
  const dirs = Array.from({ length: levels }, (_, i) => id.slice(2 * i, 2 * i + 2));
  const file = path.join(dataDir, 'blobs', ...dirs, id);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, 'orphaned bytes');
  const then = new Date(Date.now() - ageMs);
  await utimes(file, then, then);
  return file;
}

async function sha256Of(s3: S3Client, key: string): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return createHash('sha256')
    .update(await got.Body!.transformToByteArray())
    .digest('hex');
}

/**
 * PUTs to a presigned URL with the full Content-Length, sends only `sent` bytes, waits until the
 * server has started a new blob file, then destroys the socket: a client that gave up mid-body.
 */
async function abandonUpload(
  url: string,
  size: number,
  sent: number,
  newFileAppeared: () => Promise<boolean>,
) {
  const target = new URL(url);
  const req = request({
    method: 'PUT',
    host: target.hostname,
    port: target.port,
    path: `${target.pathname}${target.search}`,
    headers: { 'content-length': String(size) },
  });
  req.on('error', () => undefined);
  const answered = new Promise<number>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('close', () => {
      resolve(0);
    });
  });
  req.write(randomBytes(sent));
  await until('the server to start writing the blob', newFileAppeared);
  req.destroy();
  assert.equal(await answered, 0, 'the server did not answer an upload it never fully received');
}

describe('invariant 2: bytes before metadata; orphaned blobs are swept, never served', () => {
  let storage: PersistentStorage;
  let server: TestServer | undefined;
  let s3: S3Client;
  const kept = randomBytes(100_000);

  before(async () => {
    storage = await persistentStorage();
    server = await startServer({ dataDir: storage.dataDir, databaseUrl: storage.databaseUrl });
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kept', Body: kept }));
  });
  after(async () => {
    await server?.kill();
    await storage.remove();
  });

  it('removes orphan blob files found at start and keeps every referenced one', async () => {
    const referenced = await blobFiles(storage.dataDir);
    assert.equal(referenced.length, 1);
    await server!.stop();
    const old = await plantOrphan(storage.dataDir, referenced[0]!, 2 * HOUR);
    const fresh = await plantOrphan(storage.dataDir, referenced[0]!, 0);
    await new Promise((resolve) => setTimeout(resolve, 5)); // strictly older than the sweep's "now"
    server = await startServer({ dataDir: storage.dataDir, databaseUrl: storage.databaseUrl });
    s3 = server.client();

    assert.equal(await exists(old), false, 'an orphan older than any grace is removed at start');
    if (TEST_DB === 'sqlite') {
      // One process owns an SQLite file, so nothing can be mid-upload at start: no grace.
      assert.equal(await exists(fresh), false, 'on SQLite every orphan is removed at start');
      assert.deepEqual(await blobFiles(storage.dataDir), referenced);
    } else {
      // Another instance may be writing a blob whose row has not committed yet: 1 h grace.
      assert.equal(await exists(fresh), true, 'on PostgreSQL a young orphan waits out the grace');
      assert.deepEqual(
        await blobFiles(storage.dataDir),
        [...referenced, path.relative(path.join(storage.dataDir, 'blobs'), fresh)].sort(),
      );
    }
    assert.ok(server.output().includes('removed orphaned blobs'), 'the sweep says what it removed');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    assert.deepEqual(
      listed.Contents?.map((o) => o.Key),
      ['kept'],
    );
    assert.equal(await sha256Of(s3, 'kept'), createHash('sha256').update(kept).digest('hex'));
  });

  it('an abandoned PUT over an existing key leaves no stray file, no new object, and the old bytes served', async () => {
    const before = await blobFiles(storage.dataDir);
    const grew = async () => (await blobFiles(storage.dataDir)).length > before.length;
    for (const key of ['kept', 'never-finished']) {
      const size = 4 * 1024 * 1024;
      const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: key }), {
        expiresIn: 60,
      });
      await abandonUpload(url, size, size / 2, grew);
      await until('the half-written blob to be removed', async () => {
        const now = await blobFiles(storage.dataDir);
        return now.length === before.length;
      });
      assert.deepEqual(await blobFiles(storage.dataDir), before, `${key}: exactly the files from before`);
    }
    await expectS3Error(
      s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'never-finished' })),
      'NotFound',
      404,
    );
    assert.equal(await sha256Of(s3, 'kept'), createHash('sha256').update(kept).digest('hex'));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    assert.deepEqual(
      listed.Contents?.map((o) => o.Key),
      ['kept'],
    );
  });

  it('an abandoned UploadPart leaves no part and no stray file, and the upload still completes its other parts', async () => {
    const before = await blobFiles(storage.dataDir);
    const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp' }));
    const uploadId = created.UploadId!;
    await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: 'mp', UploadId: uploadId, PartNumber: 1, Body: 'first' }),
    );
    const withPart = await blobFiles(storage.dataDir);
    assert.equal(withPart.length, before.length + 1);
    const url = await getSignedUrl(
      s3,
      new UploadPartCommand({ Bucket: BUCKET, Key: 'mp', UploadId: uploadId, PartNumber: 2 }),
      { expiresIn: 60 },
    );
    const size = 6 * 1024 * 1024;
    await abandonUpload(
      url,
      size,
      size / 3,
      async () => (await blobFiles(storage.dataDir)).length > withPart.length,
    );
    await until(
      'the half-written part to be removed',
      async () => (await blobFiles(storage.dataDir)).length === withPart.length,
    );
    assert.deepEqual(await blobFiles(storage.dataDir), withPart);
    const parts = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'mp', UploadId: uploadId }));
    assert.deepEqual(
      parts.Parts?.map((p) => p.PartNumber),
      [1],
    );
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: 'mp', UploadId: uploadId }));
    assert.deepEqual(await blobFiles(storage.dataDir), before, 'aborting frees the part blob at once');
  });
});
