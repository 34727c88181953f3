import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetBucketLocationCommand,
  GetBucketNotificationConfigurationCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { adminClient } from './support/admin-api.ts';
import { rawRequest, type RawRequest } from './support/raw-request.ts';
import { startServer, type TestServer } from './support/test-server.ts';
import { expectS3Error, parseErrorXml } from './support/s3-errors.ts';

const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** The ways a small body can disagree with what the client vouched for, and the error each gets. */
function mismatches(body: string): { what: string; request: Partial<RawRequest>; code: string }[] {
  const other = Buffer.from(`${body} `);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(other));
  return [
    {
      what: 'x-amz-content-sha256',
      request: { contentSha256: createHash('sha256').update(other).digest('hex') },
      code: 'XAmzContentSHA256Mismatch',
    },
    {
      what: 'Content-MD5',
      request: { headers: { 'content-md5': createHash('md5').update(other).digest('base64') } },
      code: 'BadDigest',
    },
    {
      what: 'x-amz-checksum-crc32',
      request: { headers: { 'x-amz-checksum-crc32': crc.toString('base64') } },
      code: 'BadDigest',
    },
  ];
}

describe('buckets', () => {
  let server: TestServer;
  let s3: S3Client;
  before(async () => {
    // Loopback webhooks are allowed so that a test can give a bucket a notification rule.
    server = await startServer({ env: { BUCKETBELL_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' } });
    s3 = server.client();
  });
  after(() => server.cleanup());

  it('creates, lists, heads, locates and deletes a bucket', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'photos' }));
    const list = await s3.send(new ListBucketsCommand({}));
    assert.deepEqual(
      list.Buckets?.map((b) => b.Name),
      ['photos'],
    );
    assert.ok(list.Buckets?.[0]?.CreationDate instanceof Date);
    const head = await s3.send(new HeadBucketCommand({ Bucket: 'photos' }));
    assert.equal(head.$metadata.httpStatusCode, 200);
    const location = await s3.send(new GetBucketLocationCommand({ Bucket: 'photos' }));
    assert.equal(location.LocationConstraint ?? '', '');
    await s3.send(new DeleteBucketCommand({ Bucket: 'photos' }));
    const after = await s3.send(new ListBucketsCommand({}));
    assert.deepEqual(after.Buckets ?? [], []);
  });

  it('accepts a matching location constraint and refuses another region', async () => {
    await expectS3Error(
      s3.send(
        new CreateBucketCommand({
          Bucket: 'elsewhere',
          CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' },
        }),
      ),
      'IllegalLocationConstraintException',
      400,
    );
    const list = await s3.send(new ListBucketsCommand({}));
    assert.ok(!(list.Buckets ?? []).some((b) => b.Name === 'elsewhere'));
  });

  it('refuses invalid bucket names with InvalidBucketName and creates nothing', async () => {
    for (const name of [
      'ab',
      'UPPER',
      'has_underscore',
      '-leading',
      'trailing-',
      'two..dots',
      '192.168.1.1',
      'x'.repeat(64),
      'xn--punycode',
    ]) {
      await expectS3Error(s3.send(new CreateBucketCommand({ Bucket: name })), 'InvalidBucketName', 400);
    }
    const list = await s3.send(new ListBucketsCommand({}));
    assert.deepEqual(list.Buckets ?? [], []);
  });

  it('answers BucketAlreadyOwnedByYou when creating an existing bucket', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'twice' }));
    await expectS3Error(
      s3.send(new CreateBucketCommand({ Bucket: 'twice' })),
      'BucketAlreadyOwnedByYou',
      409,
    );
    await s3.send(new DeleteBucketCommand({ Bucket: 'twice' }));
  });

  it('refuses to delete a bucket that holds objects (BucketNotEmpty) and keeps it', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'full' }));
    await s3.send(new PutObjectCommand({ Bucket: 'full', Key: 'a.txt', Body: 'a' }));
    await expectS3Error(s3.send(new DeleteBucketCommand({ Bucket: 'full' })), 'BucketNotEmpty', 409);
    await s3.send(new HeadBucketCommand({ Bucket: 'full' }));
  });

  it('answers NoSuchBucket for a missing bucket', async () => {
    await expectS3Error(s3.send(new DeleteBucketCommand({ Bucket: 'missing-bucket' })), 'NoSuchBucket', 404);
    await assert.rejects(s3.send(new HeadBucketCommand({ Bucket: 'missing-bucket' })), (err: unknown) => {
      assert.ok(err instanceof S3ServiceException);
      assert.equal(err.$metadata.httpStatusCode, 404);
      return true;
    });
  });

  it('checks a CreateBucket body against x-amz-content-sha256, Content-MD5 and x-amz-checksum-*, creating nothing on a mismatch', async () => {
    const body = `<CreateBucketConfiguration xmlns="${XMLNS}"><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`;
    for (const { what, request, code } of mismatches(body)) {
      const res = await rawRequest(server.s3Url, { method: 'PUT', path: '/tampered', body, ...request });
      assert.equal(res.status, 400, what);
      assert.equal(parseErrorXml(res.body).code, code, what);
      await assert.rejects(s3.send(new HeadBucketCommand({ Bucket: 'tampered' })), /NotFound|404/, what);
    }
    const list = await s3.send(new ListBucketsCommand({}));
    assert.ok(!(list.Buckets ?? []).some((b) => b.Name === 'tampered'));
    // The same body, vouched for correctly, creates the bucket.
    const ok = await rawRequest(server.s3Url, { method: 'PUT', path: '/tampered', body });
    assert.equal(ok.status, 200, ok.body);
    await s3.send(new DeleteBucketCommand({ Bucket: 'tampered' }));
  });

  it('checks a PutBucketNotificationConfiguration body the same way, leaving the configuration as it was', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'notified' }));
    await adminClient(server).request('POST', '/webhooks', {
      bucket: 'notified',
      url: 'http://127.0.0.1:9/hook',
      events: ['s3:ObjectCreated:*'],
    });
    const before = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: 'notified' }));
    assert.equal(before.QueueConfigurations?.length, 1);
    // An empty configuration would remove the rule, were it accepted.
    const body = `<NotificationConfiguration xmlns="${XMLNS}"></NotificationConfiguration>`;
    for (const { what, request, code } of mismatches(body)) {
      const res = await rawRequest(server.s3Url, {
        method: 'PUT',
        path: '/notified?notification',
        body,
        ...request,
      });
      assert.equal(res.status, 400, what);
      assert.equal(parseErrorXml(res.body).code, code, what);
      const now = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: 'notified' }));
      assert.deepEqual(now.QueueConfigurations, before.QueueConfigurations, what);
    }
  });

  it('refuses Object Lock on CreateBucket with NotImplemented and creates nothing', async () => {
    await expectS3Error(
      s3.send(new CreateBucketCommand({ Bucket: 'locked', ObjectLockEnabledForBucket: true })),
      'NotImplemented',
      501,
    );
    await assert.rejects(s3.send(new HeadBucketCommand({ Bucket: 'locked' })), /NotFound|404/);
    // `false` asks for nothing unusual.
    await s3.send(new CreateBucketCommand({ Bucket: 'unlocked', ObjectLockEnabledForBucket: false }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'unlocked' }));
  });

  it('lists buckets in pages (max-buckets, continuation-token), by prefix and by region', async () => {
    for (const name of ['page-a', 'page-b', 'page-c'])
      await s3.send(new CreateBucketCommand({ Bucket: name }));
    const first = await s3.send(new ListBucketsCommand({ Prefix: 'page-', MaxBuckets: 2 }));
    assert.deepEqual(
      first.Buckets?.map((b) => b.Name),
      ['page-a', 'page-b'],
    );
    assert.equal(first.Prefix, 'page-');
    assert.ok(first.ContinuationToken !== undefined && first.ContinuationToken !== '');
    const second = await s3.send(
      new ListBucketsCommand({ Prefix: 'page-', MaxBuckets: 2, ContinuationToken: first.ContinuationToken }),
    );
    assert.deepEqual(
      second.Buckets?.map((b) => b.Name),
      ['page-c'],
    );
    assert.equal(second.ContinuationToken, undefined);
    const here = await s3.send(new ListBucketsCommand({ Prefix: 'page-', BucketRegion: 'us-east-1' }));
    assert.equal(here.Buckets?.length, 3);
    const elsewhere = await s3.send(new ListBucketsCommand({ Prefix: 'page-', BucketRegion: 'eu-west-1' }));
    assert.deepEqual(elsewhere.Buckets ?? [], []);
    for (const maxBuckets of [0, 10_001]) {
      await expectS3Error(
        s3.send(new ListBucketsCommand({ MaxBuckets: maxBuckets })),
        'InvalidArgument',
        400,
      );
    }
  });
});
