/** The additional checksum algorithms S3 accepts (x-amz-checksum-*, x-amz-checksum-algorithm). */
export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;

export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

/** Size in bytes of each algorithm's digest. */
export const CHECKSUM_DIGEST_BYTES: Readonly<Record<ChecksumAlgorithm, number>> = {
  CRC32: 4,
  CRC32C: 4,
  CRC64NVME: 8,
  SHA1: 20,
  SHA256: 32,
};

/** The header (lower case, as Node presents it) that carries the algorithm's value: 'x-amz-checksum-crc32'... */
export function checksumHeaderName(alg: ChecksumAlgorithm): `x-amz-checksum-${Lowercase<ChecksumAlgorithm>}` {
  return `x-amz-checksum-${alg.toLowerCase() as Lowercase<ChecksumAlgorithm>}`;
}

/** 'crc32c', 'CRC32C', ' Crc32c ' -> 'CRC32C'; anything else -> undefined. */
export function parseChecksumAlgorithm(s: string): ChecksumAlgorithm | undefined {
  const upper = s.trim().toUpperCase();
  return CHECKSUM_ALGORITHMS.find((alg) => alg === upper);
}

/** Length of the base64 text of a digest (with padding): CRC32/CRC32C 8, CRC64NVME 12, SHA1 28, SHA256 44. */
export function checksumBase64Length(alg: ChecksumAlgorithm): number {
  return Math.ceil(CHECKSUM_DIGEST_BYTES[alg] / 3) * 4;
}

/**
 * Whether a client-supplied value is a well-formed digest for `alg`: canonical, padded base64 of exactly the
 * digest size (so it can be compared with our own digest as a string). Composite '-N' values are not.
 */
export function isWellFormedChecksum(alg: ChecksumAlgorithm, value: string): boolean {
  if (value.length !== checksumBase64Length(alg)) return false;
  const bytes = Buffer.from(value, 'base64');
  return bytes.length === CHECKSUM_DIGEST_BYTES[alg] && bytes.toString('base64') === value;
}
