import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { AWS_MULTIPART_CHUNK_BYTES, awsCliFor, type AwsCli } from './support/cli-aws.ts';
import { startServer, type TestServer } from './support/test-server.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const md5 = (data: Buffer) => createHash('md5').update(data).digest();
const fileSha256 = async (file: string) => sha256(await readFile(file));

/** The S3 multipart ETag of `data` cut into `partSize` parts: md5 of the parts' md5s, dash, count. */
function multipartEtag(data: Buffer, partSize: number): string {
  const digests: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += partSize) {
    digests.push(md5(data.subarray(offset, offset + partSize)));
  }
  return `"${md5(Buffer.concat(digests)).toString('hex')}-${digests.length}"`;
}

/** Keys and sizes from `aws s3 ls --recursive` lines: `2024-01-02 03:04:05       1234 some/key`. */
function listedObjects(stdout: string): Map<string, number> {
  const objects = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    const match = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+(\d+) (.+)$/.exec(line);
    if (match !== null) objects.set(match[2]!, Number(match[1]));
  }
  return objects;
}

/** Bucket names from `aws s3 ls` lines: `2024-01-02 03:04:05 bucket`. */
function listedBuckets(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((line) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\S+)$/.exec(line)?.[1])
    .filter((name) => name !== undefined);
}

/** The object URLs of `upload: <file> to s3://...` lines, sorted. */
function uploadedTo(stdout: string): string[] {
  return [...stdout.matchAll(/^upload: .+ to (s3:\/\/\S+)\s*$/gm)].map((m) => m[1]!).sort();
}

/** Makes a file and dates it an hour back, so that `sync` sees every upload as newer than it. */
async function writeOldFile(file: string, data: string | Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, data);
  const hourAgo = new Date(Date.now() - 3_600_000);
  await utimes(file, hourAgo, hourAgo);
}

const HeadObject = z.object({
  ETag: z.string(),
  ContentLength: z.number(),
  ContentType: z.string().optional(),
  Metadata: z.record(z.string(), z.string()).optional(),
});
const ListObjectsV2 = z.object({
  Contents: z.array(z.object({ Key: z.string(), Size: z.number(), ETag: z.string() })).optional(),
  CommonPrefixes: z.array(z.object({ Prefix: z.string() })).optional(),
});
const Etag = z.object({ ETag: z.string() });

