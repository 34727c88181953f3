import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Sha256Node } from '@smithy/core/checksum';
import { buildQueryString, HttpRequest, type IHttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { AuthError, type AuthErrorCode } from './auth-error.ts';
import { createChunkedDecoder } from './chunked-decoder.ts';
import { canonicalUriCandidates, EMPTY_SHA256, sha256Hex } from './sigv4-canonical.ts';
import { verifyRequest, type SignedRequest } from './sigv4-verify.ts';

// Cross-checks with the signers real clients use: @aws-sdk/client-s3 (its requests captured instead of
// sent), @aws-sdk/s3-request-presigner and @smithy/signature-v4.

async function rejects(promise: Promise<unknown>, code: AuthErrorCode, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AuthError, `expected an AuthError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

function withHeaders(req: SignedRequest, headers: Record<string, string | undefined>): SignedRequest {
  return { ...req, headers: { ...req.headers, ...headers } };
}

const ACCESS_KEY = 'BUCKETBELLTESTKEY';
const SECRET = 'test/secret+key=with/odd+chars';
const sdkLookup = (id: string): Promise<string | undefined> =>
  Promise.resolve(id === ACCESS_KEY ? SECRET : undefined);
const CAPTURED = 'captured by the test request handler';
const ENDPOINT_HOST = '127.0.0.1:9000';

interface Captured {
  readonly request: SignedRequest;
  readonly body: Buffer | undefined;
}

/** Turns the request the SDK would send into what node:http would hand the server. */
async function toSignedRequest(request: IHttpRequest): Promise<Captured> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  let body: Buffer | undefined;
  const raw: unknown = request.body;
  if (typeof raw === 'string') body = Buffer.from(raw);
  else if (raw instanceof Uint8Array) body = Buffer.from(raw);
  else if (raw instanceof Readable) {
    const chunks: Buffer[] = [];
    for await (const chunk of raw) chunks.push(Buffer.from(chunk as Uint8Array));
    body = Buffer.concat(chunks);
  }
  return {
    request: {
      method: request.method,
      rawPath: request.path,
      rawQuery: buildQueryString(request.query ?? {}),
      headers,
    },
    body,
  };
}

/** An S3 client whose requests are captured instead of sent. */
function capturingClient(): { client: S3Client; captured: Captured[] } {
  const captured: Captured[] = [];
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: `http://${ENDPOINT_HOST}`,
    forcePathStyle: true,
    maxAttempts: 1,
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
    requestHandler: {
      handle: async (request: HttpRequest) => {
        captured.push(await toSignedRequest(request));
        throw new Error(CAPTURED);
      },
    },
  });
  return { client, captured };
}

async function capture(send: (client: S3Client) => Promise<unknown>): Promise<Captured> {
  const { client, captured } = capturingClient();
  await assert.rejects(send(client), new RegExp(CAPTURED));
  const [first] = captured;
  assert.ok(first !== undefined);
  return first;
}

/** Splits a presigned URL like an HTTP client does, without normalising the path. */
function presignedRequest(url: string, method: string): SignedRequest {
  const match = /^https?:\/\/([^/]+)(\/[^?]*)(?:\?(.*))?$/.exec(url);
  assert.ok(match !== null, url);
  return { method, rawPath: match[2]!, rawQuery: match[3] ?? '', headers: { host: match[1]! } };
}

const SPECIAL_KEYS = [
  'plain.txt',
  'a b',
  'a+b',
  'tilde~x',
  "bang!quote'paren()star*",
  'unicode/ü/日本語/😀',
  'percent%20literal',
  'dir//double/slash/',
  'semi;colon,comma=eq&amp$dollar@at:colon',
  'x/./y/../z',
  '  spaces  ',
  '#hash?question',
  '[brackets]{braces}^caret`tick|pipe\\backslash"quote<lt>gt',
];

