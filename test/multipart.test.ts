import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { startServer, type TestServer } from './support/test-server.ts';
import { expectS3Error } from './support/s3-errors.ts';

const MiB = 1024 * 1024;

function md5(data: Buffer): Buffer {
  return createHash('md5').update(data).digest();
}

describe('multipart uploads', () => {
  let server: TestServer;
  let s3: S3Client;
  const bucket = 'multipart';
  before(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(() => server.cleanup());

  async function create(key: string): Promise<string> {
    const out = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ContentType: 'video/mp4',
        Metadata: { origin: 'test' },
      }),
    );
    assert.ok(out.UploadId);
    return out.UploadId;
  }

  it('assembles parts into one object with an md5-of-md5s ETag, lists parts and uploads on the way', async () => {
    const key = 'video.mp4';
    const uploadId = await create(key);
    const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(1234)];
    const etags: string[] = [];
    for (const [i, part] of parts.entries()) {
      const out = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: i + 1,
          Body: part,
        }),
      );
      assert.equal(out.ETag, `"${md5(part).toString('hex')}"`);
      etags.push(out.ETag);
    }
    const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    assert.deepEqual(
      listed.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]),
      parts.map((p, i) => [i + 1, p.length, etags[i]]),
    );
    const paged = await s3.send(
      new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MaxParts: 2 }),
    );
    assert.equal(paged.IsTruncated, true);
    assert.equal(paged.NextPartNumberMarker, '2');
    const rest = await s3.send(
      new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumberMarker: '2' }),
    );
    assert.deepEqual(
      rest.Parts?.map((p) => p.PartNumber),
      [3],
    );
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    assert.ok(uploads.Uploads?.some((u) => u.UploadId === uploadId && u.Key === key));
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    const expectedEtag = `"${createHash('md5')
      .update(Buffer.concat(parts.map(md5)))
      .digest('hex')}-3"`;
    assert.equal(done.ETag, expectedEtag);
    const whole = Buffer.concat(parts);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    assert.equal(got.ETag, expectedEtag);
    assert.equal(got.ContentType, 'video/mp4');
    assert.deepEqual(got.Metadata, { origin: 'test' });
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(whole));
    const across = await s3.send(
      new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${5 * MiB - 10}-${5 * MiB + 9}` }),
    );
    assert.ok(
      Buffer.from(await across.Body!.transformToByteArray()).equals(
        whole.subarray(5 * MiB - 10, 5 * MiB + 10),
      ),
    );
    const part2 = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, PartNumber: 2 }));
    assert.equal(part2.PartsCount, 3);
    assert.equal(part2.ContentLength, 5 * MiB);
    assert.ok(Buffer.from(await part2.Body!.transformToByteArray()).equals(parts[1]!));
    await expectS3Error(
      s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, PartNumber: 4 })),
      'InvalidPartNumber',
      416,
    );
    const after = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    assert.ok(!(after.Uploads ?? []).some((u) => u.UploadId === uploadId));
  });

  it('pages ListMultipartUploads with a delimiter without losing or repeating uploads or common prefixes', async () => {
    const listing = 'multipart-listing';
    await s3.send(new CreateBucketCommand({ Bucket: listing }));
    const keys = ['a', 'b/1', 'b/2', 'b/3/x', 'c', 'd/1', 'e'];
    const ids = new Map<string, string>();
    for (const key of keys) {
      const out = await s3.send(new CreateMultipartUploadCommand({ Bucket: listing, Key: key }));
      ids.set(key, out.UploadId!);
    }
    const seen: string[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (let page = 0; page < 10; page += 1) {
      const out = await s3.send(
        new ListMultipartUploadsCommand({
          Bucket: listing,
          Delimiter: '/',
          MaxUploads: 2,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      const entries = [
        ...(out.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId === ids.get(u.Key!) ? 'ok' : 'wrong id'}`),
        ...(out.CommonPrefixes ?? []).map((p) => `${p.Prefix}`),
      ].sort();
      assert.ok(entries.length <= 2, `page ${page}: ${entries.join(', ')}`);
      seen.push(...entries);
      if (out.IsTruncated !== true) break;
      keyMarker = out.NextKeyMarker;
      uploadIdMarker = out.NextUploadIdMarker;
    }
    assert.deepEqual(seen.sort(), ['a ok', 'b/', 'c ok', 'd/', 'e ok']);
    for (const [key, uploadId] of ids)
      await s3.send(new AbortMultipartUploadCommand({ Bucket: listing, Key: key, UploadId: uploadId }));
  });

  it('refuses bad completions (InvalidPart, InvalidPartOrder, EntityTooSmall, MalformedXML) and keeps the upload', async () => {
    const key = 'bad-complete';
    const uploadId = await create(key);
    const small = [randomBytes(1000), randomBytes(1000)];
    const etags: string[] = [];
    for (const [i, part] of small.entries()) {
      etags.push(
        (
          await s3.send(
            new UploadPartCommand({
              Bucket: bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: i + 1,
              Body: part,
            }),
          )
        ).ETag!,
      );
    }
    const complete = (parts: { ETag: string; PartNumber: number }[]) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    await expectS3Error(
      complete([{ ETag: '"00000000000000000000000000000000"', PartNumber: 1 }]),
      'InvalidPart',
      400,
    );
    await expectS3Error(complete([{ ETag: etags[0]!, PartNumber: 7 }]), 'InvalidPart', 400);
    await expectS3Error(
      complete([
        { ETag: etags[1]!, PartNumber: 2 },
        { ETag: etags[0]!, PartNumber: 1 },
      ]),
      'InvalidPartOrder',
      400,
    );
    await expectS3Error(
      complete([
        { ETag: etags[0]!, PartNumber: 1 },
        { ETag: etags[1]!, PartNumber: 2 },
      ]),
      'EntityTooSmall',
      400,
    );
    await expectS3Error(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: [] },
        }),
      ),
      'MalformedXML',
      400,
    );
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })), 'NotFound', 404);
    const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    assert.equal(listed.Parts?.length, 2);
    const single = await complete([{ ETag: etags[1]!, PartNumber: 2 }]);
    assert.match(single.ETag!, /-1"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(small[1]!));
  });

  it('aborts an upload; later calls on it answer NoSuchUpload', async () => {
    const key = 'aborted';
    const uploadId = await create(key);
    await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: 'x' }),
    );
    const aborted = await s3.send(
      new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
    );
    assert.equal(aborted.$metadata.httpStatusCode, 204);
    await expectS3Error(
      s3.send(
        new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 2, Body: 'y' }),
      ),
      'NoSuchUpload',
      404,
    );
    await expectS3Error(
      s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId })),
      'NoSuchUpload',
      404,
    );
    await expectS3Error(
      s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })),
      'NoSuchUpload',
      404,
    );
    await expectS3Error(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"x"' }] },
        }),
      ),
      'NoSuchUpload',
      404,
    );
  });

  it('refuses part numbers outside 1..10000', async () => {
    const uploadId = await create('partnum');
    for (const n of [0, 10001]) {
      await expectS3Error(
        s3.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: 'partnum',
            UploadId: uploadId,
            PartNumber: n,
            Body: 'x',
          }),
        ),
        'InvalidArgument',
        400,
      );
    }
  });

  it('copies ranges of an existing object into parts (UploadPartCopy)', async () => {
    const source = randomBytes(6 * MiB);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'copy-source', Body: source }));
    const key = 'copy-target';
    const uploadId = await create(key);
    const p1 = await s3.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: 1,
        CopySource: `${bucket}/copy-source`,
        CopySourceRange: `bytes=0-${5 * MiB - 1}`,
      }),
    );
    const p2 = await s3.send(
      new UploadPartCopyCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        PartNumber: 2,
        CopySource: `${bucket}/copy-source`,
        CopySourceRange: `bytes=${5 * MiB}-${6 * MiB - 1}`,
      }),
    );
    assert.equal(p1.CopyPartResult?.ETag, `"${md5(source.subarray(0, 5 * MiB)).toString('hex')}"`);
    await expectS3Error(
      s3.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: 3,
          CopySource: `${bucket}/copy-source`,
          CopySourceRange: `bytes=0-${7 * MiB}`,
        }),
      ),
      'InvalidRange',
      416,
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: uploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.CopyPartResult.ETag },
            { PartNumber: 2, ETag: p2.CopyPartResult!.ETag! },
          ],
        },
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(source));
  });

  it('works with @aws-sdk/lib-storage Upload (concurrent parts, default checksums)', async () => {
    const body = randomBytes(17 * MiB);
    const upload = new Upload({
      client: s3,
      params: { Bucket: bucket, Key: 'lib-storage.bin', Body: body },
      partSize: 5 * MiB,
      queueSize: 4,
    });
    await upload.done();
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'lib-storage.bin' }));
    assert.equal(got.ContentLength, body.length);
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(body));
  });

  it('completes conditionally (If-None-Match: *, If-Match): a refusal keeps the upload and the old object', async () => {
    const key = 'conditional-complete';
    const old = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'old' }));
    const uploadId = await create(key);
    const part = randomBytes(1000);
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: 1, Body: part }),
    );
    const complete = (conditions: { IfMatch?: string; IfNoneMatch?: string }) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: [{ ETag: ETag!, PartNumber: 1 }] },
          ...conditions,
        }),
      );
    await expectS3Error(complete({ IfNoneMatch: '*' }), 'PreconditionFailed', 412);
    await expectS3Error(
      complete({ IfMatch: '"00000000000000000000000000000000"' }),
      'PreconditionFailed',
      412,
    );
    await expectS3Error(complete({ IfNoneMatch: old.ETag! }), 'NotImplemented', 501);
    const unchanged = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    assert.equal(await unchanged.Body!.transformToString(), 'old');
    const listed = await s3.send(new ListPartsCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    assert.equal(listed.Parts?.length, 1);
    const done = await complete({ IfMatch: old.ETag! });
    assert.match(done.ETag!, /-1"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(part));

    // On a key with no object: If-Match answers NoSuchKey (upload kept); If-None-Match: * completes.
    const fresh = 'conditional-complete-new';
    const freshId = await create(fresh);
    const freshPart = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: fresh, UploadId: freshId, PartNumber: 1, Body: part }),
    );
    const completeFresh = (conditions: { IfMatch?: string; IfNoneMatch?: string }) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: fresh,
          UploadId: freshId,
          MultipartUpload: { Parts: [{ ETag: freshPart.ETag!, PartNumber: 1 }] },
          ...conditions,
        }),
      );
    await expectS3Error(completeFresh({ IfMatch: old.ETag! }), 'NoSuchKey', 404);
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: fresh })), 'NotFound', 404);
    await completeFresh({ IfNoneMatch: '*' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: fresh }));
    assert.equal(head.ContentLength, part.length);
  });
});
