import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { ChecksumAlgorithm } from './checksum-algorithm.ts';
import { crc32c } from './crc32c.ts';
import { crc64Nvme } from './crc64-nvme.ts';

/** An incremental S3 object checksum. */
export interface Checksum {
  update(chunk: Uint8Array): void;
  /**
   * Base64 of the big-endian digest bytes, as S3 sends it in x-amz-checksum-*. May be called more than once (the
   * same value each time); update() after digest() throws.
   */
  digest(): string;
}

/** A fresh checksum of no bytes yet, for `alg`. */
export function createChecksum(alg: ChecksumAlgorithm): Checksum {
  switch (alg) {
    case 'CRC32':
      return crc32Checksum(crc32);
    case 'CRC32C':
      return crc32Checksum(crc32c);
    case 'CRC64NVME':
      return crc64Checksum();
    case 'SHA1':
      return hashChecksum('sha1');
    case 'SHA256':
      return hashChecksum('sha256');
  }
}

function crc32Checksum(fn: (data: Uint8Array, previous: number) => number): Checksum {
  let crc = 0;
  let done: string | undefined;
  return {
    update(chunk) {
      if (done !== undefined) throw new Error('checksum update after digest');
      crc = fn(chunk, crc);
    },
    digest() {
      if (done === undefined) {
        const out = Buffer.alloc(4);
        out.writeUInt32BE(crc >>> 0);
        done = out.toString('base64');
      }
      return done;
    },
  };
}

function crc64Checksum(): Checksum {
  let crc = 0n;
  let done: string | undefined;
  return {
    update(chunk) {
      if (done !== undefined) throw new Error('checksum update after digest');
      crc = crc64Nvme(chunk, crc);
    },
    digest() {
      if (done === undefined) {
        const out = Buffer.alloc(8);
        out.writeBigUInt64BE(crc);
        done = out.toString('base64');
      }
      return done;
    },
  };
}

function hashChecksum(name: 'sha1' | 'sha256'): Checksum {
  const hash = createHash(name);
  let done: string | undefined;
  return {
    update(chunk) {
      if (done !== undefined) throw new Error('checksum update after digest');
      hash.update(chunk);
    },
    digest() {
      done ??= hash.digest('base64');
      return done;
    },
  };
}
