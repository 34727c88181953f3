import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { Crc64NvmeJs } from '@aws-sdk/checksums/crc';
import { crc64Nvme } from './crc64-nvme.ts';

/** Bit-at-a-time CRC-64/NVME with BigInt, the definition the two-halves code must match. */
function reference(data: Uint8Array): bigint {
  const mask = 0xffffffffffffffffn;
  let crc = mask;
  for (const byte of data) {
    crc ^= BigInt(byte);
    for (let j = 0; j < 8; j++) crc = crc & 1n ? (crc >> 1n) ^ 0x9a6c9329ac4bc9b5n : crc >> 1n;
  }
  return crc ^ mask;
}

async function sdk(data: Uint8Array): Promise<bigint> {
  const hash = new Crc64NvmeJs();
  hash.update(data);
  return Buffer.from(await hash.digest()).readBigUInt64BE(0);
}

describe('crc64Nvme', () => {
  it('matches the published check value', () => {
    assert.equal(crc64Nvme(Buffer.from('123456789')), 0xae8b14860a799888n);
    assert.equal(crc64Nvme(new Uint8Array(0)), 0n);
  });

  it('matches the bitwise definition for every length around the 16-byte stride', () => {
    for (let n = 0; n <= 80; n++) {
      const data = randomBytes(n);
      assert.equal(crc64Nvme(data), reference(data), `length ${n}`);
    }
    const ones = new Uint8Array(100).fill(0xff);
    assert.equal(crc64Nvme(ones), reference(ones));
  });

  it('continues from a previous value, whatever the split points', () => {
    const data = randomBytes(10_000);
    const whole = crc64Nvme(data);
    for (let trial = 0; trial < 50; trial++) {
      let crc = 0n;
      for (let at = 0; at < data.length;) {
        const end = Math.min(data.length, at + randomInt(0, 300));
        crc = crc64Nvme(data.subarray(at, end), crc);
        at = end;
      }
      assert.equal(crc, whole);
    }
  });

  it('reads views at any byte offset of their buffer', () => {
    const backing = randomBytes(1000);
    for (let offset = 0; offset < 8; offset++) {
      const view = new Uint8Array(backing.buffer, backing.byteOffset + offset, 900);
      assert.equal(crc64Nvme(view), reference(view));
    }
  });

  it('agrees with the AWS SDK implementation on random data', async () => {
    for (let trial = 0; trial < 20; trial++) {
      const data = randomBytes(randomInt(0, 1 << 17));
      assert.equal(crc64Nvme(data), await sdk(data));
    }
    const big = randomBytes(4 << 20);
    assert.equal(crc64Nvme(big), await sdk(big));
  });
});
