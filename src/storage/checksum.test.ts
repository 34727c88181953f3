import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { Crc32cJs, Crc64NvmeJs } from '@aws-sdk/checksums/crc';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from './checksum-algorithm.ts';
import { createChecksum } from './checksum.ts';

function digestOf(alg: ChecksumAlgorithm, ...chunks: Uint8Array[]): string {
  const checksum = createChecksum(alg);
  for (const chunk of chunks) checksum.update(chunk);
  return checksum.digest();
}

/** Independent references: zlib, node:crypto and the AWS SDK's own CRC-32C / CRC-64/NVME. */
async function expected(alg: ChecksumAlgorithm, data: Uint8Array): Promise<string> {
  switch (alg) {
    case 'CRC32': {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(crc32(data));
      return out.toString('base64');
    }
    case 'CRC32C':
    case 'CRC64NVME': {
      const hash = alg === 'CRC32C' ? new Crc32cJs() : new Crc64NvmeJs();
      hash.update(data);
      return Buffer.from(await hash.digest()).toString('base64');
    }
    case 'SHA1':
      return createHash('sha1').update(data).digest('base64');
    case 'SHA256':
      return createHash('sha256').update(data).digest('base64');
  }
}

describe('createChecksum', () => {
  it('gives the big-endian base64 digests of "123456789"', () => {
    const data = Buffer.from('123456789');
    const hex = (alg: ChecksumAlgorithm) => Buffer.from(digestOf(alg, data), 'base64').toString('hex');
    assert.equal(hex('CRC32'), 'cbf43926');
    assert.equal(hex('CRC32C'), 'e3069283');
    assert.equal(hex('CRC64NVME'), 'ae8b14860a799888');
    assert.equal(hex('SHA1'), 'f7c3bc1d808e04732adf679965ccc34ca7ae3441');
    assert.equal(hex('SHA256'), '15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225');
  });

  it('gives the digests of no bytes', () => {
    assert.equal(digestOf('CRC32'), 'AAAAAA==');
    assert.equal(digestOf('CRC32C'), 'AAAAAA==');
    assert.equal(digestOf('CRC64NVME'), 'AAAAAAAAAAA=');
    assert.equal(digestOf('SHA1'), '2jmj7l5rSw0yVb/vlWAYkK/YBwk=');
    assert.equal(digestOf('SHA256'), '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  for (const alg of CHECKSUM_ALGORITHMS) {
    it(`${alg}: agrees with an independent implementation, however the data is chunked`, async () => {
      for (let trial = 0; trial < 10; trial++) {
        const data = randomBytes(randomInt(0, 200_000));
        const chunks: Uint8Array[] = [];
        for (let at = 0; at < data.length;) {
          const end = Math.min(data.length, at + randomInt(0, 70_000));
          chunks.push(data.subarray(at, end));
          at = end;
        }
        assert.equal(digestOf(alg, ...chunks), await expected(alg, data));
      }
    });

    it(`${alg}: digest() is repeatable and update() after it throws`, () => {
      const checksum = createChecksum(alg);
      checksum.update(Buffer.from('abc'));
      const first = checksum.digest();
      assert.equal(checksum.digest(), first);
      assert.throws(() => {
        checksum.update(Buffer.from('d'));
      });
      assert.equal(checksum.digest(), first);
    });
  }
});
