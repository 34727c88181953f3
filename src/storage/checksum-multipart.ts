import { CHECKSUM_DIGEST_BYTES, isWellFormedChecksum, type ChecksumAlgorithm } from './checksum-algorithm.ts';
import { createChecksum } from './checksum.ts';
import { crc32Combine, crc64Combine } from './crc-combine.ts';
import { CRC32C_POLYNOMIAL } from './crc32c.ts';
import { CRC64_NVME_POLYNOMIAL } from './crc64-nvme.ts';

/** Algorithms S3 allows with x-amz-checksum-type COMPOSITE (a checksum of the part checksums). */
export type CompositeChecksumAlgorithm = Exclude<ChecksumAlgorithm, 'CRC64NVME'>;

/** Algorithms S3 allows with x-amz-checksum-type FULL_OBJECT (the CRC of the whole object). */
export type FullObjectChecksumAlgorithm = Extract<ChecksumAlgorithm, 'CRC32' | 'CRC32C' | 'CRC64NVME'>;

const CRC32_POLYNOMIAL = 0xedb88320;

function decodePart(alg: ChecksumAlgorithm, digestBase64: string, index: number): Buffer {
  if (!isWellFormedChecksum(alg, digestBase64)) {
    throw new TypeError(`part ${index + 1}: '${digestBase64}' is not a base64 ${alg} digest`);
  }
  return Buffer.from(digestBase64, 'base64');
}

/**
 * The COMPOSITE checksum of a completed multipart upload: the checksum of the concatenated binary part digests
 * (in part order), base64, with '-N' appended for N parts, e.g. 'VjM5fA==-3'.
 */
export function compositeChecksum(
  alg: CompositeChecksumAlgorithm,
  partDigestsBase64: readonly string[],
): string {
  if (partDigestsBase64.length === 0) throw new RangeError('a composite checksum needs at least one part');
  const checksum = createChecksum(alg);
  partDigestsBase64.forEach((digest, index) => {
    checksum.update(decodePart(alg, digest, index));
  });
  return `${checksum.digest()}-${partDigestsBase64.length}`;
}

/**
 * The FULL_OBJECT checksum of a completed multipart upload: the CRC of all the parts' bytes in order, combined from
 * each part's CRC (base64, big-endian) and length in bytes. Zero parts give the CRC of no bytes.
 */
export function combineFullObjectCrc(
  alg: FullObjectChecksumAlgorithm,
  parts: readonly { readonly digestBase64: string; readonly length: number }[],
): string {
  const out = Buffer.alloc(CHECKSUM_DIGEST_BYTES[alg]);
  if (alg === 'CRC64NVME') {
    let crc = 0n;
    parts.forEach((part, index) => {
      const value = decodePart(alg, part.digestBase64, index).readBigUInt64BE(0);
      crc = crc64Combine(CRC64_NVME_POLYNOMIAL, crc, value, part.length);
    });
    out.writeBigUInt64BE(crc);
  } else {
    const polynomial = alg === 'CRC32' ? CRC32_POLYNOMIAL : CRC32C_POLYNOMIAL;
    let crc = 0;
    parts.forEach((part, index) => {
      const value = decodePart(alg, part.digestBase64, index).readUInt32BE(0);
      crc = crc32Combine(polynomial, crc, value, part.length);
    });
    out.writeUInt32BE(crc);
  }
  return out.toString('base64');
}
