import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startServer, type TestServer } from './support/test-server.ts';
import { expectS3Error } from './support/s3-errors.ts';
import { rawRequest } from './support/raw-request.ts';

const KEYS = [
  'a.txt',
  'b/1.txt',
  'b/2.txt',
  'b/c/3.txt',
  'c d/e+f.txt',
  'photos/2024/jan/1.jpg',
  'photos/2024/jan/2.jpg',
  'photos/2024/feb/1.jpg',
  'photos/2025/1.jpg',
  'z',
  'ä/ü.txt',
  '日本/語.txt',
];

describe('listing', () => {
  let server: TestServer;
  let s3: S3Client;
  const bucket = 'listing';
  before(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    for (const key of [...KEYS].reverse())
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
  });
  after(() => server.cleanup());

  const sorted = [...KEYS].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

  it('lists every key in UTF-8 byte order with sizes and ETags (V2)', async () => {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.deepEqual(
      out.Contents?.map((c) => c.Key),
      sorted,
    );
    assert.equal(out.KeyCount, KEYS.length);
    assert.equal(out.IsTruncated, false);
    const first = out.Contents[0]!;
    assert.equal(first.Size, Buffer.byteLength(first.Key!));
    assert.match(first.ETag!, /^"[0-9a-f]{32}"$/);
    assert.equal(first.StorageClass, 'STANDARD');
  });

  it('folds common prefixes at the delimiter, under a prefix', async () => {
    const top = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/' }));
    assert.deepEqual(
      top.Contents?.map((c) => c.Key),
      ['a.txt', 'z'],
    );
    assert.deepEqual(
      top.CommonPrefixes?.map((p) => p.Prefix),
      ['b/', 'c d/', 'photos/', 'ä/', '日本/'],
    );
    const photos = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'photos/2024/', Delimiter: '/' }),
    );
    assert.equal(photos.Contents, undefined);
    assert.deepEqual(
      photos.CommonPrefixes?.map((p) => p.Prefix),
      ['photos/2024/feb/', 'photos/2024/jan/'],
    );
    const prefixOnly = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'b/' }));
    assert.deepEqual(
      prefixOnly.Contents?.map((c) => c.Key),
      ['b/1.txt', 'b/2.txt', 'b/c/3.txt'],
    );
  });

  it('pages with max-keys and continuation tokens without losing or repeating entries (V2)', async () => {
    for (const delimiter of [undefined, '/']) {
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            MaxKeys: 2,
            ContinuationToken: token,
            Delimiter: delimiter,
          }),
        );
        pages += 1;
        assert.ok((page.KeyCount ?? 0) <= 2);
        seen.push(
          ...(page.Contents ?? []).map((c) => c.Key!),
          ...(page.CommonPrefixes ?? []).map((p) => p.Prefix!),
        );
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
        if (page.IsTruncated === true) assert.ok(token);
      } while (token !== undefined);
      const expected =
        delimiter === undefined ? sorted : ['a.txt', 'b/', 'c d/', 'photos/', 'z', 'ä/', '日本/'];
      assert.deepEqual(seen, expected, `delimiter ${String(delimiter)}`);
      assert.ok(pages >= Math.ceil(expected.length / 2));
    }
  });

  it('starts after start-after (V2)', async () => {
    const out = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, StartAfter: 'photos/2024/jan/1.jpg' }),
    );
    assert.deepEqual(
      out.Contents?.map((c) => c.Key),
      sorted.slice(sorted.indexOf('photos/2024/jan/1.jpg') + 1),
    );
  });

  it('pages with marker and NextMarker (V1)', async () => {
    const seen: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await s3.send(
        new ListObjectsCommand({ Bucket: bucket, MaxKeys: 3, Marker: marker, Delimiter: '/' }),
      );
      seen.push(
        ...(page.Contents ?? []).map((c) => c.Key!),
        ...(page.CommonPrefixes ?? []).map((p) => p.Prefix!),
      );
      if (page.IsTruncated !== true) break;
      assert.ok(page.NextMarker);
      marker = page.NextMarker;
    }
    assert.deepEqual(seen.sort(), ['a.txt', 'b/', 'c d/', 'photos/', 'z', 'ä/', '日本/'].sort());
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: bucket }));
    assert.deepEqual(
      v1.Contents?.map((c) => c.Key),
      sorted,
    );
    assert.ok(v1.Contents?.[0]?.Owner?.ID);
  });

  it('URL-encodes keys with encoding-type=url', async () => {
    const res = await rawRequest(server.s3Url, {
      method: 'GET',
      path: `/${bucket}?list-type=2&encoding-type=url&prefix=c%20d%2F`,
    });
    assert.equal(res.status, 200);
    assert.match(res.body, /<Key>c%20d\/e%2Bf\.txt<\/Key>/);
    assert.match(res.body, /<EncodingType>url<\/EncodingType>/);
    const unicode = await rawRequest(server.s3Url, {
      method: 'GET',
      path: `/${bucket}?list-type=2&encoding-type=url&prefix=%C3%A4`,
    });
    assert.match(unicode.body, /<Key>%C3%A4\/%C3%BC\.txt<\/Key>/);
  });

  it('refuses bad listing arguments with InvalidArgument', async () => {
    const badMax = await rawRequest(server.s3Url, {
      method: 'GET',
      path: `/${bucket}?list-type=2&max-keys=abc`,
    });
    assert.equal(badMax.status, 400);
    assert.match(badMax.body, /<Code>InvalidArgument<\/Code>/);
    const badEncoding = await rawRequest(server.s3Url, {
      method: 'GET',
      path: `/${bucket}?list-type=2&encoding-type=base64`,
    });
    assert.equal(badEncoding.status, 400);
    assert.match(badEncoding.body, /<Code>InvalidArgument<\/Code>/);
    await expectS3Error(
      s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: 'garbage!' })),
      'InvalidArgument',
      400,
    );
    await expectS3Error(s3.send(new ListObjectsV2Command({ Bucket: 'no-such-bucket' })), 'NoSuchBucket', 404);
  });
});
