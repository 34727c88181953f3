import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { crc32Combine, crc64Combine } from './crc-combine.ts';
import { CRC32C_POLYNOMIAL, crc32c } from './crc32c.ts';
import { CRC64_NVME_POLYNOMIAL, crc64Nvme } from './crc64-nvme.ts';

const CRC32_POLYNOMIAL = 0xedb88320;

function split(data: Buffer): [Buffer, Buffer] {
  const at = randomInt(0, data.length + 1);
  return [data.subarray(0, at), data.subarray(at)];
}

/**
 * Combining with a run of 2^32 + 5 zero bytes in one step agrees with doing it in three steps (2^31, 2^31, 5), so
 * lengths past 32 bits are not truncated. The CRC of a long zero run is built by doubling from one zero byte.
 */
function beyond32Bits<T>(fn: (data: Uint8Array) => T, combine: (a: T, b: T, lengthB: number) => T): boolean {
  const half = 2 ** 31;
  let zerosHalf = fn(Buffer.alloc(1));
  for (let len = 1; len < half; len *= 2) zerosHalf = combine(zerosHalf, zerosHalf, len);
  const zeros5 = fn(Buffer.alloc(5));
  const zerosAll = combine(combine(zerosHalf, zerosHalf, half), zeros5, 5);
  const a = fn(randomBytes(64));
  const oneStep = combine(a, zerosAll, 2 * half + 5);
  const threeSteps = combine(combine(combine(a, zerosHalf, half), zerosHalf, half), zeros5, 5);
  return oneStep === threeSteps;
}

describe('crc32Combine', () => {
  for (const [name, poly, fn] of [
    ['CRC-32', CRC32_POLYNOMIAL, crc32],
    ['CRC-32C', CRC32C_POLYNOMIAL, crc32c],
  ] as const) {
    it(`${name}: crc(A || B) from crc(A), crc(B), |B|`, () => {
      for (let trial = 0; trial < 200; trial++) {
        const data = randomBytes(randomInt(0, 5000));
        const [a, b] = split(data);
        assert.equal(crc32Combine(poly, fn(a), fn(b), b.length), fn(data));
      }
    });

    it(`${name}: long zero runs (large lengths) and empty sides`, () => {
      const a = randomBytes(100);
      const zeros = Buffer.alloc(3_000_017);
      assert.equal(crc32Combine(poly, fn(a), fn(zeros), zeros.length), fn(Buffer.concat([a, zeros])));
      assert.equal(crc32Combine(poly, fn(a), 0, 0), fn(a));
      assert.equal(crc32Combine(poly, 0, fn(a), a.length), fn(a));
    });
  }

  it('handles lengths beyond 32 bits', () => {
    assert.equal(
      beyond32Bits(crc32c, (a, b, n) => crc32Combine(CRC32C_POLYNOMIAL, a, b, n)),
      true,
    );
  });

  it('rejects lengths that are not non-negative safe integers', () => {
    assert.throws(() => crc32Combine(CRC32_POLYNOMIAL, 0, 0, -1), RangeError);
    assert.throws(() => crc32Combine(CRC32_POLYNOMIAL, 0, 0, 1.5), RangeError);
    assert.throws(() => crc32Combine(CRC32_POLYNOMIAL, 0, 0, Number.NaN), RangeError);
  });
});

describe('crc64Combine', () => {
  it('CRC-64/NVME: crc(A || B) from crc(A), crc(B), |B|', () => {
    for (let trial = 0; trial < 200; trial++) {
      const data = randomBytes(randomInt(0, 5000));
      const [a, b] = split(data);
      assert.equal(
        crc64Combine(CRC64_NVME_POLYNOMIAL, crc64Nvme(a), crc64Nvme(b), b.length),
        crc64Nvme(data),
      );
    }
  });

  it('CRC-64/NVME: long zero runs (large lengths) and empty sides', () => {
    const a = randomBytes(100);
    const zeros = Buffer.alloc(3_000_017);
    assert.equal(
      crc64Combine(CRC64_NVME_POLYNOMIAL, crc64Nvme(a), crc64Nvme(zeros), zeros.length),
      crc64Nvme(Buffer.concat([a, zeros])),
    );
    assert.equal(crc64Combine(CRC64_NVME_POLYNOMIAL, crc64Nvme(a), 0n, 0), crc64Nvme(a));
    assert.equal(crc64Combine(CRC64_NVME_POLYNOMIAL, 0n, crc64Nvme(a), a.length), crc64Nvme(a));
  });

  it('handles lengths beyond 32 bits', () => {
    assert.equal(
      beyond32Bits(crc64Nvme, (a, b, n) => crc64Combine(CRC64_NVME_POLYNOMIAL, a, b, n)),
      true,
    );
  });
});
