import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { SignatureV4 } from '@smithy/signature-v4';
import { countBlobFiles } from './support/blob-files.ts';
import { rawRequest } from './support/raw-request.ts';
import { expectS3Error, parseErrorXml } from './support/s3-errors.ts';
import { ROOT_PASSWORD, ROOT_USER, startServer, type TestServer } from './support/test-server.ts';

const BUCKET = 'presigned';

interface SeenResponse {
  readonly status: number;
  readonly requestIdHeader: string | undefined;
  readonly contentType: string | undefined;
  readonly body: string;
}

async function seen(response: Response): Promise<SeenResponse> {
  return {
    status: response.status,
    requestIdHeader: response.headers.get('x-amz-request-id') ?? undefined,
    contentType: response.headers.get('content-type') ?? undefined,
    body: await response.text(),
  };
}

/** Asserts an S3 error response: status, XML with Code, Message and RequestId, and the matching header. */
function assertS3ErrorResponse(response: SeenResponse, code: string, status: number): void {
  const context = `${String(response.status)} ${response.body}`;
  assert.equal(response.status, status, context);
  assert.match(response.contentType ?? '', /xml/, context);
  assert.match(response.body, /^<\?xml version="1\.0" encoding="UTF-8"\?>\s*<Error>/, context);
  const error = parseErrorXml(response.body);
  assert.equal(error.code, code, context);
  assert.notEqual(error.message, '', context);
  assert.notEqual(error.requestId, '', context);
  assert.equal(response.requestIdHeader, error.requestId, 'x-amz-request-id header equals RequestId');
}

/** node:crypto as the hash @smithy/signature-v4 asks for. */
class NodeSha256 {
  readonly #hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash =
      secret === undefined
        ? createHash('sha256')
        : createHmac('sha256', typeof secret === 'string' ? secret : Buffer.from(secret as ArrayBuffer));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(typeof data === 'string' ? data : Buffer.from(data as ArrayBuffer));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
  reset(): void {}
}

