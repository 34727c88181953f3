import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { Crc32cJs } from '@aws-sdk/checksums/crc';
import { crc32c } from './crc32c.ts';

/** Bit-at-a-time CRC-32C, the definition the table-driven code must match. */
function reference(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let j = 0; j < 8; j++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

async function sdk(data: Uint8Array): Promise<number> {
  const hash = new Crc32cJs();
  hash.update(data);
  return Buffer.from(await hash.digest()).readUInt32BE(0);
}

describe('crc32c', () => {
  it('matches the published check values', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(0)), 0);
    // RFC 3720 (iSCSI) B.4 test vectors.
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  });

  it('matches the bitwise definition for every length around the 16-byte stride', () => {
    for (let n = 0; n <= 80; n++) {
      const data = randomBytes(n);
      assert.equal(crc32c(data), reference(data), `length ${n}`);
    }
  });

  it('continues from a previous value, whatever the split points', () => {
    const data = randomBytes(10_000);
    const whole = crc32c(data);
    for (let trial = 0; trial < 50; trial++) {
      let crc = 0;
      for (let at = 0; at < data.length;) {
        const end = Math.min(data.length, at + randomInt(0, 300));
        crc = crc32c(data.subarray(at, end), crc);
        at = end;
      }
      assert.equal(crc, whole);
    }
  });

  it('reads views at any byte offset of their buffer', () => {
    const backing = randomBytes(1000);
    for (let offset = 0; offset < 8; offset++) {
      const view = new Uint8Array(backing.buffer, backing.byteOffset + offset, 900);
      assert.equal(crc32c(view), reference(view));
    }
  });

  it('agrees with the AWS SDK implementation on random data', async () => {
    for (let trial = 0; trial < 20; trial++) {
      const data = randomBytes(randomInt(0, 1 << 17));
      assert.equal(crc32c(data), await sdk(data));
    }
    const big = randomBytes(4 << 20);
    assert.equal(crc32c(big), await sdk(big));
  });
});
