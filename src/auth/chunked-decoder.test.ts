import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { AuthError, type AuthErrorCode } from './auth-error.ts';
import { createChunkedDecoder, type StreamingPayloadMode } from './chunked-decoder.ts';
import { deriveSigningKey, EMPTY_SHA256, sha256Hex, signHex } from './sigv4-canonical.ts';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SCOPE = '20130524/us-east-1/s3/aws4_request';
const AMZ_DATE = '20130524T000000Z';
const SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';

function signedMode(trailer: boolean, seedSignature = SEED): StreamingPayloadMode {
  return {
    kind: 'streaming-signed',
    trailer,
    seedSignature,
    signingKey: deriveSigningKey(SECRET, '20130524', 'us-east-1', 's3'),
    scope: SCOPE,
    amzDate: AMZ_DATE,
  };
}

const UNSIGNED: StreamingPayloadMode = { kind: 'streaming-unsigned-trailer' };

type Trailers = ReadonlyArray<readonly [string, string]>;

/** Encodes a payload as aws-chunked, per the AWS documentation, the way a client would send it. */
function encode(
  mode: StreamingPayloadMode,
  payload: Buffer,
  chunkSize: number,
  trailers?: Trailers,
): { body: Buffer; signatures: string[] } {
  const parts: Buffer[] = [];
  const signatures: string[] = [];
  let previous = mode.kind === 'streaming-signed' ? mode.seedSignature : '';
  for (let pos = 0; ; pos += chunkSize) {
    const chunk = payload.subarray(pos, Math.min(pos + chunkSize, payload.length));
    if (mode.kind === 'streaming-signed') {
      previous = signHex(
        mode.signingKey,
        ['AWS4-HMAC-SHA256-PAYLOAD', mode.amzDate, mode.scope, previous, EMPTY_SHA256, sha256Hex(chunk)].join(
          '\n',
        ),
      );
      signatures.push(previous);
      parts.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${previous}\r\n`));
    } else {
      parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`));
    }
    if (chunk.length === 0) break;
    parts.push(chunk, Buffer.from('\r\n'));
  }
  for (const [name, value] of trailers ?? []) parts.push(Buffer.from(`${name}:${value}\r\n`));
  if (mode.kind === 'streaming-signed' && trailers !== undefined) {
    const canonical = trailers.map(([name, value]) => `${name}:${value}\n`).join('');
    const signature = signHex(
      mode.signingKey,
      ['AWS4-HMAC-SHA256-TRAILER', mode.amzDate, mode.scope, previous, sha256Hex(canonical)].join('\n'),
    );
    parts.push(Buffer.from(`x-amz-trailer-signature:${signature}\r\n`));
  }
  parts.push(Buffer.from('\r\n'));
  return { body: Buffer.concat(parts), signatures };
}

