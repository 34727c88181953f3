import { parseChecksumAlgorithm, type ChecksumAlgorithm } from '../storage/checksum-algorithm.ts';

/** The XML element S3 uses for a checksum value, e.g. ChecksumCRC32. */
export function checksumElement(algorithm: ChecksumAlgorithm): string {
  return `Checksum${algorithm}`;
}

/** `{ ChecksumCRC32: value }` for a stored algorithm name, or `{}`. */
export function checksumFields(algorithm: string | null, value: string | null): Record<string, string> {
  if (algorithm === null || value === null) return {};
  const alg = parseChecksumAlgorithm(algorithm);
  return alg === undefined ? {} : { [checksumElement(alg)]: value };
}
