import { S3Error } from './s3-error.ts';

export interface ByteRange {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

/**
 * Parses a single `bytes=` range against an object of `size` bytes. Returns undefined when the header
 * is absent, malformed or asks for several ranges (S3 then serves the whole object); throws InvalidRange
 * when the range cannot be satisfied. On an empty object a range that starts at an offset is never
 * satisfiable (416); a suffix range (`bytes=-5`, "the last 5 bytes") is, but no Content-Range can
 * describe the empty slice it selects (`bytes 0--1/0` is not valid), so the whole (empty) object is
 * served instead, with 200, as RFC 9110 lets a server do with any Range.
 */
export function parseRange(value: string | undefined, size: number): ByteRange | undefined {
  if (value === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) throw invalid(size);
    if (size === 0) return undefined;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) throw invalid(size);
  return { start, end };
}

function invalid(size: number): S3Error {
  return new S3Error(
    'InvalidRange',
    undefined,
    { ActualObjectSize: String(size) },
    { 'content-range': `bytes */${size}` },
  );
}
