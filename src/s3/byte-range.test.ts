import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRange } from './byte-range.ts';
import { S3Error } from './s3-error.ts';

/** Asserts InvalidRange (416) with the Content-Range `bytes * /size` (no space), as S3 answers an unsatisfiable range. */
function assertUnsatisfiable(value: string, size: number): void {
  assert.throws(
    () => parseRange(value, size),
    (err: unknown) =>
      err instanceof S3Error &&
      err.code === 'InvalidRange' &&
      err.status === 416 &&
      err.headers['content-range'] === `bytes */${size}` &&
      err.extra['ActualObjectSize'] === String(size),
    `${value} on ${size} bytes`,
  );
}

describe('parseRange', () => {
  it('resolves first-last, open-ended and suffix ranges against the size', () => {
    assert.deepEqual(parseRange('bytes=0-4', 20), { start: 0, end: 4 });
    assert.deepEqual(parseRange('bytes=5-', 20), { start: 5, end: 19 });
    assert.deepEqual(parseRange('bytes=-3', 20), { start: 17, end: 19 });
    assert.deepEqual(parseRange(' bytes=19-19 ', 20), { start: 19, end: 19 });
  });

  it('clamps a range that runs past the end, and a suffix longer than the object', () => {
    assert.deepEqual(parseRange('bytes=15-100', 20), { start: 15, end: 19 });
    assert.deepEqual(parseRange('bytes=-100', 20), { start: 0, end: 19 });
    assert.deepEqual(parseRange('bytes=-1', 1), { start: 0, end: 0 });
  });

  it('ignores an absent, malformed, reversed or multi-range header (the whole object is served)', () => {
    for (const value of [
      undefined,
      '',
      'bytes=',
      'bytes=-',
      'bytes=a-b',
      'items=0-1',
      'bytes=0-1,3-4',
      'bytes=5-2',
    ])
      assert.equal(parseRange(value, 20), undefined, String(value));
  });

  it('refuses a range that starts at or past the end, and an empty suffix, with InvalidRange', () => {
    assertUnsatisfiable('bytes=20-', 20);
    assertUnsatisfiable('bytes=20-25', 20);
    assertUnsatisfiable('bytes=-0', 20);
  });

  it('refuses every offset range on an empty object, and never describes an empty slice', () => {
    assertUnsatisfiable('bytes=0-', 0);
    assertUnsatisfiable('bytes=0-0', 0);
    assertUnsatisfiable('bytes=0-10', 0);
    assertUnsatisfiable('bytes=-0', 0);
    // "The last 5 bytes" of nothing is the (empty) object itself: served whole, never `bytes 0--1/0`.
    assert.equal(parseRange('bytes=-5', 0), undefined);
    assert.equal(parseRange('bytes=-1', 0), undefined);
  });
});
