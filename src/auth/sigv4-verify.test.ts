import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AuthError, type AuthErrorCode } from './auth-error.ts';
import { EMPTY_SHA256, sha256Hex } from './sigv4-canonical.ts';
import { verifyRequest, type AuthResult, type SignedRequest } from './sigv4-verify.ts';

const EXAMPLE_KEY = 'AKIAIOSFODNN7EXAMPLE';
const EXAMPLE_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const EXAMPLE_TIME = new Date('2013-05-24T00:00:00Z');
const lookup = (id: string): Promise<string | undefined> =>
  Promise.resolve(id === EXAMPLE_KEY ? EXAMPLE_SECRET : undefined);

async function verified(
  req: SignedRequest,
  now: Date,
  options: { region?: string; maxSkewMs?: number } = {},
): Promise<AuthResult> {
  const result = await verifyRequest(req, lookup, { now, ...options });
  assert.ok(result !== undefined, 'the request should carry authentication');
  return result;
}

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

/** The S3 documentation examples ("Signature Calculations for the Authorization Header"), all at 20130524T000000Z. */
describe('AWS S3 documentation examples', () => {
  const scope = `Credential=${EXAMPLE_KEY}/20130524/us-east-1/s3/aws4_request`;
  const getObject: SignedRequest = {
    method: 'GET',
    rawPath: '/test.txt',
    rawQuery: '',
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      range: 'bytes=0-9',
      'x-amz-content-sha256': EMPTY_SHA256,
      'x-amz-date': '20130524T000000Z',
      authorization: `AWS4-HMAC-SHA256 ${scope},SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41`,
    },
  };

  it('GET Object', async () => {
    const result = await verified(getObject, EXAMPLE_TIME);
    assert.deepEqual(result, {
      accessKeyId: EXAMPLE_KEY,
      payload: { kind: 'signed', sha256: EMPTY_SHA256 },
      region: 'us-east-1',
    });
  });

  it('PUT Object, with a Date header and a $ in the key', async () => {
    const result = await verified(
      {
        method: 'PUT',
        rawPath: '/test$file.text',
        rawQuery: '',
        headers: {
          host: 'examplebucket.s3.amazonaws.com',
          date: 'Fri, 24 May 2013 00:00:00 GMT',
          'x-amz-date': '20130524T000000Z',
          'x-amz-storage-class': 'REDUCED_REDUNDANCY',
          'x-amz-content-sha256': '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
          authorization: `AWS4-HMAC-SHA256 ${scope},SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd`,
        },
      },
      EXAMPLE_TIME,
    );
    assert.deepEqual(result.payload, { kind: 'signed', sha256: sha256Hex('Welcome to Amazon S3.') });
  });

  it('GET Bucket Lifecycle (a value-less sub-resource)', async () => {
    await verified(
      {
        method: 'GET',
        rawPath: '/',
        rawQuery: 'lifecycle',
        headers: {
          host: 'examplebucket.s3.amazonaws.com',
          'x-amz-date': '20130524T000000Z',
          'x-amz-content-sha256': EMPTY_SHA256,
          authorization: `AWS4-HMAC-SHA256 ${scope},SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543`,
        },
      },
      EXAMPLE_TIME,
    );
  });

  it('Get Bucket (List Objects), with the query out of order', async () => {
    await verified(
      {
        method: 'GET',
        rawPath: '/',
        rawQuery: 'prefix=J&max-keys=2',
        headers: {
          host: 'examplebucket.s3.amazonaws.com',
          'x-amz-date': '20130524T000000Z',
          'x-amz-content-sha256': EMPTY_SHA256,
          authorization: `AWS4-HMAC-SHA256 ${scope},SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7`,
        },
      },
      EXAMPLE_TIME,
    );
  });

  it('presigned GET Object ("Authenticating Requests: Using Query Parameters")', async () => {
    const req: SignedRequest = {
      method: 'GET',
      rawPath: '/test.txt',
      rawQuery:
        'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
      headers: { host: 'examplebucket.s3.amazonaws.com' },
    };
    const result = await verified(req, new Date('2013-05-24T23:00:00Z'));
    assert.deepEqual(result.payload, { kind: 'unsigned' });
    await rejects(
      verifyRequest(req, lookup, { now: new Date('2013-05-25T00:00:01Z') }),
      'AccessDenied',
      /Request has expired/,
    );
  });

  it('the seed signature of the chunked upload example (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)', async () => {
    const result = await verified(
      {
        method: 'PUT',
        rawPath: '/examplebucket/chunkObject.txt',
        rawQuery: '',
        headers: {
          host: 's3.amazonaws.com',
          'x-amz-date': '20130524T000000Z',
          'x-amz-storage-class': 'REDUCED_REDUNDANCY',
          'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
          'content-encoding': 'aws-chunked',
          'x-amz-decoded-content-length': '66560',
          'content-length': '66824',
          authorization: `AWS4-HMAC-SHA256 ${scope},SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9`,
        },
      },
      EXAMPLE_TIME,
    );
    assert.equal(result.payload.kind, 'streaming-signed');
    if (result.payload.kind !== 'streaming-signed') return;
    assert.equal(result.payload.trailer, false);
    assert.equal(
      result.payload.seedSignature,
      '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
    );
    assert.equal(result.payload.scope, '20130524/us-east-1/s3/aws4_request');
    assert.equal(result.payload.amzDate, '20130524T000000Z');
  });

  it('tolerates the spacing of the Authorization header', async () => {
    const value = getObject.headers['authorization'] as string;
    for (const spaced of [
      value.replaceAll(',', ', '),
      value.replaceAll(',', ' , '),
      value.replaceAll(',', ' '),
      `  ${value.replace('AWS4-HMAC-SHA256 ', 'AWS4-HMAC-SHA256   ')}  `,
    ]) {
      await verified(withHeaders(getObject, { authorization: spaced }), EXAMPLE_TIME);
    }
  });

  it('rejects every tampered signed part', async () => {
    const tampered: SignedRequest[] = [
      { ...getObject, method: 'HEAD' },
      { ...getObject, rawPath: '/test.txu' },
      { ...getObject, rawPath: '/Test.txt' },
      { ...getObject, rawQuery: 'versionId=1' },
      withHeaders(getObject, { range: 'bytes=0-10' }),
      withHeaders(getObject, { host: 'otherbucket.s3.amazonaws.com' }),
      withHeaders(getObject, { 'x-amz-content-sha256': sha256Hex('x') }),
      withHeaders(getObject, { 'x-amz-date': '20130524T000001Z' }),
      withHeaders(getObject, {
        authorization: (getObject.headers['authorization'] as string).replace(
          'Signature=f0e8',
          'Signature=f0e9',
        ),
      }),
      withHeaders(getObject, {
        authorization: (getObject.headers['authorization'] as string).replace('host;range;', 'host;'),
      }),
    ];
    for (const req of tampered) await rejects(verified(req, EXAMPLE_TIME), 'SignatureDoesNotMatch');
  });

  it('rejects a missing signed header and an unsigned x-amz-* header', async () => {
    await rejects(
      verified(withHeaders(getObject, { range: undefined }), EXAMPLE_TIME),
      'SignatureDoesNotMatch',
      /range/,
    );
    await rejects(
      verified(withHeaders(getObject, { 'x-amz-copy-source': '/secret/object' }), EXAMPLE_TIME),
      'AccessDenied',
      /not signed: x-amz-copy-source/,
    );
    // Other unsigned headers are fine (user-agent, connection, ...): clients never sign them.
    await verified(withHeaders(getObject, { 'user-agent': 'curl', 'x-amzn-trace-id': '1' }), EXAMPLE_TIME);
  });

  it('refuses a header-signed request without x-amz-content-sha256, as S3 does', async () => {
    // Signed over host;range;x-amz-date with the empty-body hash: valid but for the missing header.
    const unsignedHash = withHeaders(getObject, {
      'x-amz-content-sha256': undefined,
      authorization: (getObject.headers['authorization'] as string).replace(
        'host;range;x-amz-content-sha256;x-amz-date',
        'host;range;x-amz-date',
      ),
    });
    await rejects(
      verified(unsignedHash, EXAMPLE_TIME),
      'InvalidRequest',
      /^Missing required header for this request: x-amz-content-sha256$/,
    );
  });

  it('rejects a skewed clock, an unknown key, a foreign region and a bad scope', async () => {
    await rejects(verified(getObject, new Date('2013-05-24T00:15:01Z')), 'RequestTimeTooSkewed');
    await rejects(verified(getObject, new Date('2013-05-23T23:44:59Z')), 'RequestTimeTooSkewed');
    await verified(getObject, new Date('2013-05-24T00:15:00Z'));
    await verified(getObject, new Date('2013-05-24T00:59:00Z'), { maxSkewMs: 3_600_000 });
    await rejects(
      verifyRequest(getObject, () => Promise.resolve(undefined), { now: EXAMPLE_TIME }),
      'InvalidAccessKeyId',
    );
    await rejects(
      verified(getObject, EXAMPLE_TIME, { region: 'eu-west-1' }),
      'AuthorizationHeaderMalformed',
      /region 'us-east-1' is wrong/,
    );
    await verified(getObject, EXAMPLE_TIME, { region: 'us-east-1' });
    const auth = getObject.headers['authorization'] as string;
    for (const [from, to] of [
      ['/s3/', '/iam/'],
      ['aws4_request', 'aws5_request'],
      ['/20130524/', '/20130525/'],
      ['/20130524/', '/2013052/'],
      ['Credential=', 'Credentials='],
      [',Signature=', ',Signature=1,Signature='],
    ] as const) {
      await rejects(
        verified(withHeaders(getObject, { authorization: auth.replace(from, to) }), EXAMPLE_TIME),
        'AuthorizationHeaderMalformed',
      );
    }
    await rejects(
      verified(withHeaders(getObject, { authorization: auth.replace('host;range', 'range') }), EXAMPLE_TIME),
      'AuthorizationHeaderMalformed',
      /host/,
    );
  });

  it('rejects a request without a usable date', async () => {
    await rejects(
      verified(withHeaders(getObject, { 'x-amz-date': undefined }), EXAMPLE_TIME),
      'AccessDenied',
      /Date/,
    );
    await rejects(
      verified(withHeaders(getObject, { 'x-amz-date': '2013-05-24T00:00:00Z' }), EXAMPLE_TIME),
      'AccessDenied',
    );
  });

  it('tells apart anonymous, SigV2 and unsupported requests', async () => {
    assert.equal(
      await verifyRequest({ ...getObject, headers: { host: 'h' } }, lookup, { now: EXAMPLE_TIME }),
      undefined,
    );
    await rejects(
      verified(
        withHeaders(getObject, { authorization: 'AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=' }),
        EXAMPLE_TIME,
      ),
      'InvalidRequest',
      /signature_v2/,
    );
    await rejects(
      verified(
        { ...getObject, headers: { host: 'h' }, rawQuery: 'AWSAccessKeyId=AK&Expires=1&Signature=x' },
        EXAMPLE_TIME,
      ),
      'InvalidRequest',
      /AWS4-HMAC-SHA256/,
    );
    await rejects(
      verified(withHeaders(getObject, { authorization: 'Bearer token' }), EXAMPLE_TIME),
      'InvalidArgument',
    );
    await rejects(
      verified(
        withHeaders(getObject, { authorization: 'AWS4-ECDSA-P256-SHA256 Credential=x' }),
        EXAMPLE_TIME,
      ),
      'InvalidRequest',
    );
    await rejects(
      verified({ ...getObject, rawQuery: 'X-Amz-Algorithm=AWS4-HMAC-SHA256' }, EXAMPLE_TIME),
      'InvalidArgument',
      /Only one auth/,
    );
  });

  it('classifies x-amz-content-sha256', async () => {
    await rejects(
      verified(withHeaders(getObject, { 'x-amz-content-sha256': 'nonsense' }), EXAMPLE_TIME),
      'InvalidArgument',
    );
    await rejects(
      verified(
        withHeaders(getObject, { 'x-amz-content-sha256': 'STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD' }),
        EXAMPLE_TIME,
      ),
      'InvalidRequest',
    );
  });
});
