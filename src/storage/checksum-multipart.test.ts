import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { type ChecksumAlgorithm } from './checksum-algorithm.ts';
import { createChecksum } from './checksum.ts';
import {
  combineFullObjectCrc,
  compositeChecksum,
  type CompositeChecksumAlgorithm,
  type FullObjectChecksumAlgorithm,
} from './checksum-multipart.ts';

const FULL_OBJECT: readonly FullObjectChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME'];
const COMPOSITE: readonly CompositeChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'SHA1', 'SHA256'];

function digestOf(alg: ChecksumAlgorithm, data: Uint8Array): string {
  const checksum = createChecksum(alg);
  checksum.update(data);
  return checksum.digest();
}

/** Random part sizes, with a good share of empty and tiny parts. */
function randomParts(): Buffer[] {
  return Array.from({ length: randomInt(1, 12) }, () => {
    const kind = randomInt(0, 4);
    return randomBytes(kind === 0 ? 0 : kind === 1 ? randomInt(1, 20) : randomInt(0, 50_000));
  });
}

describe('combineFullObjectCrc', () => {
  for (const alg of FULL_OBJECT) {
    it(`${alg}: equals the CRC of the concatenated parts`, () => {
      for (let trial = 0; trial < 40; trial++) {
        const parts = randomParts();
        const combined = combineFullObjectCrc(
          alg,
          parts.map((p) => ({ digestBase64: digestOf(alg, p), length: p.length })),
        );
        assert.equal(
          combined,
          digestOf(alg, Buffer.concat(parts)),
          `sizes ${parts.map((p) => p.length).join(',')}`,
        );
      }
    });

    it(`${alg}: one part is that part's CRC; no parts is the CRC of no bytes`, () => {
      const part = randomBytes(1234);
      const digest = digestOf(alg, part);
      assert.equal(combineFullObjectCrc(alg, [{ digestBase64: digest, length: part.length }]), digest);
      assert.equal(combineFullObjectCrc(alg, []), digestOf(alg, new Uint8Array(0)));
    });

    it(`${alg}: rejects a malformed part digest`, () => {
      const wrongSize = alg === 'CRC64NVME' ? 'AAAAAA==' : 'AAAAAAAAAAA=';
      for (const digestBase64 of [wrongSize, 'not base64!', `${digestOf(alg, randomBytes(8))}-2`]) {
        assert.throws(() => combineFullObjectCrc(alg, [{ digestBase64, length: 8 }]), TypeError);
      }
    });
  }

  it('rejects a negative or fractional part length', () => {
    const digestBase64 = digestOf('CRC32', randomBytes(4));
    assert.throws(() => combineFullObjectCrc('CRC32', [{ digestBase64, length: -1 }]), RangeError);
    assert.throws(() => combineFullObjectCrc('CRC32', [{ digestBase64, length: 0.5 }]), RangeError);
  });
});

describe('compositeChecksum', () => {
  for (const alg of COMPOSITE) {
    it(`${alg}: is the checksum of the binary part digests, with a -N suffix`, () => {
      const parts = randomParts();
      const digests = parts.map((p) => digestOf(alg, p));
      const binary = Buffer.concat(digests.map((d) => Buffer.from(d, 'base64')));
      assert.equal(compositeChecksum(alg, digests), `${digestOf(alg, binary)}-${parts.length}`);
    });

    it(`${alg}: rejects no parts and malformed part digests`, () => {
      assert.throws(() => compositeChecksum(alg, []), RangeError);
      assert.throws(() => compositeChecksum(alg, ['AAAA']), TypeError);
      const composite = compositeChecksum(alg, [digestOf(alg, randomBytes(10))]);
      assert.throws(() => compositeChecksum(alg, [composite]), TypeError);
    });
  }

  it('matches a hand computation for SHA256', () => {
    const a = createHash('sha256').update('part one').digest();
    const b = createHash('sha256').update('part two').digest();
    const whole = createHash('sha256')
      .update(Buffer.concat([a, b]))
      .digest('base64');
    assert.equal(compositeChecksum('SHA256', [a.toString('base64'), b.toString('base64')]), `${whole}-2`);
  });
});
