import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalHeaderLines,
  canonicalHeaderValue,
  canonicalQueryString,
  canonicalRequest,
  canonicalUriCandidates,
  deriveSigningKey,
  EMPTY_SHA256,
  parseQuery,
  percentDecode,
  sha256Hex,
  signaturesEqual,
  signHex,
  stringToSign,
  uriEncode,
} from './sigv4-canonical.ts';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

describe('uriEncode', () => {
  it('keeps only the unreserved characters', () => {
    assert.equal(uriEncode('AZaz09-._~'), 'AZaz09-._~');
    assert.equal(
      uriEncode(' !"#$%&\'()*+,/:;<=>?@[\\]^`{|}'),
      '%20%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E%60%7B%7C%7D',
    );
  });
  it('encodes UTF-8 bytes with upper-case hex', () => {
    assert.equal(uriEncode('ü日😀'), '%C3%BC%E6%97%A5%F0%9F%98%80');
  });
  it('keeps slashes only when asked', () => {
    assert.equal(uriEncode('a/b c', true), 'a/b%20c');
    assert.equal(uriEncode('a/b c'), 'a%2Fb%20c');
  });
});

describe('percentDecode', () => {
  it('decodes escapes in either case and leaves a stray % alone', () => {
    assert.deepEqual(percentDecode('%c3%BC%2', false), Buffer.from([0xc3, 0xbc, 0x25, 0x32]));
    assert.equal(percentDecode('100%', false).toString(), '100%');
    assert.equal(percentDecode('%zz', false).toString(), '%zz');
  });
  it('turns + into a space only for query strings', () => {
    assert.equal(percentDecode('a+b', false).toString(), 'a+b');
    assert.equal(percentDecode('a+b', true).toString(), 'a b');
    assert.equal(percentDecode('a%2Bb', true).toString(), 'a+b');
  });
});

describe('canonicalUriCandidates', () => {
  // What @aws-sdk/client-s3 sends for keys (checked against the real client in sigv4-verify.test.ts):
  // encodeURIComponent per segment, plus ! ' ( ) * encoded, so it is already canonical.
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['/bucket/a%20b', '/bucket/a%20b'],
    ['/bucket/a%2Bb', '/bucket/a%2Bb'],
    ['/bucket/tilde~x', '/bucket/tilde~x'],
    ['/bucket/bang%21quote%27paren%28%29star%2A', '/bucket/bang%21quote%27paren%28%29star%2A'],
    ['/bucket/%C3%BC/%E6%97%A5', '/bucket/%C3%BC/%E6%97%A5'],
    ['/bucket/percent%2520literal', '/bucket/percent%2520literal'],
    ['/bucket/dir//double/', '/bucket/dir//double/'],
    ['/bucket/x/./y/../z', '/bucket/x/./y/../z'],
  ];
  for (const [raw, canonical] of cases) {
    it(`keeps the canonical path ${raw} as it is`, () => {
      assert.deepEqual(canonicalUriCandidates(raw), [canonical]);
    });
  }
  it('re-encodes what other clients leave raw, and keeps the raw form as a second candidate', () => {
    assert.deepEqual(canonicalUriCandidates('/bucket/a+b'), ['/bucket/a%2Bb', '/bucket/a+b']);
    assert.deepEqual(canonicalUriCandidates("/bucket/it's(1)*!"), [
      '/bucket/it%27s%281%29%2A%21',
      "/bucket/it's(1)*!",
    ]);
    assert.deepEqual(canonicalUriCandidates('/bucket/test$file.text'), [
      '/bucket/test%24file.text',
      '/bucket/test$file.text',
    ]);
    assert.deepEqual(canonicalUriCandidates('/bucket/%7Etilde'), ['/bucket/~tilde', '/bucket/%7Etilde']);
    assert.deepEqual(canonicalUriCandidates('/bucket/%c3%bc'), ['/bucket/%C3%BC', '/bucket/%c3%bc']);
    assert.deepEqual(canonicalUriCandidates('/bucket/ü'), ['/bucket/%C3%BC', '/bucket/ü']);
  });
  it('does not double-encode, and an empty path is /', () => {
    assert.deepEqual(canonicalUriCandidates('/a%2Fb'), ['/a/b', '/a%2Fb']);
    assert.deepEqual(canonicalUriCandidates(''), ['/']);
    assert.deepEqual(canonicalUriCandidates('/'), ['/']);
  });
});