/** A root-signed GET whose signature (and x-amz-date) is made at `signingDate` instead of now. */
async function getSignedAt(s3Url: string, objectPath: string, signingDate: Date): Promise<SeenResponse> {
  const url = new URL(objectPath, s3Url);
  const signer = new SignatureV4({
    credentials: { accessKeyId: ROOT_USER, secretAccessKey: ROOT_PASSWORD },
    region: 'us-east-1',
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const signed = await signer.sign(
    {
      method: 'GET',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: {},
      headers: {
        host: url.host,
        'x-amz-content-sha256': createHash('sha256').update('').digest('hex'),
      },
    },
    { signingDate },
  );
  const { host: _host, ...headers } = signed.headers;
  assert.ok(headers['x-amz-date']?.startsWith(signingDate.toISOString().slice(0, 10).replaceAll('-', '')));
  return seen(await fetch(url, { headers }));
}

/** Replaces one query parameter of a URL, keeping everything else byte for byte. */
function withParam(url: string, name: string, value: string): string {
  const pattern = new RegExp(`([?&]${name}=)[^&]*`);
  assert.match(url, pattern);
  return url.replace(pattern, `$1${value}`);
}

describe('presigned URLs and request authentication', () => {
  let server: TestServer;
  let s3: S3Client;
  const body = randomBytes(20_000);
  before(async () => {
    server = await startServer();
    s3 = server.client();
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a file.bin', Body: body }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'other.bin', Body: 'other' }));
  });
  after(() => server.cleanup());

  /** Asserts that `key` does not exist: failures store nothing. */
  async function assertAbsent(key: string): Promise<void> {
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })), 'NotFound', 404);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    assert.ok(!(listed.Contents ?? []).some((c) => c.Key === key), `${key} is not listed`);
  }

  it('GETs an object through a presigned URL with plain fetch', async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'a file.bin' }), {
      expiresIn: 60,
    });
    assert.match(url, /X-Amz-Signature=[0-9a-f]{64}/);
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), body);
    assert.equal(response.headers.get('etag'), `"${createHash('md5').update(body).digest('hex')}"`);

    const overridden = await getSignedUrl(
      s3,
      new GetObjectCommand({
        Bucket: BUCKET,
        Key: 'other.bin',
        ResponseContentDisposition: 'attachment; filename="x.bin"',
        ResponseContentType: 'text/x-test',
      }),
      { expiresIn: 60 },
    );
    const withHeaders = await fetch(overridden);
    assert.equal(withHeaders.status, 200);
    assert.equal(withHeaders.headers.get('content-disposition'), 'attachment; filename="x.bin"');
    assert.equal(withHeaders.headers.get('content-type'), 'text/x-test');
    assert.equal(await withHeaders.text(), 'other');
  });

  it('PUTs an object through a presigned URL with plain fetch', async () => {
    const data = randomBytes(30_000);
    const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'uploaded/by url.bin' }), {
      expiresIn: 60,
    });
    const response = await fetch(url, { method: 'PUT', body: data });
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(response.headers.get('etag'), `"${createHash('md5').update(data).digest('hex')}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'uploaded/by url.bin' }));
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), data);
  });

  it('refuses expired URLs with AccessDenied, storing nothing', async () => {
    const blobsBefore = await countBlobFiles(server.dataDir);
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'a file.bin' }), {
      expiresIn: 1,
    });
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'expired.bin' }), {
      expiresIn: 1,
    });
    await sleep(2_100);
    assertS3ErrorResponse(await seen(await fetch(getUrl)), 'AccessDenied', 403);
    assertS3ErrorResponse(
      await seen(await fetch(putUrl, { method: 'PUT', body: 'late' })),
      'AccessDenied',
      403,
    );
    await assertAbsent('expired.bin');
    assert.equal(await countBlobFiles(server.dataDir), blobsBefore);
  });

  it('refuses tampered URLs with SignatureDoesNotMatch, storing nothing', async () => {
    const blobsBefore = await countBlobFiles(server.dataDir);
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'a file.bin' }), {
      expiresIn: 60,
    });
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'signed-for.bin' }), {
      expiresIn: 60,
    });
    const signature = /X-Amz-Signature=([0-9a-f]{64})/.exec(getUrl)![1]!;
    const flipped = `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
    const tampered = [
      // another key with this key's signature
      getUrl.replace('/a%20file.bin?', '/other.bin?'),
      // another signature
      withParam(getUrl, 'X-Amz-Signature', flipped),
      // a longer lifetime than was signed
      withParam(getUrl, 'X-Amz-Expires', '604800'),
      // an added response override
      `${getUrl}&response-content-type=text%2Fhtml`,
    ];
    assert.notEqual(tampered[0], getUrl);
    for (const url of tampered) {
      assertS3ErrorResponse(await seen(await fetch(url)), 'SignatureDoesNotMatch', 403);
    }
    // A PUT URL sent to another key, or used as a GET of its own key.
    const elsewhere = putUrl.replace('/signed-for.bin?', '/elsewhere.bin?');
    assert.notEqual(elsewhere, putUrl);
    assertS3ErrorResponse(
      await seen(await fetch(elsewhere, { method: 'PUT', body: 'x' })),
      'SignatureDoesNotMatch',
      403,
    );
    assertS3ErrorResponse(await seen(await fetch(putUrl)), 'SignatureDoesNotMatch', 403);
    assertS3ErrorResponse(
      await seen(await fetch(withParam(putUrl, 'X-Amz-Signature', flipped), { method: 'PUT', body: 'x' })),
      'SignatureDoesNotMatch',
      403,
    );
    await assertAbsent('elsewhere.bin');
    await assertAbsent('signed-for.bin');
    assert.equal(await countBlobFiles(server.dataDir), blobsBefore);
  });

  it('refuses URLs signed with an unknown access key with InvalidAccessKeyId, storing nothing', async () => {
    const blobsBefore = await countBlobFiles(server.dataDir);
    const stranger = server.client({ accessKeyId: 'AKIASTRANGER0000', secretAccessKey: 'not-a-real-secret' });
    const getUrl = await getSignedUrl(stranger, new GetObjectCommand({ Bucket: BUCKET, Key: 'a file.bin' }), {
      expiresIn: 60,
    });
    const putUrl = await getSignedUrl(
      stranger,
      new PutObjectCommand({ Bucket: BUCKET, Key: 'stranger.bin' }),
      {
        expiresIn: 60,
      },
    );
    assertS3ErrorResponse(await seen(await fetch(getUrl)), 'InvalidAccessKeyId', 403);
    assertS3ErrorResponse(
      await seen(await fetch(putUrl, { method: 'PUT', body: 'x' })),
      'InvalidAccessKeyId',
      403,
    );
    await expectS3Error(
      stranger.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a file.bin' })),
      'InvalidAccessKeyId',
      403,
    );
    await assertAbsent('stranger.bin');
    assert.equal(await countBlobFiles(server.dataDir), blobsBefore);
  });

  it('refuses requests signed with a wrong secret with SignatureDoesNotMatch, storing nothing', async () => {
    const blobsBefore = await countBlobFiles(server.dataDir);
    const wrong = server.client({ accessKeyId: ROOT_USER, secretAccessKey: `${ROOT_PASSWORD}-wrong` });
    await expectS3Error(
      wrong.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'a file.bin' })),
      'SignatureDoesNotMatch',
      403,
    );
    await expectS3Error(
      wrong.send(
        new PutObjectCommand({ Bucket: BUCKET, Key: 'wrong-secret.bin', Body: randomBytes(10_000) }),
      ),
      'SignatureDoesNotMatch',
      403,
    );
    const raw = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: `/${BUCKET}/wrong-secret.bin`,
      body: 'raw body',
      credentials: { accessKeyId: ROOT_USER, secretAccessKey: 'wrong' },
    });
    const requestId = raw.headers['x-amz-request-id'];
    assertS3ErrorResponse(
      {
        status: raw.status,
        requestIdHeader: typeof requestId === 'string' ? requestId : undefined,
        contentType:
          typeof raw.headers['content-type'] === 'string' ? raw.headers['content-type'] : undefined,
        body: raw.body,
      },
      'SignatureDoesNotMatch',
      403,
    );
    await assertAbsent('wrong-secret.bin');
    assert.equal(await countBlobFiles(server.dataDir), blobsBefore);
  });

  it('refuses anonymous requests with AccessDenied, storing nothing', async () => {
    const blobsBefore = await countBlobFiles(server.dataDir);
    const objectUrl = `${server.s3Url}/${BUCKET}/a%20file.bin`;
    assertS3ErrorResponse(await seen(await fetch(objectUrl)), 'AccessDenied', 403);
    assertS3ErrorResponse(await seen(await fetch(`${server.s3Url}/`)), 'AccessDenied', 403);
    assertS3ErrorResponse(
      await seen(await fetch(`${server.s3Url}/${BUCKET}?list-type=2`)),
      'AccessDenied',
      403,
    );
    assertS3ErrorResponse(
      await seen(await fetch(`${server.s3Url}/${BUCKET}/anonymous.bin`, { method: 'PUT', body: 'anon' })),
      'AccessDenied',
      403,
    );
    assertS3ErrorResponse(
      await seen(await fetch(`${server.s3Url}/anonymous-bucket`, { method: 'PUT' })),
      'AccessDenied',
      403,
    );
    const head = await fetch(objectUrl, { method: 'HEAD' });
    assert.equal(head.status, 403);
    assert.match(head.headers.get('x-amz-request-id') ?? '', /\S/);
    await assertAbsent('anonymous.bin');
    await expectS3Error(
      s3.send(new HeadObjectCommand({ Bucket: 'anonymous-bucket', Key: 'x' })),
      'NotFound',
      404,
    );
    assert.equal(await countBlobFiles(server.dataDir), blobsBefore);
  });

  it('refuses a request signed 20 minutes off with RequestTimeTooSkewed', async () => {
    const objectPath = `/${BUCKET}/a%20file.bin`;
    const now = Date.now();
    assertS3ErrorResponse(
      await getSignedAt(server.s3Url, objectPath, new Date(now - 20 * 60_000)),
      'RequestTimeTooSkewed',
      403,
    );
    assertS3ErrorResponse(
      await getSignedAt(server.s3Url, objectPath, new Date(now + 20 * 60_000)),
      'RequestTimeTooSkewed',
      403,
    );
    // The same request signed now is fine: only the time was wrong.
    const fine = await getSignedAt(server.s3Url, objectPath, new Date(now));
    assert.equal(fine.status, 200);
  });
});
