// Signed and unsigned aws-chunked uploads (`Content-Encoding: aws-chunked`) against the real server,
// encoded by hand as the AWS documentation describes ("Signature Calculations for the Authorization
// Header: Transferring Payload in Multiple Chunks", and its trailer variant): every chunk signature is
// checked, a tampered or truncated upload is refused with S3's error and leaves neither an object nor
// a blob file. Also the other payload modes of header authentication: `UNSIGNED-PAYLOAD`,
// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`, and a missing `x-amz-content-sha256` (refused, as S3 does).
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Sha256Node } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { blobFiles } from './support/blob-files.ts';
import { rawRequest, sendExact, type RawResponse } from './support/raw-request.ts';
import { expectS3Error, parseErrorXml } from './support/s3-errors.ts';
import { ROOT_PASSWORD, ROOT_USER, startServer, type TestServer } from './support/test-server.ts';
import { until } from './support/until.ts';
import { INLINE_MAX_BYTES } from '../src/mutations/object-bytes.ts';

const BUCKET = 'streaming';
const REGION = 'us-east-1';
const EMPTY_SHA256 = createHash('sha256').digest('hex');
const CHUNK = 16 * 1024;
/** How long to wait for the server to act on a hung-up upload: generously, the machine is shared. */
const GENEROUS_WAIT_MS = 20_000;

const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
type StreamingMode =
  typeof STREAMING_SIGNED | typeof STREAMING_SIGNED_TRAILER | typeof STREAMING_UNSIGNED_TRAILER;

const signer = new SignatureV4({
  credentials: { accessKeyId: ROOT_USER, secretAccessKey: ROOT_PASSWORD },
  region: REGION,
  service: 's3',
  sha256: Sha256Node,
  uriEscapePath: false,
  // Sign exactly the headers given: no x-amz-content-sha256 is added.
  applyChecksum: false,
});

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const crc32Base64 = (data: Buffer): string => {
  const digest = Buffer.alloc(4);
  digest.writeUInt32BE(crc32(data));
  return digest.toString('base64');
};

/** Signs a request's headers with SigV4 (root keys); the body is not read. */
async function signHeaders(
  server: TestServer,
  method: string,
  pathAndQuery: string,
  headers: Record<string, string>,
): Promise<Record<string, string>> {
  const url = new URL(pathAndQuery, server.s3Url);
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = v;
  const signed = await signer.sign(
    new HttpRequest({
      method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query,
      headers: { host: url.host, ...headers },
    }),
  );
  return signed.headers;
}

/** What the chunk signatures of a streaming upload chain from (AWS: "seed signature"). */
interface StreamingSignature {
  readonly headers: Record<string, string>;
  readonly seed: string;
  readonly amzDate: string;
  readonly scope: string;
  readonly signingKey: Buffer;
}