describe('canonical query string', () => {
  const canonical = (raw: string, exclude?: string): string => canonicalQueryString(parseQuery(raw), exclude);
  it('sorts by encoded name, then value', () => {
    assert.equal(canonical('prefix=J&max-keys=2'), 'max-keys=2&prefix=J');
    assert.equal(canonical('a=2&a=10&a=1'), 'a=1&a=10&a=2');
    assert.equal(canonical('a_b=1&aB=2&a-b=3'), 'a-b=3&aB=2&a_b=1');
  });
  it('gives a value-less parameter an empty value', () => {
    assert.equal(canonical('lifecycle'), 'lifecycle=');
    assert.equal(canonical('uploads='), 'uploads=');
    assert.equal(canonical('partNumber=1&uploadId=abc'), 'partNumber=1&uploadId=abc');
  });
  it('re-encodes per the AWS rules, + being a space as for the router', () => {
    assert.equal(canonical('prefix=a%20b%2Bc'), 'prefix=a%20b%2Bc');
    assert.equal(canonical('prefix=a+b'), 'prefix=a%20b');
    assert.equal(canonical('k=a/b=c~d*'), 'k=a%2Fb%3Dc~d%2A');
    assert.equal(canonical('prefix=%c3%bc'), 'prefix=%C3%BC');
    assert.equal(canonical('p=%7E'), 'p=~');
  });
  it('skips empty segments and excludes the presigned signature', () => {
    assert.equal(canonical('&&a=1&'), 'a=1');
    assert.equal(canonical('X-Amz-Signature=abc&X-Amz-Date=1', 'X-Amz-Signature'), 'X-Amz-Date=1');
  });
  it('decodes names and values for reading', () => {
    assert.deepEqual(
      parseQuery('X-Amz-Credential=AK%2F20130524%2Fus-east-1&e=').map((p) => [p.name, p.value]),
      [
        ['X-Amz-Credential', 'AK/20130524/us-east-1'],
        ['e', ''],
      ],
    );
  });
});

describe('canonical headers', () => {
  it('trims values and collapses runs of spaces and tabs', () => {
    assert.equal(canonicalHeaderValue('  a   b\t\tc  '), 'a b c');
    assert.equal(canonicalHeaderValue(['a', '  b  c ']), 'a,b c');
    assert.equal(canonicalHeaderValue(''), '');
  });
  it('lists the signed headers in order and reports a missing one', () => {
    const headers = { host: 'h', 'x-amz-date': 'd', 'x-amz-meta-empty': '', other: 'o' };
    assert.deepEqual(canonicalHeaderLines(headers, ['host', 'x-amz-date', 'x-amz-meta-empty']), {
      lines: ['host:h', 'x-amz-date:d', 'x-amz-meta-empty:'],
    });
    assert.deepEqual(canonicalHeaderLines(headers, ['host', 'range']), { missing: 'range' });
  });
});

describe('signing', () => {
  it('derives the signing key of the AWS documentation example', () => {
    // "Examples of how to derive a signing key for Signature Version 4" (AWS General Reference).
    const key = deriveSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam');
    assert.equal(key.toString('hex'), 'f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d');
    assert.equal(
      deriveSigningKey('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20120215', 'us-east-1', 'iam'),
      key,
    );
    assert.notEqual(
      deriveSigningKey('other', '20120215', 'us-east-1', 'iam').toString('hex'),
      key.toString('hex'),
    );
  });

  it('reproduces the GET Object example of the S3 documentation step by step', () => {
    // "Signature Calculations for the Authorization Header: Transferring Payload in a Single Chunk".
    const canonical = canonicalRequest({
      method: 'GET',
      uri: '/test.txt',
      query: '',
      headerLines: [
        'host:examplebucket.s3.amazonaws.com',
        'range:bytes=0-9',
        `x-amz-content-sha256:${EMPTY_SHA256}`,
        'x-amz-date:20130524T000000Z',
      ],
      signedHeaders: 'host;range;x-amz-content-sha256;x-amz-date',
      payloadHash: EMPTY_SHA256,
    });
    const toSign = stringToSign('20130524T000000Z', '20130524/us-east-1/s3/aws4_request', canonical);
    assert.equal(
      toSign,
      'AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972',
    );
    const signature = signHex(deriveSigningKey(SECRET, '20130524', 'us-east-1', 's3'), toSign);
    assert.equal(signature, 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
  });

  it('hashes like sha256sum', () => {
    assert.equal(sha256Hex(''), EMPTY_SHA256);
    assert.equal(
      sha256Hex('Welcome to Amazon S3.'),
      '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
    );
  });

  it('compares signatures case-insensitively and rejects anything but 64 hex digits', () => {
    const sig = 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41';
    assert.equal(signaturesEqual(sig, sig), true);
    assert.equal(signaturesEqual(sig, sig.toUpperCase()), true);
    assert.equal(signaturesEqual(sig, `${sig.slice(0, 63)}0`), false);
    assert.equal(signaturesEqual(sig, sig.slice(0, 63)), false);
    assert.equal(signaturesEqual(sig, `${sig}0`), false);
    assert.equal(signaturesEqual(sig, ''), false);
  });
});
