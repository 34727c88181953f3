import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { rawRequest, type RawResponse } from './support/raw-request.ts';
import { expectS3Error, parseErrorXml } from './support/s3-errors.ts';
import { startServer, type TestServer } from './support/test-server.ts';

const DOMAIN = 's3.localtest';
const md5 = (data: string) => createHash('md5').update(data).digest('hex');

/** The text of every `<name>` element of an XML document, in order. */
const elements = (xml: string, name: string) =>
  [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]);

function assertStatus(response: RawResponse, status: number): void {
  assert.equal(response.status, status, response.body);
}

describe('virtual-host-style addressing (BUCKETBELL_DOMAIN)', () => {
  let server: TestServer;
  let s3: S3Client;
  let port: string;
  before(async () => {
    server = await startServer({ env: { BUCKETBELL_DOMAIN: DOMAIN } });
    s3 = server.client();
    port = new URL(server.s3Url).port;
  });
  after(() => server.cleanup());

  /** A root-signed request to 127.0.0.1 with `Host: <bucket>.s3.localtest:<port>` (signed as sent). */
  const vhost = (
    bucket: string,
    method: string,
    pathAndQuery: string,
    extra: { body?: string; headers?: Record<string, string> } = {},
  ) =>
    rawRequest(server.s3Url, {
      method,
      path: pathAndQuery,
      headers: { host: `${bucket}.${DOMAIN}:${port}`, ...extra.headers },
      ...(extra.body === undefined ? {} : { body: extra.body }),
    });

  it('creates a bucket, puts, gets, lists and deletes objects, and deletes the bucket', async () => {
    assertStatus(await vhost('vhost-bucket', 'PUT', '/'), 200);
    await s3.send(new HeadBucketCommand({ Bucket: 'vhost-bucket' }));
    assertStatus(await vhost('vhost-bucket', 'HEAD', '/'), 200);

    const put = await vhost('vhost-bucket', 'PUT', '/dir/hello.txt', {
      body: 'hello, virtual host',
      headers: { 'content-type': 'text/plain' },
    });
    assertStatus(put, 200);
    assert.equal(put.headers['etag'], `"${md5('hello, virtual host')}"`);
    assertStatus(await vhost('vhost-bucket', 'PUT', '/a%20b%2Bc.txt', { body: 'encoded key' }), 200);

    const got = await vhost('vhost-bucket', 'GET', '/dir/hello.txt');
    assertStatus(got, 200);
    assert.equal(got.body, 'hello, virtual host');
    assert.equal(got.headers['content-type'], 'text/plain');
    assert.equal((await vhost('vhost-bucket', 'GET', '/a%20b%2Bc.txt')).body, 'encoded key');

    const v2 = await vhost('vhost-bucket', 'GET', '/?list-type=2');
    assertStatus(v2, 200);
    assert.deepEqual(elements(v2.body, 'Name'), ['vhost-bucket']);
    assert.deepEqual(elements(v2.body, 'Key'), ['a b+c.txt', 'dir/hello.txt']);
    const v1 = await vhost('vhost-bucket', 'GET', '/?delimiter=%2F');
    assertStatus(v1, 200);
    assert.deepEqual(elements(v1.body, 'Key'), ['a b+c.txt']);
    assert.deepEqual(elements(v1.body, 'Prefix').slice(-1), ['dir/']);
    const location = await vhost('vhost-bucket', 'GET', '/?location');
    assertStatus(location, 200);
    assert.match(location.body, /<LocationConstraint/);

    // The same objects, path style, through the SDK.
    const viaSdk = await s3.send(new GetObjectCommand({ Bucket: 'vhost-bucket', Key: 'a b+c.txt' }));
    assert.equal(await viaSdk.Body!.transformToString(), 'encoded key');

    const copied = await vhost('vhost-bucket', 'PUT', '/copy.txt', {
      headers: { 'x-amz-copy-source': '/vhost-bucket/dir/hello.txt' },
    });
    assertStatus(copied, 200);
    assert.equal((await vhost('vhost-bucket', 'GET', '/copy.txt')).body, 'hello, virtual host');

    assertStatus(await vhost('vhost-bucket', 'DELETE', '/dir/hello.txt'), 204);
    const missing = await vhost('vhost-bucket', 'GET', '/dir/hello.txt');
    assertStatus(missing, 404);
    assert.equal(parseErrorXml(missing.body).code, 'NoSuchKey');

    const deleteXml =
      '<Delete><Quiet>true</Quiet><Object><Key>a b+c.txt</Key></Object><Object><Key>copy.txt</Key></Object></Delete>';
    const batch = await vhost('vhost-bucket', 'POST', '/?delete', {
      body: deleteXml,
      headers: { 'content-md5': createHash('md5').update(deleteXml).digest('base64') },
    });
    assertStatus(batch, 200);
    assert.deepEqual(elements((await vhost('vhost-bucket', 'GET', '/?list-type=2')).body, 'Key'), []);

    assertStatus(await vhost('vhost-bucket', 'DELETE', '/'), 204);
    await expectS3Error(s3.send(new HeadBucketCommand({ Bucket: 'vhost-bucket' })), 'NotFound', 404);
    const gone = await vhost('vhost-bucket', 'GET', '/?list-type=2');
    assertStatus(gone, 404);
    assert.equal(parseErrorXml(gone.body).code, 'NoSuchBucket');
  });

  it('runs a multipart upload with the bucket in the Host', async () => {
    assertStatus(await vhost('vhost-multipart', 'PUT', '/'), 200);
    const created = await vhost('vhost-multipart', 'POST', '/big.bin?uploads');
    assertStatus(created, 200);
    const uploadId = elements(created.body, 'UploadId')[0]!;
    assert.deepEqual(elements(created.body, 'Bucket'), ['vhost-multipart']);
    const id = encodeURIComponent(uploadId);
    const part = await vhost('vhost-multipart', 'PUT', `/big.bin?partNumber=1&uploadId=${id}`, {
      body: 'only part',
    });
    assertStatus(part, 200);
    const listed = await vhost('vhost-multipart', 'GET', `/big.bin?uploadId=${id}`);
    assertStatus(listed, 200);
    assert.deepEqual(elements(listed.body, 'PartNumber'), ['1']);
    const complete = await vhost('vhost-multipart', 'POST', `/big.bin?uploadId=${id}`, {
      body: `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>${String(part.headers['etag'])}</ETag></Part></CompleteMultipartUpload>`,
    });
    assertStatus(complete, 200);
    assert.match(elements(complete.body, 'ETag')[0] ?? '', /-1"$|-1&quot;$/);
    assert.equal((await vhost('vhost-multipart', 'GET', '/big.bin')).body, 'only part');
  });

  it('answers errors for an unknown bucket in the Host as S3 error XML', async () => {
    const response = await vhost('no-such-bucket', 'GET', '/key');
    assertStatus(response, 404);
    const error = parseErrorXml(response.body);
    assert.equal(error.code, 'NoSuchBucket');
    assert.equal(error.requestId, response.headers['x-amz-request-id']);
    const unsigned = await rawRequest(server.s3Url, {
      method: 'GET',
      path: '/key',
      headers: { host: `anything.${DOMAIN}:${port}` },
      credentials: false,
    });
    assertStatus(unsigned, 403);
    assert.equal(parseErrorXml(unsigned.body).code, 'AccessDenied');
  });

  it('still serves path-style requests on the same server', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'path-bucket' }));
    await s3.send(new PutObjectCommand({ Bucket: 'path-bucket', Key: 'dir/p.txt', Body: 'path style' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'path-bucket', Key: 'dir/p.txt' }));
    assert.equal(await got.Body!.transformToString(), 'path style');
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'path-bucket' }));
    assert.deepEqual(
      listed.Contents?.map((c) => c.Key),
      ['dir/p.txt'],
    );

    // Path style with the bare domain as Host, and the object seen virtual-host style.
    const bare = await rawRequest(server.s3Url, {
      method: 'GET',
      path: '/path-bucket/dir/p.txt',
      headers: { host: `${DOMAIN}:${port}` },
    });
    assertStatus(bare, 200);
    assert.equal(bare.body, 'path style');
    const buckets = await rawRequest(server.s3Url, {
      method: 'GET',
      path: '/',
      headers: { host: `${DOMAIN}:${port}` },
    });
    assertStatus(buckets, 200);
    assert.ok(elements(buckets.body, 'Name').includes('path-bucket'));
    assert.equal((await vhost('path-bucket', 'GET', '/dir/p.txt')).body, 'path style');

    await s3.send(new DeleteObjectCommand({ Bucket: 'path-bucket', Key: 'dir/p.txt' }));
    assertStatus(await vhost('path-bucket', 'GET', '/dir/p.txt'), 404);
    await s3.send(new DeleteBucketCommand({ Bucket: 'path-bucket' }));
    await expectS3Error(s3.send(new HeadBucketCommand({ Bucket: 'path-bucket' })), 'NotFound', 404);
  });
});
