import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost, type PresignedPostOptions } from '@aws-sdk/s3-presigned-post';
import { SecretBox } from '../src/db/secret-box.ts';
import { countBlobFiles } from './support/blob-files.ts';
import { writeServerDb } from './support/inspect-db.ts';
import { parseErrorXml } from './support/s3-errors.ts';
import { startServer, type TestServer } from './support/test-server.ts';

const MASTER_KEY = randomBytes(32);
const ALICE = { accessKeyId: 'alice-post-test', secretAccessKey: 'alice-secret-key-for-post-tests' };

/**
 * Adds an enabled non-admin user straight into the server's database: users are not manageable through any
 * API yet. The server shares MASTER_KEY, so it can open the sealed secret.
 */
async function addUser(server: TestServer, user: typeof ALICE): Promise<void> {
  const now = Date.now();
  await writeServerDb(
    server,
    'insert into users (name, role, status, is_root, created_at) values ($1, $2, $3, $4, $5)',
    [user.accessKeyId, 'user', 'enabled', 0, now],
  );
  await writeServerDb(
    server,
    'insert into access_keys (access_key_id, user_name, secret_ciphertext, status, created_at) values ($1, $2, $3, $4, $5)',
    [
      user.accessKeyId,
      user.accessKeyId,
      new SecretBox(MASTER_KEY).seal(user.secretAccessKey),
      'enabled',
      now,
    ],
  );
}

interface FileSpec {
  readonly data: Uint8Array;
  readonly filename?: string;
}

/** Sends a browser-style form: the fields in order, then the file, then `after` (which AWS ignores). */
async function postForm(
  url: string,
  fields: Readonly<Record<string, string>>,
  file: FileSpec | undefined,
  after: Readonly<Record<string, string>> = {},
): Promise<Response> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  if (file !== undefined) form.append('file', new Blob([file.data]), file.filename ?? 'upload.bin');
  for (const [name, value] of Object.entries(after)) form.append(name, value);
  return fetch(url, { method: 'POST', body: form, redirect: 'manual' });
}

async function expectPostError(response: Response, code: string, status: number): Promise<string> {
  const body = await response.text();
  const error = parseErrorXml(body);
  assert.equal(error.code, code, `error code in ${body}`);
  assert.equal(response.status, status, `status of ${code}`);
  return error.message.replace(/&(quot|amp|lt|gt|apos);/g, (_m, name: string) => XML_ENTITIES[name] ?? '');
}

const XML_ENTITIES: Readonly<Record<string, string>> = { quot: '"', amp: '&', lt: '<', gt: '>', apos: "'" };

/**
 * @aws-sdk/s3-presigned-post pins its own @aws-sdk/client-s3, so its S3Client is another class than ours;
 * it only reads the client's `config`, which ours has.
 */
function presignedPost(
  client: S3Client,
  options: PresignedPostOptions,
): ReturnType<typeof createPresignedPost> {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
  return createPresignedPost(client, options);
}