describe('aws CLI v2 (/usr/bin/aws)', () => {
  let server: TestServer;
  let dir: string;
  let aws: AwsCli;
  before(async () => {
    server = await startServer();
    dir = await mkdtemp(path.join(tmpdir(), 'bucketbell-aws-'));
    aws = await awsCliFor(server.s3Url, dir);
  });
  after(async () => {
    await server.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a bucket, copies files up and down, lists, removes, and removes the bucket', async () => {
    assert.match(await aws.ok(['s3', 'mb', 's3://cli-basic']), /make_bucket: cli-basic/);
    assert.ok(listedBuckets(await aws.ok(['s3', 'ls'])).includes('cli-basic'));

    const data = randomBytes(300_000);
    await writeFile(path.join(dir, 'hello.bin'), data);
    await writeFile(path.join(dir, 'name with spaces.txt'), 'spaces and ünïcødé');
    await aws.ok(['s3', 'cp', 'hello.bin', 's3://cli-basic/dir/hello.bin'], dir);
    await aws.ok(['s3', 'cp', 'name with spaces.txt', 's3://cli-basic/'], dir);

    const listed = listedObjects(await aws.ok(['s3', 'ls', '--recursive', 's3://cli-basic/']));
    assert.deepEqual(
      listed,
      new Map([
        ['dir/hello.bin', data.length],
        ['name with spaces.txt', Buffer.byteLength('spaces and ünïcødé')],
      ]),
    );
    const topLevel = await aws.ok(['s3', 'ls', 's3://cli-basic/']);
    assert.match(topLevel, /^\s+PRE dir\/$/m);
    assert.match(topLevel, / name with spaces\.txt$/m);

    await aws.ok(['s3', 'cp', 's3://cli-basic/dir/hello.bin', 'down.bin'], dir);
    assert.equal(await fileSha256(path.join(dir, 'down.bin')), sha256(data));
    await aws.ok(['s3', 'cp', 's3://cli-basic/name with spaces.txt', 'down.txt'], dir);
    assert.equal(await readFile(path.join(dir, 'down.txt'), 'utf8'), 'spaces and ünïcødé');

    assert.match(
      await aws.ok(['s3', 'rm', 's3://cli-basic/dir/hello.bin']),
      /delete: s3:\/\/cli-basic\/dir\/hello\.bin/,
    );
    assert.deepEqual(
      [...listedObjects(await aws.ok(['s3', 'ls', '--recursive', 's3://cli-basic/'])).keys()],
      ['name with spaces.txt'],
    );

    // A bucket that still holds an object is not removed, and the CLI says why.
    const refused = await aws.run(['s3', 'rb', 's3://cli-basic']);
    assert.notEqual(refused.code, 0, 'rb of a non-empty bucket must fail');
    assert.match(refused.stderr, /BucketNotEmpty/);

    assert.match(
      await aws.ok(['s3', 'rm', '--recursive', 's3://cli-basic/']),
      /delete: s3:\/\/cli-basic\/name with spaces\.txt/,
    );
    assert.match(await aws.ok(['s3', 'rb', 's3://cli-basic']), /remove_bucket: cli-basic/);
    assert.ok(!listedBuckets(await aws.ok(['s3', 'ls'])).includes('cli-basic'));
  });

  it('syncs a folder, uploading only changed files on a second run, and deletes with --delete', async () => {
    const src = path.join(dir, 'sync-src');
    await writeOldFile(path.join(src, 'a.txt'), 'alpha');
    await writeOldFile(path.join(src, 'b.txt'), 'bravo');
    await writeOldFile(path.join(src, 'sub', 'c.bin'), randomBytes(70_000));
    await aws.ok(['s3', 'mb', 's3://cli-sync']);

    const first = await aws.ok(['s3', 'sync', src, 's3://cli-sync/']);
    assert.deepEqual(uploadedTo(first), [
      's3://cli-sync/a.txt',
      's3://cli-sync/b.txt',
      's3://cli-sync/sub/c.bin',
    ]);
    assert.deepEqual(
      [...listedObjects(await aws.ok(['s3', 'ls', '--recursive', 's3://cli-sync/'])).keys()].sort(),
      ['a.txt', 'b.txt', 'sub/c.bin'],
    );

    await writeFile(path.join(src, 'b.txt'), 'bravo, changed');
    await writeFile(path.join(src, 'sub', 'd.txt'), 'delta');
    const second = await aws.ok(['s3', 'sync', src, 's3://cli-sync/']);
    assert.deepEqual(uploadedTo(second), ['s3://cli-sync/b.txt', 's3://cli-sync/sub/d.txt']);
    assert.deepEqual(uploadedTo(await aws.ok(['s3', 'sync', src, 's3://cli-sync/'])), []);

    await rm(path.join(src, 'a.txt'));
    const third = await aws.ok(['s3', 'sync', '--delete', src, 's3://cli-sync/']);
    assert.match(third, /^delete: s3:\/\/cli-sync\/a\.txt$/m);
    assert.deepEqual(uploadedTo(third), []);

    const back = path.join(dir, 'sync-back');
    await aws.ok(['s3', 'sync', 's3://cli-sync/', back]);
    for (const name of ['b.txt', 'sub/c.bin', 'sub/d.txt']) {
      assert.equal(await fileSha256(path.join(back, name)), await fileSha256(path.join(src, name)), name);
    }
    await assert.rejects(readFile(path.join(back, 'a.txt')), { code: 'ENOENT' });
  });

  it('uploads a 50 MiB file as a multipart object and downloads the same bytes', async () => {
    const data = randomBytes(50 * 1024 * 1024);
    const file = path.join(dir, 'big.bin');
    await writeFile(file, data);
    await aws.ok(['s3', 'mb', 's3://cli-big']);
    await aws.ok(['s3', 'cp', file, 's3://cli-big/big.bin']);

    const head = await aws.json(
      ['s3api', 'head-object', '--bucket', 'cli-big', '--key', 'big.bin'],
      HeadObject,
    );
    const parts = Math.ceil(data.length / AWS_MULTIPART_CHUNK_BYTES);
    assert.match(head.ETag, new RegExp(`^"[0-9a-f]{32}-${parts}"$`));
    assert.equal(head.ETag, multipartEtag(data, AWS_MULTIPART_CHUNK_BYTES));
    assert.equal(head.ContentLength, data.length);
    const uploads = await aws.json(
      ['s3api', 'list-multipart-uploads', '--bucket', 'cli-big'],
      z.object({ Uploads: z.array(z.unknown()).optional() }),
    );
    assert.equal(uploads.Uploads?.length ?? 0, 0, 'no upload is left unfinished');

    await aws.ok(['s3', 'cp', 's3://cli-big/big.bin', path.join(dir, 'big.down')]);
    assert.equal(await fileSha256(path.join(dir, 'big.down')), sha256(data));
    await rm(file);
    await rm(path.join(dir, 'big.down'));
  });

  it('runs s3api put-object, head-object, get-object, copy-object, list-objects-v2 and delete-objects', async () => {
    await aws.ok(['s3api', 'create-bucket', '--bucket', 'cli-api']);
    const data = randomBytes(40_000);
    await writeFile(path.join(dir, 'api.bin'), data);
    const put = await aws.json(
      [
        's3api',
        'put-object',
        '--bucket',
        'cli-api',
        '--key',
        'docs/one.bin',
        '--body',
        path.join(dir, 'api.bin'),
        '--content-type',
        'application/x-test',
        '--metadata',
        'colour=blue',
      ],
      Etag,
    );
    assert.equal(put.ETag, `"${md5(data).toString('hex')}"`);

    const head = await aws.json(
      ['s3api', 'head-object', '--bucket', 'cli-api', '--key', 'docs/one.bin'],
      HeadObject,
    );
    assert.equal(head.ContentLength, data.length);
    assert.equal(head.ContentType, 'application/x-test');
    assert.deepEqual(head.Metadata, { colour: 'blue' });

    const got = await aws.json(
      ['s3api', 'get-object', '--bucket', 'cli-api', '--key', 'docs/one.bin', path.join(dir, 'api.down')],
      Etag,
    );
    assert.equal(got.ETag, put.ETag);
    assert.equal(await fileSha256(path.join(dir, 'api.down')), sha256(data));
    const ranged = await aws.json(
      [
        's3api',
        'get-object',
        '--bucket',
        'cli-api',
        '--key',
        'docs/one.bin',
        '--range',
        'bytes=100-199',
        path.join(dir, 'api.range'),
      ],
      z.object({ ContentRange: z.string() }),
    );
    assert.equal(ranged.ContentRange, `bytes 100-199/${data.length}`);
    assert.deepEqual(await readFile(path.join(dir, 'api.range')), data.subarray(100, 200));

    const copied = await aws.json(
      [
        's3api',
        'copy-object',
        '--bucket',
        'cli-api',
        '--key',
        'docs/two.bin',
        '--copy-source',
        'cli-api/docs/one.bin',
      ],
      z.object({ CopyObjectResult: Etag }),
    );
    assert.equal(copied.CopyObjectResult.ETag, put.ETag);
    await aws.ok([
      's3api',
      'put-object',
      '--bucket',
      'cli-api',
      '--key',
      'top.txt',
      '--body',
      path.join(dir, 'api.range'),
    ]);

    const all = await aws.json(['s3api', 'list-objects-v2', '--bucket', 'cli-api'], ListObjectsV2);
    assert.deepEqual(
      all.Contents?.map((c) => [c.Key, c.Size]),
      [
        ['docs/one.bin', data.length],
        ['docs/two.bin', data.length],
        ['top.txt', 100],
      ],
    );
    const delimited = await aws.json(
      ['s3api', 'list-objects-v2', '--bucket', 'cli-api', '--delimiter', '/'],
      ListObjectsV2,
    );
    assert.deepEqual(
      delimited.CommonPrefixes?.map((p) => p.Prefix),
      ['docs/'],
    );
    assert.deepEqual(
      delimited.Contents?.map((c) => c.Key),
      ['top.txt'],
    );

    const deleted = await aws.json(
      [
        's3api',
        'delete-objects',
        '--bucket',
        'cli-api',
        '--delete',
        JSON.stringify({
          Objects: [{ Key: 'docs/one.bin' }, { Key: 'docs/two.bin' }, { Key: 'never-existed' }],
        }),
      ],
      z.object({ Deleted: z.array(z.object({ Key: z.string() })), Errors: z.array(z.unknown()).optional() }),
    );
    assert.deepEqual(deleted.Deleted.map((d) => d.Key).sort(), [
      'docs/one.bin',
      'docs/two.bin',
      'never-existed',
    ]);
    assert.equal(deleted.Errors?.length ?? 0, 0);
    const left = await aws.json(['s3api', 'list-objects-v2', '--bucket', 'cli-api'], ListObjectsV2);
    assert.deepEqual(
      left.Contents?.map((c) => c.Key),
      ['top.txt'],
    );

    const missing = await aws.run([
      's3api',
      'get-object',
      '--bucket',
      'cli-api',
      '--key',
      'nope',
      path.join(dir, 'nope'),
    ]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /NoSuchKey/);
    const versioning = await aws.run([
      's3api',
      'put-bucket-versioning',
      '--bucket',
      'cli-api',
      '--versioning-configuration',
      'Status=Enabled',
    ]);
    assert.notEqual(versioning.code, 0);
    assert.match(versioning.stderr, /NotImplemented/);
  });

  it('runs a multipart upload step by step with s3api, and aborts another', async () => {
    await aws.ok(['s3api', 'create-bucket', '--bucket', 'cli-mpu']);
    const part1 = randomBytes(5 * 1024 * 1024);
    const part2 = randomBytes(1234);
    await writeFile(path.join(dir, 'part1'), part1);
    await writeFile(path.join(dir, 'part2'), part2);
    // `--upload-id=ID`, not `--upload-id ID`: an id that starts with '-' would read as an option.
    const { UploadId: uploadId } = await aws.json(
      ['s3api', 'create-multipart-upload', '--bucket', 'cli-mpu', '--key', 'joined.bin'],
      z.object({ UploadId: z.string() }),
    );
    const etags: string[] = [];
    for (const [i, name] of ['part1', 'part2'].entries()) {
      const part = await aws.json(
        [
          's3api',
          'upload-part',
          '--bucket',
          'cli-mpu',
          '--key',
          'joined.bin',
          `--upload-id=${uploadId}`,
          '--part-number',
          String(i + 1),
          '--body',
          path.join(dir, name),
        ],
        Etag,
      );
      etags.push(part.ETag);
    }
    assert.deepEqual(etags, [`"${md5(part1).toString('hex')}"`, `"${md5(part2).toString('hex')}"`]);
    const listed = await aws.json(
      ['s3api', 'list-parts', '--bucket', 'cli-mpu', '--key', 'joined.bin', `--upload-id=${uploadId}`],
      z.object({ Parts: z.array(z.object({ PartNumber: z.number(), Size: z.number(), ETag: z.string() })) }),
    );
    assert.deepEqual(
      listed.Parts.map((p) => [p.PartNumber, p.Size, p.ETag]),
      [
        [1, part1.length, etags[0]],
        [2, part2.length, etags[1]],
      ],
    );
    const completed = await aws.json(
      [
        's3api',
        'complete-multipart-upload',
        '--bucket',
        'cli-mpu',
        '--key',
        'joined.bin',
        `--upload-id=${uploadId}`,
        '--multipart-upload',
        JSON.stringify({ Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) }),
      ],
      Etag,
    );
    const whole = Buffer.concat([part1, part2]);
    assert.equal(completed.ETag, multipartEtag(whole, part1.length));
    await aws.ok([
      's3api',
      'get-object',
      '--bucket',
      'cli-mpu',
      '--key',
      'joined.bin',
      path.join(dir, 'joined'),
    ]);
    assert.equal(await fileSha256(path.join(dir, 'joined')), sha256(whole));

    const other = await aws.json(
      ['s3api', 'create-multipart-upload', '--bucket', 'cli-mpu', '--key', 'abandoned'],
      z.object({ UploadId: z.string() }),
    );
    const open = await aws.json(
      ['s3api', 'list-multipart-uploads', '--bucket', 'cli-mpu'],
      z.object({ Uploads: z.array(z.object({ Key: z.string(), UploadId: z.string() })) }),
    );
    assert.deepEqual(
      open.Uploads.map((u) => [u.Key, u.UploadId]),
      [['abandoned', other.UploadId]],
    );
    await aws.ok([
      's3api',
      'abort-multipart-upload',
      '--bucket',
      'cli-mpu',
      '--key',
      'abandoned',
      `--upload-id=${other.UploadId}`,
    ]);
    const none = await aws.json(
      ['s3api', 'list-multipart-uploads', '--bucket', 'cli-mpu'],
      z.object({ Uploads: z.array(z.unknown()).optional() }),
    );
    assert.equal(none.Uploads?.length ?? 0, 0);
  });
});