/** A small deterministic PRNG, so that a failing slice pattern can be reproduced. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function slices(body: Buffer, nextSize: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < body.length;) {
    const n = Math.max(1, Math.min(nextSize(), body.length - pos));
    out.push(body.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

async function decode(
  mode: StreamingPayloadMode,
  pieces: readonly Buffer[],
  decodedContentLength?: number,
): Promise<{ data: Buffer; trailers: ReadonlyMap<string, string> }> {
  const decoder = createChunkedDecoder(
    mode,
    decodedContentLength === undefined ? {} : { decodedContentLength },
  );
  const out: Buffer[] = [];
  await pipeline(Readable.from(pieces), decoder, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) out.push(chunk);
  });
  return { data: Buffer.concat(out), trailers: decoder.trailers };
}

async function fails(promise: Promise<unknown>, code: AuthErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof AuthError, `expected an AuthError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

function crc32Base64(data: Buffer): string {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data));
  return crc.toString('base64');
}

describe('the chunked upload example of the S3 documentation', () => {
  // "Signature Calculations for the Authorization Header: Transferring Payload in Multiple Chunks":
  // 66560 bytes of 'a' in chunks of 64 KiB, 1 KiB and 0, Content-Length 66824.
  const payload = Buffer.alloc(66_560, 'a');
  const { body, signatures } = encode(signedMode(false), payload, 65_536);

  it('has the documented chunk signatures and length', () => {
    assert.deepEqual(signatures, [
      'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
      '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
      'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
    ]);
    assert.equal(body.length, 66_824);
  });

  it('decodes whole, in 1-byte slices and in random slices', async () => {
    const random = prng(1);
    for (const pieces of [
      [body],
      slices(body, () => 1),
      slices(body, () => Math.floor(random() * 300) + 1),
    ]) {
      const { data, trailers } = await decode(signedMode(false), pieces, 66_560);
      assert.deepEqual(data, payload);
      assert.equal(trailers.size, 0);
    }
  });

  it('fails on a wrong seed signature', async () => {
    await fails(decode(signedMode(false, '0'.repeat(64)), [body]), 'SignatureDoesNotMatch');
  });

  it('fails a body written before anyone reads without crashing, and tells the later reader', async () => {
    // As the S3 server does: the request is piped in while the blob file is still being opened.
    const decoder = createChunkedDecoder(signedMode(false, '0'.repeat(64)), {});
    Readable.from([body]).pipe(decoder);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(decoder.destroyed);
    const read = async () => {
      for await (const chunk of decoder) assert.ok(Buffer.isBuffer(chunk));
    };
    await fails(read(), 'SignatureDoesNotMatch');
  });
});

const MODES: ReadonlyArray<readonly [string, StreamingPayloadMode, Trailers | undefined]> = [
  ['signed', signedMode(false), undefined],
  ['signed with a trailer', signedMode(true), [['x-amz-checksum-crc32', '']]],
  ['unsigned with a trailer', UNSIGNED, [['x-amz-checksum-crc32', '']]],
];

for (const [label, mode, trailerShape] of MODES) {
  describe(`aws-chunked, ${label}`, () => {
    const payload = randomBytes(150_000);
    const trailers = trailerShape?.map(([name]) => [name, crc32Base64(payload)] as const);
    const { body } = encode(mode, payload, 8192 * 3, trailers);

    it('decodes any slicing to the payload and the trailers', async () => {
      const random = prng(label.length);
      const slicings = [
        [body],
        slices(body, () => 1),
        ...[7, 500, 70_000].map((max) => slices(body, () => Math.floor(random() * max) + 1)),
      ];
      for (const pieces of slicings) {
        const { data, trailers: got } = await decode(mode, pieces, payload.length);
        assert.deepEqual(data, payload);
        assert.deepEqual([...got], trailers ?? []);
      }
    });

    it('detects a wrong decoded length, early or at the end', async () => {
      await fails(decode(mode, [body], payload.length + 1), 'IncompleteBody');
      await fails(decode(mode, [body], payload.length - 1), 'IncompleteBody');
    });

    it('fails on every truncation but the tolerated ones', async () => {
      const small = encode(mode, payload.subarray(0, 50), 20, trailers).body;
      const text = small.toString('latin1');
      const zero = text.lastIndexOf(
        mode.kind === 'streaming-signed' ? '\r\n0;chunk-signature=' : '\r\n0\r\n',
      );
      // The end of input may replace the final empty line (the AWS SDK for JavaScript sends none without a
      // checksum), and trailers may be left out altogether: the S3 layer checks that x-amz-trailer's is there.
      const tolerated = new Set([small.length - 2, text.indexOf('\r\n', zero + 2) + 2]);
      for (let cut = 0; cut < small.length; cut++) {
        if (tolerated.has(cut)) {
          await decode(mode, [small.subarray(0, cut)]);
          continue;
        }
        await assert.rejects(decode(mode, [small.subarray(0, cut)]), AuthError, `cut at ${cut}`);
      }
    });

    it('rejects framing errors and bytes after the end', async () => {
      const bad = [
        Buffer.from('zz\r\n'),
        Buffer.from('5\n'),
        Buffer.from(`${'0'.repeat(5000)}\r\n`),
        Buffer.concat([body, Buffer.from('x')]),
      ];
      for (const b of bad) await fails(decode(mode, [b]), 'InvalidRequest');
      // Two bytes too many in a chunk: a signed chunk no longer matches its signature, an unsigned one its size.
      const shifted = Buffer.from(body.toString('latin1').replace(/\r\n/, '\r\n\r\n'), 'latin1');
      await fails(
        decode(mode, [shifted]),
        mode.kind === 'streaming-signed' ? 'SignatureDoesNotMatch' : 'InvalidRequest',
      );
    });

    if (mode.kind === 'streaming-signed') {
      it('fails when any data, signature or trailer byte is flipped', async () => {
        const text = body.toString('latin1');
        const positions = [
          text.indexOf('\r\n') + 2, // first data byte
          text.indexOf('\r\n') + 2 + 8192 * 3 - 1, // last byte of the first chunk
          body.length - 400, // inside the last chunks or the trailer
          text.indexOf('chunk-signature=') + 20, // a chunk signature
          text.lastIndexOf('chunk-signature=') + 20, // the final chunk signature
        ];
        if (trailers !== undefined)
          positions.push(
            text.indexOf('x-amz-checksum-crc32:') + 22,
            text.indexOf('x-amz-trailer-signature:') + 30,
          );
        for (const position of positions) {
          const tampered = Buffer.from(body);
          tampered[position] = tampered[position] === 0x30 ? 0x31 : 0x30;
          await assert.rejects(decode(mode, [tampered]), (err: unknown) => {
            assert.ok(err instanceof AuthError);
            assert.ok(
              ['SignatureDoesNotMatch', 'InvalidRequest'].includes(err.code),
              `${position}: ${err.code}`,
            );
            return true;
          });
        }
      });

      it('fails when chunks are reordered or the payload comes from another request', async () => {
        const two = encode(mode, Buffer.alloc(40, 'b'), 20).body.toString('latin1');
        const [first, second, ...rest] = two.split(/(?=[0-9a-f]+;chunk-signature=)/);
        await fails(
          decode(mode, [Buffer.from([second, first, ...rest].join(''), 'latin1')]),
          'SignatureDoesNotMatch',
        );
        const other = encode(
          signedMode(mode.trailer, sha256Hex('another request')),
          Buffer.alloc(40, 'b'),
          20,
        ).body;
        await fails(decode(mode, [other]), 'SignatureDoesNotMatch');
      });
    } else {
      it('accepts the end of input right after the 0-size chunk, as the AWS SDK for JavaScript sends without a checksum', async () => {
        const { data, trailers: got } = await decode(mode, [Buffer.from('3\r\nabc\r\n0\r\n')], 3);
        assert.equal(data.toString(), 'abc');
        assert.equal(got.size, 0);
      });
      it('rejects chunk signatures, which this mode does not have', async () => {
        await fails(decode(mode, [encode(signedMode(false), Buffer.from('abc'), 10).body]), 'InvalidRequest');
      });
    }
  });
}

describe('aws-chunked trailers', () => {
  it('requires the trailer signature in signed trailer mode, and refuses trailers in plain signed mode', async () => {
    const payload = Buffer.from('hello');
    const unsignedTrailer = encode(signedMode(false), payload, 10)
      .body.toString('latin1')
      .replace(/\r\n\r\n$/, '\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n');
    await fails(decode(signedMode(true), [Buffer.from(unsignedTrailer, 'latin1')]), 'SignatureDoesNotMatch');
    await fails(decode(signedMode(false), [Buffer.from(unsignedTrailer, 'latin1')]), 'InvalidRequest');
    // Signed trailer mode without any trailer is fine: the chunks are signed.
    const { data } = await decode(signedMode(true), [encode(signedMode(true), payload, 10).body]);
    assert.deepEqual(data, payload);
  });

  it('reads several trailers with lower-case names and trims values', async () => {
    const { trailers } = await decode(UNSIGNED, [
      Buffer.from('0\r\nX-Amz-Checksum-SHA256: abc= \r\nx-amz-checksum-crc32c:def\r\n\r\n'),
    ]);
    assert.deepEqual(
      [...trailers],
      [
        ['x-amz-checksum-sha256', 'abc='],
        ['x-amz-checksum-crc32c', 'def'],
      ],
    );
    await fails(decode(UNSIGNED, [Buffer.from('0\r\na:1\r\na:2\r\n\r\n')]), 'InvalidRequest');
    await fails(decode(UNSIGNED, [Buffer.from('0\r\nnocolon\r\n\r\n')]), 'InvalidRequest');
  });

  it('signs several trailers in name order', async () => {
    const trailers = [
      ['x-amz-checksum-crc32', 'AAAAAA=='],
      ['x-amz-checksum-sha1', 'BBBB'],
    ] as const;
    const { trailers: got } = await decode(signedMode(true), [
      encode(signedMode(true), Buffer.from('x'), 10, trailers).body,
    ]);
    assert.deepEqual([...got], trailers);
  });
});

describe('large bodies', () => {
  it('decodes 64 MiB of signed chunks arriving in random slices quickly', async () => {
    const payload = randomBytes(64 * 1024 * 1024);
    const mode = signedMode(true);
    const { body } = encode(mode, payload, 64 * 1024, [['x-amz-checksum-crc32', crc32Base64(payload)]]);
    const random = prng(64);
    const pieces = slices(body, () => Math.floor(random() * 128 * 1024) + 1);
    const started = performance.now();
    const { data } = await decode(mode, pieces, payload.length);
    const elapsed = performance.now() - started;
    assert.equal(sha256Hex(data), sha256Hex(payload));
    assert.ok(elapsed < 10_000, `took ${Math.round(elapsed)} ms`);
  });
});