describe('requests signed by @aws-sdk/client-s3', () => {
  for (const key of SPECIAL_KEYS) {
    it(`GetObject ${JSON.stringify(key)}`, async () => {
      const { request } = await capture((c) =>
        c.send(new GetObjectCommand({ Bucket: 'bucket', Key: key, Range: 'bytes=0-9' })),
      );
      // The SDK sends the path already in canonical form, so only one candidate is tried.
      assert.deepEqual(canonicalUriCandidates(request.rawPath), [request.rawPath]);
      const result = await verifyRequest(request, sdkLookup, { now: new Date() });
      assert.equal(result?.accessKeyId, ACCESS_KEY);
      assert.deepEqual(result.payload, { kind: 'signed', sha256: EMPTY_SHA256 });
    });
  }

  it('PutObject with a body and metadata: the payload hash is returned for the caller to check', async () => {
    const body = 'hello, world';
    const { request } = await capture((c) =>
      c.send(
        new PutObjectCommand({
          Bucket: 'bucket',
          Key: 'a b+c',
          Body: body,
          Metadata: { name: '  spaced   value ' },
          ContentType: 'text/plain',
        }),
      ),
    );
    const result = await verifyRequest(request, sdkLookup, { now: new Date() });
    assert.deepEqual(result?.payload, { kind: 'signed', sha256: sha256Hex(body) });
  });

  it('PutObject with a stream: aws-chunked with an unsigned checksum trailer that the decoder reads', async () => {
    const data = Buffer.from('streamed '.repeat(10_000));
    const { request, body } = await capture((c) =>
      c.send(
        new PutObjectCommand({
          Bucket: 'bucket',
          Key: 'streamed',
          Body: Readable.from([data.subarray(0, 30_000), data.subarray(30_000)]),
          ContentLength: data.length,
        }),
      ),
    );
    const result = await verifyRequest(request, sdkLookup, { now: new Date() });
    assert.deepEqual(result?.payload, { kind: 'streaming-unsigned-trailer' });
    assert.ok(body !== undefined);
    const decoder = createChunkedDecoder(
      { kind: 'streaming-unsigned-trailer' },
      { decodedContentLength: Number(request.headers['x-amz-decoded-content-length']) },
    );
    const out: Buffer[] = [];
    decoder.on('data', (chunk: Buffer) => out.push(chunk));
    const ended = new Promise((resolve, reject) => decoder.on('end', resolve).on('error', reject));
    decoder.end(body);
    await ended;
    assert.deepEqual(Buffer.concat(out), data);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(data));
    assert.equal(decoder.trailers.get('x-amz-checksum-crc32'), crc.toString('base64'));
  });

  it('bucket and multipart operations with sub-resources and bodies', async () => {
    const sends: Array<(client: S3Client) => Promise<unknown>> = [
      (c) =>
        c.send(
          new ListObjectsV2Command({
            Bucket: 'bucket',
            Prefix: 'a b+c/ü&=',
            Delimiter: '/',
            StartAfter: "it's",
          }),
        ),
      (c) =>
        c.send(
          new DeleteObjectsCommand({ Bucket: 'bucket', Delete: { Objects: [{ Key: 'a' }, { Key: 'b c' }] } }),
        ),
      (c) => c.send(new CreateMultipartUploadCommand({ Bucket: 'bucket', Key: 'big file' })),
      (c) =>
        c.send(
          new UploadPartCommand({
            Bucket: 'bucket',
            Key: 'big file',
            UploadId: 'id/with+odd=chars',
            PartNumber: 3,
            Body: 'part',
          }),
        ),
      (c) => c.send(new HeadObjectCommand({ Bucket: 'bucket', Key: 'ü', IfNoneMatch: '"etag"' })),
      (c) =>
        c.send(
          new CopyObjectCommand({
            Bucket: 'bucket',
            Key: 'copy',
            CopySource: 'bucket/source%20key',
            MetadataDirective: 'REPLACE',
          }),
        ),
    ];
    for (const send of sends) {
      const { request, body } = await capture(send);
      const result = await verifyRequest(request, sdkLookup, { now: new Date() });
      assert.equal(
        result?.accessKeyId,
        ACCESS_KEY,
        `${request.method} ${request.rawPath}?${request.rawQuery}`,
      );
      if (result.payload.kind === 'signed') assert.equal(result.payload.sha256, sha256Hex(body ?? ''));
    }
  });

  it('rejects tampering with what the SDK signed', async () => {
    const { request } = await capture((c) =>
      c.send(
        new PutObjectCommand({
          Bucket: 'bucket',
          Key: 'k',
          Body: 'x',
          Metadata: { owner: 'alice' },
          Tagging: 'a=b',
        }),
      ),
    );
    const now = new Date();
    await verifyRequest(request, sdkLookup, { now });
    const tampered: Array<readonly [SignedRequest, AuthErrorCode]> = [
      [{ ...request, rawPath: '/bucket/k2' }, 'SignatureDoesNotMatch'],
      [{ ...request, rawPath: '/other/k' }, 'SignatureDoesNotMatch'],
      [{ ...request, rawQuery: `${request.rawQuery}&acl` }, 'SignatureDoesNotMatch'],
      [{ ...request, method: 'POST' }, 'SignatureDoesNotMatch'],
      [withHeaders(request, { 'x-amz-meta-owner': 'mallory' }), 'SignatureDoesNotMatch'],
      [withHeaders(request, { 'x-amz-tagging': 'a=c' }), 'SignatureDoesNotMatch'],
      [withHeaders(request, { 'x-amz-content-sha256': sha256Hex('y') }), 'SignatureDoesNotMatch'],
      [withHeaders(request, { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }), 'SignatureDoesNotMatch'],
      [withHeaders(request, { 'x-amz-acl': 'public-read' }), 'AccessDenied'],
    ];
    for (const [req, code] of tampered) await rejects(verifyRequest(req, sdkLookup, { now }), code);
    await rejects(
      verifyRequest(request, () => Promise.resolve('wrong secret'), { now }),
      'SignatureDoesNotMatch',
    );
    await rejects(
      verifyRequest(request, sdkLookup, { now: new Date(now.getTime() + 16 * 60_000) }),
      'RequestTimeTooSkewed',
    );
    await rejects(
      verifyRequest(request, sdkLookup, { now: new Date(now.getTime() - 16 * 60_000) }),
      'RequestTimeTooSkewed',
    );
  });
});

