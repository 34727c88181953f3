import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  CHECKSUM_ALGORITHMS,
  CHECKSUM_DIGEST_BYTES,
  checksumBase64Length,
  checksumHeaderName,
  isWellFormedChecksum,
  parseChecksumAlgorithm,
} from './checksum-algorithm.ts';

describe('checksum algorithms', () => {
  it('names the x-amz-checksum-* header of each algorithm', () => {
    assert.deepEqual(
      CHECKSUM_ALGORITHMS.map((alg) => checksumHeaderName(alg)),
      [
        'x-amz-checksum-crc32',
        'x-amz-checksum-crc32c',
        'x-amz-checksum-crc64nvme',
        'x-amz-checksum-sha1',
        'x-amz-checksum-sha256',
      ],
    );
  });

  it('parses algorithm names case-insensitively and rejects others', () => {
    for (const alg of CHECKSUM_ALGORITHMS) {
      assert.equal(parseChecksumAlgorithm(alg), alg);
      assert.equal(parseChecksumAlgorithm(alg.toLowerCase()), alg);
      assert.equal(parseChecksumAlgorithm(` ${alg.toLowerCase()} `), alg);
    }
    assert.equal(parseChecksumAlgorithm('Crc64Nvme'), 'CRC64NVME');
    for (const bad of ['', 'MD5', 'CRC', 'SHA-256', 'crc32cc', 'CRC64']) {
      assert.equal(parseChecksumAlgorithm(bad), undefined, bad);
    }
  });

  it('knows each digest size and its base64 length', () => {
    assert.deepEqual(
      CHECKSUM_ALGORITHMS.map((alg) => [CHECKSUM_DIGEST_BYTES[alg], checksumBase64Length(alg)]),
      [
        [4, 8],
        [4, 8],
        [8, 12],
        [20, 28],
        [32, 44],
      ],
    );
    for (const alg of CHECKSUM_ALGORITHMS) {
      const value = randomBytes(CHECKSUM_DIGEST_BYTES[alg]).toString('base64');
      assert.equal(value.length, checksumBase64Length(alg));
    }
  });

  it('accepts only canonical base64 digests of the right size', () => {
    for (const alg of CHECKSUM_ALGORITHMS) {
      const bytes = CHECKSUM_DIGEST_BYTES[alg];
      assert.equal(isWellFormedChecksum(alg, randomBytes(bytes).toString('base64')), true, alg);
      assert.equal(isWellFormedChecksum(alg, randomBytes(bytes + 1).toString('base64')), false, alg);
      assert.equal(isWellFormedChecksum(alg, randomBytes(bytes - 1).toString('base64')), false, alg);
      assert.equal(isWellFormedChecksum(alg, ''), false, alg);
    }
    assert.equal(isWellFormedChecksum('CRC32', 'yZRlqg=='), true);
    assert.equal(isWellFormedChecksum('CRC32', 'yZRlqg'), false); // unpadded
    assert.equal(isWellFormedChecksum('CRC32', 'yZRlqh=='), false); // non-zero trailing bits
    assert.equal(isWellFormedChecksum('CRC32', 'yZR!qg=='), false);
    assert.equal(isWellFormedChecksum('CRC32', 'yZRl-g=='), false); // base64url
    assert.equal(isWellFormedChecksum('CRC32', 'yZRlqg==-2'), false); // composite suffix
  });
});
