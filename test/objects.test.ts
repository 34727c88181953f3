import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startServer, type TestServer } from './support/test-server.ts';
import { expectS3Error } from './support/s3-errors.ts';
import { countBlobFiles } from './support/blob-files.ts';
import { INLINE_MAX_BYTES } from '../src/mutations/object-bytes.ts';

describe('objects', () => {
  let server: TestServer;
  let s3: S3Client;
  const bucket = 'objects';
  before(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(() => server.cleanup());

  it('stores and returns bytes, ETag, metadata and the standard headers', async () => {
    const body = randomBytes(100_000);
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'dir/file.bin',
        Body: body,
        ContentType: 'application/x-test',
        ContentEncoding: 'identity',
        ContentDisposition: 'attachment; filename="file.bin"',
        ContentLanguage: 'fr',
        CacheControl: 'max-age=60',
        Expires: new Date('2030-01-01T00:00:00Z'),
        Metadata: { colour: 'blue', 'two-words': 'hello world' },
      }),
    );
    const md5 = createHash('md5').update(body).digest('hex');
    assert.equal(put.ETag, `"${md5}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'dir/file.bin' }));
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);
    assert.equal(got.ETag, `"${md5}"`);
    assert.equal(got.ContentLength, body.length);
    assert.equal(got.ContentType, 'application/x-test');
    assert.equal(got.ContentEncoding, 'identity');
    assert.equal(got.ContentDisposition, 'attachment; filename="file.bin"');
    assert.equal(got.ContentLanguage, 'fr');
    assert.equal(got.CacheControl, 'max-age=60');
    assert.equal(got.ExpiresString, 'Tue, 01 Jan 2030 00:00:00 GMT');
    assert.deepEqual(got.Metadata, { colour: 'blue', 'two-words': 'hello world' });
    assert.ok(got.LastModified instanceof Date);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dir/file.bin' }));
    assert.equal(head.ContentLength, body.length);
    assert.equal(head.ETag, `"${md5}"`);
    assert.deepEqual(head.Metadata, { colour: 'blue', 'two-words': 'hello world' });
  });

  it('stores an empty object', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'empty', Body: '' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'empty' }));
    assert.equal(got.ContentLength, 0);
    assert.equal((await got.Body!.transformToByteArray()).length, 0);
    assert.equal(got.ETag, '"d41d8cd98f00b204e9800998ecf8427e"');
  });

  it('treats keys as opaque names, never as paths', async () => {
    const keys = [
      '../../etc/passwd',
      'a b+c',
      'ünïcødé/日本語.txt',
      'a//b',
      'trailing/',
      'quote\'"<&>',
      '~tilde!*()',
      '%2F encoded',
    ];
    for (const key of keys) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `content of ${key}` }));
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(await got.Body!.transformToString(), `content of ${key}`);
    }
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const key of keys)
      assert.ok(
        listed.Contents?.some((c) => c.Key === key),
        `listed ${key}`,
      );
    await assert.rejects(readdir('/etc/passwd/..'), () => true);
  });

  it('serves byte ranges, including suffix and open-ended ranges', async () => {
    const body = Buffer.from('0123456789abcdefghij');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'range', Body: body }));
    const cases: [string, string, string][] = [
      ['bytes=0-4', '01234', 'bytes 0-4/20'],
      ['bytes=5-', '56789abcdefghij', 'bytes 5-19/20'],
      ['bytes=-3', 'hij', 'bytes 17-19/20'],
      ['bytes=15-100', 'fghij', 'bytes 15-19/20'],
      ['bytes=-100', '0123456789abcdefghij', 'bytes 0-19/20'],
    ];
    for (const [range, expected, contentRange] of cases) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'range', Range: range }));
      assert.equal(got.$metadata.httpStatusCode, 206, range);
      assert.equal(got.ContentRange, contentRange, range);
      assert.equal(await got.Body!.transformToString(), expected, range);
    }
    await expectS3Error(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'range', Range: 'bytes=20-' })),
      'InvalidRange',
      416,
    );
  });

  it('honours If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond', Body: 'conditional' }));
    const etag = put.ETag!;
    const past = new Date(Date.now() - 3_600_000);
    const future = new Date(Date.now() + 3_600_000);
    const ok = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfMatch: etag }));
    assert.equal(await ok.Body!.transformToString(), 'conditional');
    await expectS3Error(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfMatch: '"nope"' })),
      'PreconditionFailed',
      412,
    );
    await expectS3Error(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfUnmodifiedSince: past })),
      'PreconditionFailed',
      412,
    );
    await assert.rejects(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfNoneMatch: etag })),
      (err: unknown) => {
        assert.ok(err instanceof S3ServiceException);
        assert.equal(err.$metadata.httpStatusCode, 304);
        return true;
      },
    );
    await assert.rejects(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfModifiedSince: future })),
      (err: unknown) => {
        assert.ok(err instanceof S3ServiceException);
        assert.equal(err.$metadata.httpStatusCode, 304);
        return true;
      },
    );
    const modified = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'cond', IfModifiedSince: past, IfUnmodifiedSince: future }),
    );
    assert.equal(await modified.Body!.transformToString(), 'conditional');
  });

  it('applies response-* overrides', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'override', Body: 'x', ContentType: 'text/plain' }),
    );
    const got = await s3.send(
      new GetObjectCommand({
        Bucket: bucket,
        Key: 'override',
        ResponseContentType: 'application/json',
        ResponseContentDisposition: 'inline',
        ResponseCacheControl: 'no-cache',
        ResponseContentLanguage: 'de',
        ResponseContentEncoding: 'identity',
        ResponseExpires: new Date('2031-01-01T00:00:00Z'),
      }),
    );
    assert.equal(got.ContentType, 'application/json');
    assert.equal(got.ContentDisposition, 'inline');
    assert.equal(got.CacheControl, 'no-cache');
    assert.equal(got.ContentLanguage, 'de');
    assert.equal(got.ContentEncoding, 'identity');
    assert.equal(got.ExpiresString, 'Wed, 01 Jan 2031 00:00:00 GMT');
  });

  it('answers NoSuchKey for a missing key on GET and 404 on HEAD', async () => {
    await expectS3Error(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'no/such/key' })),
      'NoSuchKey',
      404,
    );
    await assert.rejects(
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'no/such/key' })),
      (err: unknown) => {
        assert.ok(err instanceof S3ServiceException);
        assert.equal(err.$metadata.httpStatusCode, 404);
        return true;
      },
    );
    await expectS3Error(
      s3.send(new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'k' })),
      'NoSuchBucket',
      404,
    );
    await expectS3Error(
      s3.send(new PutObjectCommand({ Bucket: 'no-such-bucket', Key: 'k', Body: 'x' })),
      'NoSuchBucket',
      404,
    );
  });

  it('gives every response its own request id, 16 upper-case hex digits, past any batch of ids', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 1100; i += 1) {
      // Unsigned: refused (AccessDenied), which still carries the request id in header and body.
      const res = await fetch(`${server.s3Url}/${bucket}/k`);
      await res.arrayBuffer();
      const id = res.headers.get('x-amz-request-id') ?? '';
      assert.match(id, /^[0-9A-F]{16}$/);
      ids.add(id);
    }
    assert.equal(ids.size, 1100);
  });

  // Larger than INLINE_MAX_BYTES, so that these objects live in blob files (small ones: inline-objects).
  const big = (fill: string) => Buffer.alloc(INLINE_MAX_BYTES + 1, fill);

  it('overwrites an object and frees the old bytes', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'over', Body: big('1') }));
    const before = await countBlobFiles(server.dataDir);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'over', Body: big('2') }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'over' }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(big('2')));
    assert.equal(await countBlobFiles(server.dataDir), before);
  });

  it('deletes one object (a missing key is not an error) and frees its bytes', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'gone', Body: big('b') }));
    const before = await countBlobFiles(server.dataDir);
    const del = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'gone' }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    await expectS3Error(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'gone' })), 'NoSuchKey', 404);
    assert.equal(await countBlobFiles(server.dataDir), before - 1);
    const again = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'gone' }));
    assert.equal(again.$metadata.httpStatusCode, 204);
  });

  it('deletes many objects, verbose and quiet', async () => {
    for (const key of ['m/1', 'm/2', 'm/3'])
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
    const verbose = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: [{ Key: 'm/1' }, { Key: 'm/2' }, { Key: 'm/missing' }] },
      }),
    );
    assert.deepEqual(verbose.Deleted?.map((d) => d.Key).sort(), ['m/1', 'm/2', 'm/missing']);
    assert.equal(verbose.Errors, undefined);
    const quiet = await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Quiet: true, Objects: [{ Key: 'm/3' }] } }),
    );
    assert.equal(quiet.Deleted, undefined);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'm/' }));
    assert.equal(listed.KeyCount, 0);
  });

  it('copies objects with COPY and REPLACE metadata directives', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'src',
        Body: 'copy me',
        ContentType: 'text/plain',
        Metadata: { a: '1' },
      }),
    );
    const copied = await s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: 'dst', CopySource: `${bucket}/src` }),
    );
    assert.equal(copied.CopyObjectResult?.ETag, `"${createHash('md5').update('copy me').digest('hex')}"`);
    const dst = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'dst' }));
    assert.equal(await dst.Body!.transformToString(), 'copy me');
    assert.equal(dst.ContentType, 'text/plain');
    assert.deepEqual(dst.Metadata, { a: '1' });
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'dst2',
        CopySource: `${bucket}/src`,
        MetadataDirective: 'REPLACE',
        ContentType: 'text/csv',
        Metadata: { b: '2' },
      }),
    );
    const dst2 = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'dst2' }));
    assert.equal(dst2.ContentType, 'text/csv');
    assert.deepEqual(dst2.Metadata, { b: '2' });
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'src',
        CopySource: `${bucket}/src`,
        MetadataDirective: 'REPLACE',
        Metadata: { c: '3' },
      }),
    );
    assert.deepEqual((await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'src' }))).Metadata, {
      c: '3',
    });
  });

  it('copies keys that need URL-encoding in x-amz-copy-source', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sp ace/ü+x', Body: 'special' }));
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'copied',
        CopySource: `${bucket}/${encodeURIComponent('sp ace/ü+x')}`,
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'copied' }));
    assert.equal(await got.Body!.transformToString(), 'special');
  });

  it('refuses a copy onto itself without changes, and failed copy preconditions, changing nothing', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'self', Body: 'self' }));
    await expectS3Error(
      s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'self', CopySource: `${bucket}/self` })),
      'InvalidRequest',
      400,
    );
    await expectS3Error(
      s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: 'cond-dst',
          CopySource: `${bucket}/self`,
          CopySourceIfMatch: '"wrong"',
        }),
      ),
      'PreconditionFailed',
      412,
    );
    await expectS3Error(
      s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: 'cond-dst',
          CopySource: `${bucket}/self`,
          CopySourceIfNoneMatch: `"${createHash('md5').update('self').digest('hex')}"`,
        }),
      ),
      'PreconditionFailed',
      412,
    );
    await expectS3Error(
      s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: 'cond-dst',
          CopySource: `${bucket}/self`,
          CopySourceIfModifiedSince: new Date(Date.now() + 3_600_000),
        }),
      ),
      'PreconditionFailed',
      412,
    );
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'cond-dst' })), 'NotFound', 404);
    const ok = await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'cond-dst',
        CopySource: `${bucket}/self`,
        CopySourceIfUnmodifiedSince: new Date(Date.now() + 3_600_000),
      }),
    );
    assert.ok(ok.CopyObjectResult?.ETag);
    await expectS3Error(
      s3.send(new CopyObjectCommand({ Bucket: bucket, Key: 'x', CopySource: `${bucket}/does-not-exist` })),
      'NoSuchKey',
      404,
    );
  });

  it('answers InvalidArgument for any version id but null (versioning is not implemented), changing nothing', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'versioned', Body: 'only version' }));
    const bad = await expectS3Error(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'versioned', VersionId: 'abc' })),
      'InvalidArgument',
      400,
    );
    assert.match(bad.message, /Invalid version id specified/);
    await assert.rejects(
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'versioned', VersionId: 'abc' })),
      (err: unknown) => err instanceof S3ServiceException && err.$metadata.httpStatusCode === 400,
    );
    await expectS3Error(
      s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'versioned', VersionId: 'abc' })),
      'InvalidArgument',
      400,
    );
    // `null` is the version of every object in an unversioned bucket: it names the current object.
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'versioned', VersionId: 'null' }));
    assert.equal(await got.Body!.transformToString(), 'only version');
    assert.equal(got.VersionId, 'null');
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: bucket, Key: 'versioned', VersionId: 'null' }),
    );
    assert.equal(head.ContentLength, 'only version'.length);

    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'versioned-2', Body: 'x' }));
    const many = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: {
          Objects: [
            { Key: 'versioned', VersionId: 'abc' },
            { Key: 'versioned-2', VersionId: 'null' },
          ],
        },
      }),
    );
    assert.deepEqual(many.Deleted, [{ Key: 'versioned-2', VersionId: 'null' }]);
    assert.deepEqual(
      many.Errors?.map((e) => ({ Key: e.Key, VersionId: e.VersionId, Code: e.Code })),
      [{ Key: 'versioned', VersionId: 'abc', Code: 'InvalidArgument' }],
    );
    await expectS3Error(
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'versioned-2' })),
      'NotFound',
      404,
    );
    const still = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'versioned' }));
    assert.equal(await still.Body!.transformToString(), 'only version');
    const del = await s3.send(
      new DeleteObjectCommand({ Bucket: bucket, Key: 'versioned', VersionId: 'null' }),
    );
    assert.equal(del.$metadata.httpStatusCode, 204);
    await expectS3Error(
      s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'versioned' })),
      'NotFound',
      404,
    );
  });

  it('deletes conditionally (If-Match, DeleteObjects ETag): 412 on another ETag, 404 on a missing key, nothing deleted', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'guarded', Body: 'keep me' }));
    await expectS3Error(
      s3.send(
        new DeleteObjectCommand({
          Bucket: bucket,
          Key: 'guarded',
          IfMatch: '"0123456789abcdef0123456789abcdef"',
        }),
      ),
      'PreconditionFailed',
      412,
    );
    const kept = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'guarded' }));
    assert.equal(await kept.Body!.transformToString(), 'keep me');
    await expectS3Error(
      s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'never-there', IfMatch: put.ETag })),
      'NoSuchKey',
      404,
    );
    const del = await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'guarded', IfMatch: put.ETag }));
    assert.equal(del.$metadata.httpStatusCode, 204);
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'guarded' })), 'NotFound', 404);
    // `*`: delete only if there is an object.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'guarded', Body: 'again' }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'guarded', IfMatch: '*' }));
    await expectS3Error(
      s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'guarded', IfMatch: '*' })),
      'NoSuchKey',
      404,
    );

    const a = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cd/a', Body: 'a' }));
    const b = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cd/b', Body: 'b' }));
    const many = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: {
          Objects: [
            { Key: 'cd/a', ETag: b.ETag },
            { Key: 'cd/b', ETag: b.ETag },
            { Key: 'cd/missing', ETag: a.ETag },
          ],
        },
      }),
    );
    assert.deepEqual(many.Deleted, [{ Key: 'cd/b' }]);
    assert.deepEqual(
      many.Errors?.map((e) => ({ Key: e.Key, Code: e.Code })),
      [
        { Key: 'cd/a', Code: 'PreconditionFailed' },
        { Key: 'cd/missing', Code: 'NoSuchKey' },
      ],
    );
    const left = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cd/a' }));
    assert.equal(left.ETag, a.ETag);
  });

  it('writes conditionally (If-None-Match: *, If-Match): 412 or 404 keep the old object and leave no stray blob', async () => {
    const first = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'cw', Body: 'first', IfNoneMatch: '*' }),
    );
    const blobs = await countBlobFiles(server.dataDir);
    await expectS3Error(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cw', Body: big('s'), IfNoneMatch: '*' })),
      'PreconditionFailed',
      412,
    );
    await expectS3Error(
      s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'cw',
          Body: big('s'),
          IfMatch: '"00000000000000000000000000000000"',
        }),
      ),
      'PreconditionFailed',
      412,
    );
    await expectS3Error(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cw-none', Body: big('s'), IfMatch: first.ETag })),
      'NoSuchKey',
      404,
    );
    await expectS3Error(
      s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cw', Body: big('s'), IfNoneMatch: first.ETag })),
      'NotImplemented',
      501,
    );
    const unchanged = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cw' }));
    assert.equal(await unchanged.Body!.transformToString(), 'first');
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'cw-none' })), 'NotFound', 404);
    assert.equal(await countBlobFiles(server.dataDir), blobs);
    const second = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'cw', Body: 'second', IfMatch: first.ETag }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cw' }));
    assert.equal(await got.Body!.transformToString(), 'second');
    assert.equal(got.ETag, second.ETag);
  });

  it('serves ranges of an empty object as S3 does: 416 from an offset, the whole empty object for a suffix', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'empty-range', Body: '' }));
    for (const range of ['bytes=0-', 'bytes=0-0', 'bytes=-0']) {
      await expectS3Error(
        s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'empty-range', Range: range })),
        'InvalidRange',
        416,
      );
    }
    const tail = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: 'empty-range', Range: 'bytes=-5' }),
    );
    assert.equal(tail.$metadata.httpStatusCode, 200);
    assert.equal(tail.ContentRange, undefined);
    assert.equal(tail.ContentLength, 0);
    assert.equal((await tail.Body!.transformToByteArray()).length, 0);
  });
});