function md5Hex(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

describe('PostObject (browser form upload)', () => {
  let server: TestServer;
  let s3: S3Client;
  const bucket = 'post-uploads';
  const presign = (options: Omit<PresignedPostOptions, 'Bucket'>, client = s3) =>
    presignedPost(client, { Bucket: bucket, ...options });

  before(async () => {
    server = await startServer({ env: { BUCKETBELL_MASTER_KEY: MASTER_KEY.toString('base64') } });
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  after(() => server.cleanup());

  /** Asserts that nothing was stored by a refused upload: no object at the key and no new blob. */
  async function expectNothingStored(key: string, blobsBefore: number): Promise<void> {
    await assert.rejects(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })), { name: 'NotFound' });
    assert.equal(await countBlobFiles(server.dataDir), blobsBefore, 'no stray blob');
  }

  it('stores the file with Content-Type and x-amz-meta-* from the fields, answering 204', async () => {
    const data = randomBytes(50_000);
    const { url, fields } = await presign({
      Key: 'photos/cat.bin',
      Fields: { 'Content-Type': 'image/x-cat', 'x-amz-meta-colour': 'ginger', 'Cache-Control': 'max-age=60' },
    });
    assert.equal(url, `${server.s3Url}/${bucket}`);
    const response = await postForm(url, fields, { data });
    assert.equal(response.status, 204, await response.clone().text());
    assert.equal(response.headers.get('etag'), `"${md5Hex(data)}"`);
    assert.equal(response.headers.get('location'), `${server.s3Url}/${bucket}/photos/cat.bin`);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'photos/cat.bin' }));
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), data);
    assert.equal(got.ContentType, 'image/x-cat');
    assert.equal(got.CacheControl, 'max-age=60');
    assert.equal(got.ETag, `"${md5Hex(data)}"`);
    assert.deepEqual(got.Metadata, { colour: 'ginger' });
  });

  it('replaces ${filename} in the key with the name of the uploaded file', async () => {
    const { url, fields } = await presign({ Key: 'uploads/${filename}' });
    const response = await postForm(url, fields, { data: Buffer.from('meow'), filename: 'cat photo.txt' });
    assert.equal(response.status, 204, await response.clone().text());
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'uploads/cat photo.txt' }));
    assert.equal(await got.Body!.transformToString(), 'meow');
    assert.equal(got.ContentType, 'binary/octet-stream');
  });

  it('answers success_action_status 201 with a PostResponse document, and 200 empty', async () => {
    const data = Buffer.from('created');
    const created = await presign({ Key: 'status/a+b.txt', Fields: { success_action_status: '201' } });
    const response = await postForm(created.url, created.fields, { data });
    assert.equal(response.status, 201);
    assert.equal(response.headers.get('content-type'), 'application/xml');
    const xml = await response.text();
    const pick = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
    assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\s*<PostResponse>/);
    assert.equal(pick('Location'), `${server.s3Url}/${bucket}/status/a%2Bb.txt`);
    assert.equal(pick('Bucket'), bucket);
    assert.equal(pick('Key'), 'status/a+b.txt');
    assert.equal(pick('ETag'), `&quot;${md5Hex(data)}&quot;`);

    const ok = await presign({ Key: 'status/200.txt', Fields: { success_action_status: '200' } });
    const okResponse = await postForm(ok.url, ok.fields, { data });
    assert.equal(okResponse.status, 200);
    assert.equal(await okResponse.text(), '');
    assert.equal(okResponse.headers.get('etag'), `"${md5Hex(data)}"`);
  });

  it('redirects with 303 to success_action_redirect, adding bucket, key and etag', async () => {
    const data = Buffer.from('redirected');
    const { url, fields } = await presign({
      Key: 'redirect/done.txt',
      Fields: { success_action_redirect: 'https://app.example/uploaded?from=form' },
    });
    const response = await postForm(url, fields, { data });
    assert.equal(response.status, 303);
    const location = new URL(response.headers.get('location') ?? '');
    assert.equal(location.origin + location.pathname, 'https://app.example/uploaded');
    assert.equal(location.searchParams.get('from'), 'form');
    assert.equal(location.searchParams.get('bucket'), bucket);
    assert.equal(location.searchParams.get('key'), 'redirect/done.txt');
    assert.equal(location.searchParams.get('etag'), `"${md5Hex(data)}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'redirect/done.txt' }));
    assert.equal(head.ContentLength, data.length);
  });

  it('refuses a file outside content-length-range, storing nothing', async () => {
    const { url, fields } = await presign({
      Key: 'sized.bin',
      Conditions: [['content-length-range', 10, 100]],
    });
    const blobsBefore = await countBlobFiles(server.dataDir);
    const large = await postForm(url, fields, { data: randomBytes(101) });
    await expectPostError(large, 'EntityTooLarge', 400);
    await expectNothingStored('sized.bin', blobsBefore);
    const small = await postForm(url, fields, { data: randomBytes(9) });
    await expectPostError(small, 'EntityTooSmall', 400);
    await expectNothingStored('sized.bin', blobsBefore);
    const fits = await postForm(url, fields, { data: randomBytes(100) });
    assert.equal(fits.status, 204, await fits.clone().text());
  });

  it('refuses an expired policy', async () => {
    const { url, fields } = await presign({ Key: 'expired.txt', Expires: -60 });
    const blobsBefore = await countBlobFiles(server.dataDir);
    const message = await expectPostError(
      await postForm(url, fields, { data: Buffer.from('late') }),
      'AccessDenied',
      403,
    );
    assert.match(message, /Policy expired/);
    await expectNothingStored('expired.txt', blobsBefore);
  });

  it('refuses a tampered policy or signature', async () => {
    const { url, fields } = await presign({ Key: 'tampered.txt' });
    const blobsBefore = await countBlobFiles(server.dataDir);
    const policy = JSON.parse(Buffer.from(fields['Policy']!, 'base64').toString()) as {
      conditions: unknown[];
    };
    policy.conditions.push(['starts-with', '$key', '']);
    const tamperedPolicy = { ...fields, Policy: Buffer.from(JSON.stringify(policy)).toString('base64') };
    await expectPostError(
      await postForm(url, tamperedPolicy, { data: Buffer.from('x') }),
      'SignatureDoesNotMatch',
      403,
    );
    const signature = fields['X-Amz-Signature']!;
    const flipped = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
    await expectPostError(
      await postForm(url, { ...fields, 'X-Amz-Signature': flipped }, { data: Buffer.from('x') }),
      'SignatureDoesNotMatch',
      403,
    );
    const { 'X-Amz-Signature': _omitted, ...unsigned } = fields;
    await expectPostError(await postForm(url, unsigned, { data: Buffer.from('x') }), 'InvalidArgument', 400);
    await expectNothingStored('tampered.txt', blobsBefore);
  });

  it('refuses a key outside a starts-with condition', async () => {
    const { url, fields } = await presign({ Key: 'user-7/${filename}' });
    const blobsBefore = await countBlobFiles(server.dataDir);
    const message = await expectPostError(
      await postForm(url, { ...fields, key: 'admin/${filename}' }, { data: Buffer.from('x'), filename: 'f' }),
      'AccessDenied',
      403,
    );
    assert.match(
      message,
      /^Invalid according to Policy: Policy Condition failed: \["starts-with", "\$key", "user-7\/"\]/,
    );
    await expectNothingStored('admin/f', blobsBefore);
    const inside = await postForm(url, fields, { data: Buffer.from('x'), filename: 'f' });
    assert.equal(inside.status, 204, await inside.clone().text());
  });

  it('refuses a field the policy does not cover, except x-ignore-*; fields after the file are ignored', async () => {
    const { url, fields } = await presign({ Key: 'fields.txt' });
    const blobsBefore = await countBlobFiles(server.dataDir);
    const message = await expectPostError(
      await postForm(url, { ...fields, 'x-amz-meta-sneaky': 'yes' }, { data: Buffer.from('x') }),
      'AccessDenied',
      403,
    );
    assert.equal(message, 'Invalid according to Policy: Extra input fields: x-amz-meta-sneaky');
    await expectNothingStored('fields.txt', blobsBefore);
    const response = await postForm(
      url,
      { ...fields, 'x-ignore-note': 'fine' },
      { data: Buffer.from('x') },
      { 'x-amz-meta-late': 'ignored', file: 'a second file field after the first is ignored too' },
    );
    assert.equal(response.status, 204, await response.clone().text());
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'fields.txt' }));
    assert.deepEqual(head.Metadata, {});
    assert.equal(head.ContentLength, 1);
  });

  it('refuses a user who may not write the bucket (and lets her write her own)', async () => {
    await addUser(server, ALICE);
    const alice = server.client(ALICE);
    const blobsBefore = await countBlobFiles(server.dataDir);
    const { url, fields } = await presign({ Key: 'from-alice.txt' }, alice);
    await expectPostError(await postForm(url, fields, { data: Buffer.from('x') }), 'AccessDenied', 403);
    await expectNothingStored('from-alice.txt', blobsBefore);

    await alice.send(new CreateBucketCommand({ Bucket: 'alice-bucket' }));
    const own = await presignedPost(alice, { Bucket: 'alice-bucket', Key: 'mine.txt' });
    const response = await postForm(own.url, own.fields, { data: Buffer.from('mine') });
    assert.equal(response.status, 204, await response.clone().text());
    const listed = await alice.send(new ListObjectsV2Command({ Bucket: 'alice-bucket' }));
    assert.deepEqual(
      listed.Contents?.map((c) => c.Key),
      ['mine.txt'],
    );
  });

  it('verifies an x-amz-checksum-* field', async () => {
    const data = Buffer.from('checked bytes');
    const sha256 = createHash('sha256').update(data).digest('base64');
    const good = await presign({ Key: 'checksum.txt', Fields: { 'x-amz-checksum-sha256': sha256 } });
    const response = await postForm(good.url, good.fields, { data });
    assert.equal(response.status, 204, await response.clone().text());
    assert.equal(response.headers.get('x-amz-checksum-sha256'), sha256);

    const blobsBefore = await countBlobFiles(server.dataDir);
    const wrong = createHash('sha256').update('other').digest('base64');
    const bad = await presign({ Key: 'checksum-bad.txt', Fields: { 'x-amz-checksum-sha256': wrong } });
    await expectPostError(await postForm(bad.url, bad.fields, { data }), 'BadDigest', 400);
    await expectNothingStored('checksum-bad.txt', blobsBefore);
  });

  it('refuses a form without a file, with too much before the file, or not well-formed', async () => {
    const { url, fields } = await presign({ Key: 'broken.txt' });
    const message = await expectPostError(await postForm(url, fields, undefined), 'InvalidArgument', 400);
    assert.equal(message, 'POST requires exactly one file upload per request.');
    await expectPostError(
      await postForm(url, { ...fields, 'x-ignore-padding': 'p'.repeat(21_000) }, { data: Buffer.from('x') }),
      'MaxPostPreDataLengthExceeded',
      400,
    );
    const truncated = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=abc' },
      body: '--abc\r\nContent-Disposition: form-data; name="key"\r\n\r\nbroken.txt\r\n--abc\r\nContent-Disposit',
    });
    await expectPostError(truncated, 'MalformedPOSTRequest', 400);
    const anonymous = await postForm(url, { key: 'broken.txt' }, { data: Buffer.from('x') });
    await expectPostError(anonymous, 'AccessDenied', 403);
  });

  it('streams a 20 MiB file', async () => {
    const data = randomBytes(20 * 1024 * 1024);
    const { url, fields } = await presign({
      Key: 'big.bin',
      Conditions: [['content-length-range', 0, 25 * 1024 * 1024]],
    });
    const response = await postForm(url, fields, { data });
    assert.equal(response.status, 204, await response.clone().text());
    assert.equal(response.headers.get('etag'), `"${md5Hex(data)}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'big.bin' }));
    assert.equal(got.ContentLength, data.length);
    assert.equal(md5Hex(await got.Body!.transformToByteArray()), md5Hex(data));
  });
});