/** Signs the headers of an aws-chunked PUT; the caller encodes the body with `encodeChunked`. */
async function signStreamingPut(
  server: TestServer,
  key: string,
  mode: StreamingMode,
  options: { decodedLength: number; encodedLength: number; trailer?: string },
): Promise<StreamingSignature> {
  const headers = await signHeaders(server, 'PUT', `/${BUCKET}/${encodeURIComponent(key)}`, {
    'content-encoding': 'aws-chunked',
    'content-length': String(options.encodedLength),
    'x-amz-content-sha256': mode,
    'x-amz-decoded-content-length': String(options.decodedLength),
    ...(options.trailer === undefined ? {} : { 'x-amz-trailer': options.trailer }),
  });
  const seed = /Signature=([0-9a-f]{64})$/.exec(headers['authorization'] ?? '')?.[1];
  const amzDate = headers['x-amz-date'];
  assert.ok(seed !== undefined && amzDate !== undefined, 'the signer produced a seed signature');
  const date = amzDate.slice(0, 8);
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${ROOT_PASSWORD}`, date), REGION), 's3'), 'aws4_request');
  return { headers, seed, amzDate, scope: `${date}/${REGION}/s3/aws4_request`, signingKey };
}

interface Encoded {
  readonly body: Buffer;
  /** The size of every data chunk but the last. */
  readonly chunkSize: number;
  /** The signature of every chunk, the final 0-byte one last (signed modes only). */
  readonly chunkSignatures: readonly string[];
  readonly trailerSignature: string | undefined;
}

/**
 * Encodes `payload` as aws-chunked, the way a client sends it: `hex-size;chunk-signature=SIG\r\n`
 * (`hex-size\r\n` unsigned), the data and CRLF, a final 0-byte chunk, then the trailers (followed by
 * `x-amz-trailer-signature` when signed) and an empty line.
 */
function encodeChunked(
  payload: Buffer,
  signing: Omit<StreamingSignature, 'headers'> | undefined,
  trailers: ReadonlyArray<readonly [string, string]> = [],
  chunkSize = CHUNK,
): Encoded {
  const parts: Buffer[] = [];
  const chunkSignatures: string[] = [];
  let previous = signing?.seed ?? '';
  for (let pos = 0; ; pos += chunkSize) {
    const data = payload.subarray(pos, Math.min(pos + chunkSize, payload.length));
    if (signing === undefined) {
      parts.push(Buffer.from(`${data.length.toString(16)}\r\n`));
    } else {
      const toSign = [
        'AWS4-HMAC-SHA256-PAYLOAD',
        signing.amzDate,
        signing.scope,
        previous,
        EMPTY_SHA256,
        sha256Hex(data),
      ].join('\n');
      previous = hmac(signing.signingKey, toSign).toString('hex');
      chunkSignatures.push(previous);
      parts.push(Buffer.from(`${data.length.toString(16)};chunk-signature=${previous}\r\n`));
    }
    if (data.length === 0) break;
    parts.push(data, Buffer.from('\r\n'));
  }
  let trailerSignature: string | undefined;
  for (const [name, value] of trailers) parts.push(Buffer.from(`${name}:${value}\r\n`));
  if (signing !== undefined && trailers.length > 0) {
    const canonical = trailers.map(([name, value]) => `${name}:${value}\n`).join('');
    const toSign = [
      'AWS4-HMAC-SHA256-TRAILER',
      signing.amzDate,
      signing.scope,
      previous,
      sha256Hex(canonical),
    ].join('\n');
    trailerSignature = hmac(signing.signingKey, toSign).toString('hex');
    parts.push(Buffer.from(`x-amz-trailer-signature:${trailerSignature}\r\n`));
  }
  parts.push(Buffer.from('\r\n'));
  return { body: Buffer.concat(parts), chunkSize, chunkSignatures, trailerSignature };
}

/** The encoded length of `payload` as aws-chunked: the same body with placeholder signatures. */
function encodedLength(
  payload: Buffer,
  mode: StreamingMode,
  trailers: ReadonlyArray<readonly [string, string]> = [],
  chunkSize = CHUNK,
): number {
  const placeholder =
    mode === STREAMING_UNSIGNED_TRAILER
      ? undefined
      : { seed: '0'.repeat(64), amzDate: '', scope: '', signingKey: Buffer.alloc(32) };
  return encodeChunked(payload, placeholder, trailers, chunkSize).body.length;
}

/** Replaces one hex digit of `signature` inside the encoded body with another. */
function flipSignature(body: Buffer, signature: string): Buffer {
  const text = body.toString('latin1');
  const at = text.indexOf(signature);
  assert.ok(at !== -1);
  const flipped = `${signature[0] === 'a' ? 'b' : 'a'}${signature.slice(1)}`;
  return Buffer.from(`${text.slice(0, at)}${flipped}${text.slice(at + signature.length)}`, 'latin1');
}

interface Upload {
  readonly mode: StreamingMode;
  readonly payload: Buffer;
  readonly trailers?: ReadonlyArray<readonly [string, string]>;
  /** The `x-amz-trailer` header (the SDK names the checksum trailer there). */
  readonly trailerHeader?: string;
  /** A different x-amz-decoded-content-length than the payload's length. */
  readonly decodedLength?: number;
  /** Changes the encoded body after it was signed; Content-Length follows the result. */
  readonly tamper?: (encoded: Encoded) => Buffer;
  /** The size of the data chunks (default CHUNK). */
  readonly chunkSize?: number;
}

/** An `x-amz-checksum-crc32` trailer, named in `x-amz-trailer`, carrying the CRC32 of `data`. */
const crc32Trailer = (data: Buffer): Pick<Upload, 'trailers' | 'trailerHeader'> => ({
  trailers: [['x-amz-checksum-crc32', crc32Base64(data)]],
  trailerHeader: 'x-amz-checksum-crc32',
});

/** Encodes, signs and sends one aws-chunked PutObject. */
async function putChunked(server: TestServer, key: string, upload: Upload): Promise<RawResponse> {
  const trailers = upload.trailers ?? [];
  const untampered = encodedLength(upload.payload, upload.mode, trailers, upload.chunkSize);
  // A tampered body may differ in length: sign the length that will be sent.
  let length = untampered;
  const build = (signing: Omit<StreamingSignature, 'headers'> | undefined): Buffer => {
    const encoded = encodeChunked(upload.payload, signing, trailers, upload.chunkSize);
    return upload.tamper === undefined ? encoded.body : upload.tamper(encoded);
  };
  if (upload.tamper !== undefined) {
    const probe = {
      seed: '0'.repeat(64),
      amzDate: '',
      scope: '',
      signingKey: Buffer.alloc(32),
    };
    length = build(upload.mode === STREAMING_UNSIGNED_TRAILER ? undefined : probe).length;
  }
  const signing = await signStreamingPut(server, key, upload.mode, {
    decodedLength: upload.decodedLength ?? upload.payload.length,
    encodedLength: length,
    ...(upload.trailerHeader === undefined ? {} : { trailer: upload.trailerHeader }),
  });
  const body = build(upload.mode === STREAMING_UNSIGNED_TRAILER ? undefined : signing);
  assert.equal(body.length, length);
  return sendExact(server.s3Url, {
    method: 'PUT',
    path: `/${BUCKET}/${encodeURIComponent(key)}`,
    headers: signing.headers,
    body,
  });
}

async function bodyOf(s3: S3Client, key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await got.Body!.transformToByteArray());
}

function assertS3Error(res: RawResponse, status: number, code: string): void {
  const error = parseErrorXml(res.body);
  assert.equal(error.code, code, `error code (body: ${res.body})`);
  assert.equal(res.status, status, `status of ${code}`);
  assert.notEqual(error.requestId, '', 'the error carries a request id');
}

/** Four chunks: three full ones and a short last one. */
const payloadOf = (seed: number): Buffer =>
  Buffer.concat([randomBytes(3 * CHUNK), Buffer.from(`tail ${seed}`.repeat(100))]);
/** Four chunks of SMALL_CHUNK bytes or less, at most INLINE_MAX_BYTES in all. */
const SMALL_CHUNK = 4096;
const smallPayloadOf = (seed: number): Buffer =>
  Buffer.concat([randomBytes(3 * SMALL_CHUNK), Buffer.from(`tail ${seed}`.repeat(10))]);

let server: TestServer;
let s3: S3Client;

before(async () => {
  server = await startServer();
  s3 = server.client();
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
});

after(async () => {
  await server.cleanup();
});

describe('aws-chunked uploads that are signed right are stored byte for byte', () => {
  const cases: ReadonlyArray<{ name: string; key: string; upload: (payload: Buffer) => Upload }> = [
    {
      name: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD, several signed chunks',
      key: 'signed',
      upload: (payload) => ({ mode: STREAMING_SIGNED, payload }),
    },
    {
      name: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER with a signed x-amz-checksum-crc32 trailer',
      key: 'signed-trailer',
      upload: (payload) => ({ mode: STREAMING_SIGNED_TRAILER, payload, ...crc32Trailer(payload) }),
    },
    {
      name: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER without any trailer',
      key: 'signed-no-trailer',
      upload: (payload) => ({ mode: STREAMING_SIGNED_TRAILER, payload }),
    },
    {
      name: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER with an x-amz-checksum-crc32 trailer',
      key: 'unsigned-trailer',
      upload: (payload) => ({ mode: STREAMING_UNSIGNED_TRAILER, payload, ...crc32Trailer(payload) }),
    },
  ];
  for (const [i, c] of cases.entries()) {
    // A blob-sized body, and one small enough to be kept in the object's row.
    for (const size of ['large', 'small'] as const) {
      it(`${c.name}${size === 'small' ? ', small object' : ''}`, async () => {
        const payload = size === 'large' ? payloadOf(i) : smallPayloadOf(i);
        const key = size === 'large' ? c.key : `${c.key}-small`;
        const upload = { ...c.upload(payload), ...(size === 'small' ? { chunkSize: SMALL_CHUNK } : {}) };
        const res = await putChunked(server, key, upload);
        assert.equal(res.status, 200, res.body);
        assert.equal(res.headers['etag'], `"${createHash('md5').update(payload).digest('hex')}"`);
        assert.ok(payload.equals(await bodyOf(s3, key)), 'GET returns exactly the payload');
        const head = await s3.send(
          new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }),
        );
        assert.equal(head.ContentLength, payload.length);
        if (upload.trailers !== undefined) assert.equal(head.ChecksumCRC32, crc32Base64(payload));
      });
    }
  }

  it('a 0-byte payload: just the final chunk', async () => {
    const res = await putChunked(server, 'empty', { mode: STREAMING_SIGNED, payload: Buffer.alloc(0) });
    assert.equal(res.status, 200, res.body);
    assert.equal((await bodyOf(s3, 'empty')).length, 0);
  });
});

describe('a tampered, wrong or truncated aws-chunked upload is refused and changes nothing', () => {
  const cases: ReadonlyArray<{
    name: string;
    upload: (payload: Buffer) => Upload;
    status: number;
    code: string;
  }> = [
    {
      name: 'a chunk signature changed',
      upload: (payload) => ({
        mode: STREAMING_SIGNED,
        payload,
        tamper: (e) => flipSignature(e.body, e.chunkSignatures[1]!),
      }),
      status: 403,
      code: 'SignatureDoesNotMatch',
    },
    {
      name: 'the signature of the final 0-byte chunk changed',
      upload: (payload) => ({
        mode: STREAMING_SIGNED,
        payload,
        tamper: (e) => flipSignature(e.body, e.chunkSignatures.at(-1)!),
      }),
      status: 403,
      code: 'SignatureDoesNotMatch',
    },
    {
      name: 'a byte of chunk data changed after signing',
      upload: (payload) => ({
        mode: STREAMING_SIGNED,
        payload,
        tamper: (e) => {
          const body = Buffer.from(e.body);
          const header = `;chunk-signature=${e.chunkSignatures[1]!}\r\n`;
          const at = body.indexOf(header) + header.length + 100;
          body[at] = body[at]! ^ 0xff;
          return body;
        },
      }),
      status: 403,
      code: 'SignatureDoesNotMatch',
    },
    {
      name: 'two chunks swapped (each correctly signed, in the wrong order)',
      upload: (payload) => ({
        mode: STREAMING_SIGNED,
        payload,
        tamper: (e) => {
          const text = e.body.toString('latin1');
          const start = (i: number) =>
            text.indexOf(`${e.chunkSize.toString(16)};chunk-signature=${e.chunkSignatures[i]!}`);
          const [a, b, c] = [start(0), start(1), start(2)];
          return Buffer.from(
            text.slice(0, a) + text.slice(b, c) + text.slice(a, b) + text.slice(c),
            'latin1',
          );
        },
      }),
      status: 403,
      code: 'SignatureDoesNotMatch',
    },
    {
      name: 'the trailer signature changed',
      upload: (payload) => ({
        mode: STREAMING_SIGNED_TRAILER,
        payload,
        ...crc32Trailer(payload),
        tamper: (e) => flipSignature(e.body, e.trailerSignature!),
      }),
      status: 403,
      code: 'SignatureDoesNotMatch',
    },
    {
      name: 'the trailer value changed after signing',
      upload: (payload) => ({
        mode: STREAMING_SIGNED_TRAILER,
        payload,
        ...crc32Trailer(payload),
        tamper: (e) =>
          Buffer.from(
            e.body
              .toString('latin1')
              .replace(`x-amz-checksum-crc32:${crc32Base64(payload)}`, 'x-amz-checksum-crc32:AAAAAA=='),
            'latin1',
          ),
      }),
      status: 403,
      code: 'SignatureDoesNotMatch',
    },
    {
      name: 'the trailer signature left out',
      upload: (payload) => ({
        mode: STREAMING_SIGNED_TRAILER,
        payload,
        ...crc32Trailer(payload),
        tamper: (e) =>
          Buffer.from(
            e.body.toString('latin1').replace(`x-amz-trailer-signature:${e.trailerSignature!}\r\n`, ''),
            'latin1',
          ),
      }),
      status: 403,
      code: 'SignatureDoesNotMatch',
    },
    {
      name: 'a signed x-amz-checksum-crc32 trailer that does not match the payload',
      upload: (payload) => ({
        mode: STREAMING_SIGNED_TRAILER,
        payload,
        ...crc32Trailer(Buffer.from('something else')),
      }),
      status: 400,
      code: 'BadDigest',
    },
    {
      name: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER with an x-amz-checksum-crc32 trailer that does not match',
      upload: (payload) => ({
        mode: STREAMING_UNSIGNED_TRAILER,
        payload,
        ...crc32Trailer(Buffer.from('something else')),
      }),
      status: 400,
      code: 'BadDigest',
    },
    {
      name: 'x-amz-decoded-content-length one byte more than the payload',
      upload: (payload) => ({ mode: STREAMING_SIGNED, payload, decodedLength: payload.length + 1 }),
      status: 400,
      code: 'IncompleteBody',
    },
    {
      name: 'x-amz-decoded-content-length one byte less than the payload',
      upload: (payload) => ({ mode: STREAMING_SIGNED, payload, decodedLength: payload.length - 1 }),
      status: 400,
      code: 'IncompleteBody',
    },
    {
      name: 'the body cut off in the middle of a chunk',
      upload: (payload) => ({
        mode: STREAMING_SIGNED,
        payload,
        tamper: (e) => e.body.subarray(0, Math.floor(e.body.length / 2)),
      }),
      status: 400,
      code: 'IncompleteBody',
    },
    {
      name: 'the body cut off before the final 0-byte chunk',
      upload: (payload) => ({
        mode: STREAMING_SIGNED,
        payload,
        tamper: (e) => {
          const at = e.body.indexOf(`0;chunk-signature=${e.chunkSignatures.at(-1)!}`);
          return e.body.subarray(0, at);
        },
      }),
      status: 400,
      code: 'IncompleteBody',
    },
  ];

  for (const [i, c] of cases.entries()) {
    it(`${c.name}: ${c.code}`, async () => {
      const key = `refused-${i}`;
      const before = await blobFiles(server.dataDir);
      const res = await putChunked(server, key, c.upload(payloadOf(i)));
      assertS3Error(res, c.status, c.code);
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })), 'NotFound', 404);
      assert.deepEqual(await blobFiles(server.dataDir), before, 'no blob file is left behind');
    });
    // The same with a body small enough to be kept in the object's row (received in memory).
    it(`${c.name}, small object: ${c.code}`, async () => {
      const key = `refused-small-${i}`;
      const payload = smallPayloadOf(i);
      assert.ok(payload.length <= INLINE_MAX_BYTES);
      const res = await putChunked(server, key, { ...c.upload(payload), chunkSize: SMALL_CHUNK });
      assertS3Error(res, c.status, c.code);
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })), 'NotFound', 404);
    });
  }

  it('chunks signed for another request are refused (the chain starts at this request’s signature)', async () => {
    const payload = payloadOf(99);
    const length = encodedLength(payload, STREAMING_SIGNED);
    const options = { decodedLength: payload.length, encodedLength: length };
    const other = await signStreamingPut(server, 'elsewhere', STREAMING_SIGNED, options);
    const mine = await signStreamingPut(server, 'spliced', STREAMING_SIGNED, options);
    const before = await blobFiles(server.dataDir);
    const res = await sendExact(server.s3Url, {
      method: 'PUT',
      path: `/${BUCKET}/spliced`,
      headers: mine.headers,
      body: encodeChunked(payload, other).body,
    });
    assertS3Error(res, 403, 'SignatureDoesNotMatch');
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'spliced' })), 'NotFound', 404);
    assert.deepEqual(await blobFiles(server.dataDir), before);
  });

  it('a client that hangs up mid-body leaves no object and no blob file', async () => {
    const payload = Buffer.concat([payloadOf(8), randomBytes(8 * CHUNK)]);
    const before = await blobFiles(server.dataDir);
    const length = encodedLength(payload, STREAMING_SIGNED);
    const signing = await signStreamingPut(server, 'hung-up', STREAMING_SIGNED, {
      decodedLength: payload.length,
      encodedLength: length,
    });
    const body = encodeChunked(payload, signing).body;
    const url = new URL(`/${BUCKET}/hung-up`, server.s3Url);
    const req = request({
      method: 'PUT',
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      headers: signing.headers,
    });
    req.on('error', () => undefined);
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      res.resume();
    });
    req.write(body.subarray(0, Math.floor(body.length / 2)));
    await until(
      'the server to start writing the blob',
      async () => (await blobFiles(server.dataDir)).length > before.length,
      GENEROUS_WAIT_MS,
    );
    req.destroy();
    await until(
      'the partial blob to be removed',
      async () => (await blobFiles(server.dataDir)).length === before.length,
      GENEROUS_WAIT_MS,
    );
    assert.equal(answered, false);
    assert.deepEqual(await blobFiles(server.dataDir), before);
    await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'hung-up' })), 'NotFound', 404);
  });

  it('a refused upload over an existing object leaves that object as it was', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kept', Body: 'the original' }));
    const before = await blobFiles(server.dataDir);
    const payload = payloadOf(7);
    const res = await putChunked(server, 'kept', {
      mode: STREAMING_SIGNED,
      payload,
      tamper: (e) => flipSignature(e.body, e.chunkSignatures[2]!),
    });
    assertS3Error(res, 403, 'SignatureDoesNotMatch');
    assert.equal((await bodyOf(s3, 'kept')).toString(), 'the original');
    assert.deepEqual(await blobFiles(server.dataDir), before);
  });

  it('leaves no refused key in the listing', async () => {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const keys = (listed.Contents ?? []).map((o) => o.Key);
    assert.deepEqual(
      keys.filter((k) => k?.startsWith('refused-') === true || k === 'spliced'),
      [],
    );
  });
});

describe('UNSIGNED-PAYLOAD with header authentication', () => {
  it('stores the body, which the signature does not cover', async () => {
    const body = randomBytes(40_000);
    const res = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: `/${BUCKET}/unsigned-payload`,
      body,
      contentSha256: 'UNSIGNED-PAYLOAD',
    });
    assert.equal(res.status, 200, res.body);
    assert.ok(body.equals(await bodyOf(s3, 'unsigned-payload')));
  });

  it('still checks an x-amz-checksum-crc32 header: BadDigest, and nothing stored', async () => {
    const before = await blobFiles(server.dataDir);
    const res = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: `/${BUCKET}/unsigned-payload-bad-crc`,
      body: 'the body',
      headers: { 'x-amz-checksum-crc32': crc32Base64(Buffer.from('another body')) },
      contentSha256: 'UNSIGNED-PAYLOAD',
    });
    assertS3Error(res, 400, 'BadDigest');
    await expectS3Error(
      s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'unsigned-payload-bad-crc' })),
      'NotFound',
      404,
    );
    assert.deepEqual(await blobFiles(server.dataDir), before);
  });
});

describe('x-amz-content-sha256 is required with header authentication (as S3 requires it)', () => {
  it('a header-signed GET or PUT without it: InvalidRequest, and nothing stored', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'present', Body: 'here' }));
    const before = await blobFiles(server.dataDir);
    const requests = [
      { method: 'GET', path: `/${BUCKET}/present`, body: Buffer.alloc(0) },
      { method: 'GET', path: '/', body: Buffer.alloc(0) },
      { method: 'PUT', path: `/${BUCKET}/without-hash`, body: Buffer.from('some bytes') },
    ];
    for (const r of requests) {
      // Signed over the hash of the real body, as a signer that forgets the header does.
      const headers = await signHeaders(server, r.method, r.path, {
        'content-length': String(r.body.length),
      });
      assert.equal(headers['x-amz-content-sha256'], undefined);
      const res = await sendExact(server.s3Url, { ...r, headers });
      assertS3Error(res, 400, 'InvalidRequest');
      assert.equal(
        parseErrorXml(res.body).message,
        'Missing required header for this request: x-amz-content-sha256',
      );
    }
    await expectS3Error(
      s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'without-hash' })),
      'NotFound',
      404,
    );
    assert.deepEqual(await blobFiles(server.dataDir), before);
  });

  it('presigned URLs, which cannot carry it, still work', async () => {
    const put = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: 'presigned' }), {
      expiresIn: 300,
    });
    const putRes = await fetch(put, { method: 'PUT', body: 'presigned bytes' });
    assert.equal(putRes.status, 200, await putRes.text());
    const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned' }), {
      expiresIn: 300,
    });
    const getRes = await fetch(get);
    assert.equal(getRes.status, 200);
    assert.equal(await getRes.text(), 'presigned bytes');
  });
});