describe('presigned URLs from @aws-sdk/s3-request-presigner', () => {
  for (const key of SPECIAL_KEYS.filter((k) => !k.includes('./'))) {
    it(`GetObject ${JSON.stringify(key)}`, async () => {
      const { client } = capturingClient();
      const url = await getSignedUrl(
        client,
        new GetObjectCommand({ Bucket: 'bucket', Key: key, ResponseContentType: 'text/plain; x=y' }),
        {
          expiresIn: 300,
        },
      );
      const result = await verifyRequest(presignedRequest(url, 'GET'), sdkLookup, { now: new Date() });
      assert.equal(result?.accessKeyId, ACCESS_KEY);
      assert.deepEqual(result.payload, { kind: 'unsigned' });
    });
  }

  it('PutObject with metadata hoisted into the query, then tampered, expired and early', async () => {
    const { client } = capturingClient();
    const url = await getSignedUrl(
      client,
      new PutObjectCommand({ Bucket: 'bucket', Key: 'up load', Metadata: { a: 'b' } }),
      {
        expiresIn: 60,
      },
    );
    assert.match(url, /x-amz-meta-a=b/);
    const req = presignedRequest(url, 'PUT');
    const signedAt = new Date(
      Date.parse(
        new URL(url).searchParams
          .get('X-Amz-Date')!
          .replace(/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/, '$1-$2-$3T$4:$5:$6Z'),
      ),
    );
    const ok = await verifyRequest(req, sdkLookup, { now: signedAt });
    assert.deepEqual(ok?.payload, { kind: 'unsigned' });
    // A browser may send any unsigned header but x-amz-*, and Content-Type is left unsigned by the presigner.
    await verifyRequest(withHeaders(req, { 'content-type': 'image/png', 'content-length': '5' }), sdkLookup, {
      now: signedAt,
    });
    await rejects(
      verifyRequest({ ...req, method: 'GET' }, sdkLookup, { now: signedAt }),
      'SignatureDoesNotMatch',
    );
    await rejects(
      verifyRequest({ ...req, rawPath: '/bucket/other' }, sdkLookup, { now: signedAt }),
      'SignatureDoesNotMatch',
    );
    await rejects(
      verifyRequest(
        { ...req, rawQuery: req.rawQuery.replace('x-amz-meta-a=b', 'x-amz-meta-a=c') },
        sdkLookup,
        { now: signedAt },
      ),
      'SignatureDoesNotMatch',
    );
    await rejects(
      verifyRequest(
        { ...req, rawQuery: req.rawQuery.replace('X-Amz-Expires=60', 'X-Amz-Expires=600') },
        sdkLookup,
        { now: signedAt },
      ),
      'SignatureDoesNotMatch',
    );
    await rejects(
      verifyRequest(withHeaders(req, { 'x-amz-copy-source': 'bucket/secret' }), sdkLookup, { now: signedAt }),
      'AccessDenied',
      /not signed/,
    );
    await rejects(
      verifyRequest(withHeaders(req, { host: 'evil.example:9000' }), sdkLookup, { now: signedAt }),
      'SignatureDoesNotMatch',
    );
    await verifyRequest(req, sdkLookup, { now: new Date(signedAt.getTime() + 60_000) });
    await rejects(
      verifyRequest(req, sdkLookup, { now: new Date(signedAt.getTime() + 61_000) }),
      'AccessDenied',
      /expired/,
    );
    await rejects(
      verifyRequest(req, sdkLookup, { now: new Date(signedAt.getTime() - 16 * 60_000) }),
      'AccessDenied',
      /not valid yet/,
    );
  });

  it('checks the presigned parameters themselves', async () => {
    const { client } = capturingClient();
    const url = await getSignedUrl(client, new GetObjectCommand({ Bucket: 'bucket', Key: 'k' }), {
      expiresIn: 60,
    });
    const req = presignedRequest(url, 'GET');
    const now = new Date();
    const edit = (from: RegExp, to: string): SignedRequest => ({
      ...req,
      rawQuery: req.rawQuery.replace(from, to),
    });
    await rejects(
      verifyRequest(edit(/X-Amz-Expires=60/, 'X-Amz-Expires=604801'), sdkLookup, { now }),
      'AuthorizationQueryParametersError',
    );
    await rejects(
      verifyRequest(edit(/X-Amz-Expires=60/, 'X-Amz-Expires=0'), sdkLookup, { now }),
      'AuthorizationQueryParametersError',
    );
    await rejects(
      verifyRequest(edit(/X-Amz-Expires=60/, 'X-Amz-Expires=-1'), sdkLookup, { now }),
      'AuthorizationQueryParametersError',
    );
    await rejects(
      verifyRequest(edit(/&X-Amz-Expires=60/, ''), sdkLookup, { now }),
      'AuthorizationQueryParametersError',
    );
    await rejects(
      verifyRequest(edit(/X-Amz-Algorithm=[^&]*/, 'X-Amz-Algorithm=AWS4-HMAC-SHA1'), sdkLookup, { now }),
      'AuthorizationQueryParametersError',
    );
    await rejects(
      verifyRequest(edit(/X-Amz-Date=\d{8}/, 'X-Amz-Date=19990101'), sdkLookup, { now }),
      'AuthorizationQueryParametersError',
    );
    await rejects(
      verifyRequest(edit(/X-Amz-SignedHeaders=host/, 'X-Amz-SignedHeaders=range'), sdkLookup, { now }),
      'AuthorizationQueryParametersError',
    );
    await rejects(
      verifyRequest({ ...req, rawQuery: `${req.rawQuery}&X-Amz-Signature=${'0'.repeat(64)}` }, sdkLookup, {
        now,
      }),
      'AuthorizationQueryParametersError',
    );
    await rejects(
      verifyRequest(
        {
          ...req,
          rawQuery: req.rawQuery.replace(
            /X-Amz-Signature=(.)/,
            (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`,
          ),
        },
        sdkLookup,
        { now },
      ),
      'SignatureDoesNotMatch',
    );
    await rejects(
      verifyRequest(req, sdkLookup, { now, region: 'eu-central-1' }),
      'AuthorizationQueryParametersError',
      /region/,
    );
  });
});

describe('requests signed by @smithy/signature-v4 directly', () => {
  const signer = new SignatureV4({
    service: 's3',
    region: 'eu-west-3',
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
    sha256: Sha256Node,
    uriEscapePath: false,
  });
  const now = new Date();

  it('header auth with repeated query names, odd header spacing and an empty header', async () => {
    const request = new HttpRequest({
      method: 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 9000,
      path: '/bucket/caf%C3%A9%20%2B%21',
      query: { b: ['2', '1'], a: '', 'x-id': 'GetObject' },
      headers: {
        host: ENDPOINT_HOST,
        'x-amz-meta-note': '  lots   of\tspace  ',
        'x-amz-meta-empty': '',
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      },
    });
    const signed = await signer.sign(request, { signingDate: now });
    assert.ok(signed instanceof HttpRequest);
    const { request: req } = await toSignedRequest(signed);
    const result = await verifyRequest(req, sdkLookup, { now, region: 'eu-west-3' });
    assert.deepEqual(result, { accessKeyId: ACCESS_KEY, payload: { kind: 'unsigned' }, region: 'eu-west-3' });
    // Only runs of spaces are normalised, not the words.
    await verifyRequest(withHeaders(req, { 'x-amz-meta-note': 'lots of space' }), sdkLookup, { now });
    await rejects(
      verifyRequest(withHeaders(req, { 'x-amz-meta-note': 'lots of spaces' }), sdkLookup, { now }),
      'SignatureDoesNotMatch',
    );
  });

  it('streaming signed payload with a trailer: the seed and what the decoder needs', async () => {
    const request = new HttpRequest({
      method: 'PUT',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 9000,
      path: '/bucket/object',
      headers: {
        host: ENDPOINT_HOST,
        'content-encoding': 'aws-chunked',
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
        'x-amz-trailer': 'x-amz-checksum-crc32',
        'x-amz-decoded-content-length': '3',
      },
    });
    const signed = await signer.sign(request, { signingDate: now });
    assert.ok(signed instanceof HttpRequest);
    const { request: req } = await toSignedRequest(signed);
    const result = await verifyRequest(req, sdkLookup, { now });
    assert.equal(result?.payload.kind, 'streaming-signed');
    if (result.payload.kind !== 'streaming-signed') return;
    assert.equal(result.payload.trailer, true);
    assert.equal(result.payload.scope, `${result.payload.amzDate.slice(0, 8)}/eu-west-3/s3/aws4_request`);
    assert.match(
      signed.headers['authorization'] ?? '',
      new RegExp(`Signature=${result.payload.seedSignature}$`),
    );
  });

  it('presigned, with the payload hash hoisted into the query under its lower-case header name', async () => {
    const request = new HttpRequest({
      method: 'PUT',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 9000,
      path: '/bucket/%E2%82%AC',
      query: { 'x-id': 'PutObject' },
      headers: { host: ENDPOINT_HOST, 'x-amz-content-sha256': sha256Hex('euro') },
    });
    const presigned = await signer.presign(request, { signingDate: now, expiresIn: 604_800 });
    const { request: req } = await toSignedRequest(presigned);
    const result = await verifyRequest(req, sdkLookup, { now: new Date(now.getTime() + 604_000_000) });
    assert.deepEqual(result?.payload, { kind: 'signed', sha256: sha256Hex('euro') });
  });
});
