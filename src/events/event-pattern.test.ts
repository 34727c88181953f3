import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandPatterns, isAwsEventPattern, isUsableGlob, matchesPattern } from './event-pattern.ts';

describe('event patterns', () => {
  it('matches exact names and AWS wildcards', () => {
    assert.ok(matchesPattern('s3:ObjectCreated:Put', 's3:ObjectCreated:Put'));
    assert.ok(!matchesPattern('s3:ObjectCreated:Put', 's3:ObjectCreated:Copy'));
    for (const name of [
      's3:ObjectCreated:Put',
      's3:ObjectCreated:Post',
      's3:ObjectCreated:Copy',
      's3:ObjectCreated:CompleteMultipartUpload',
    ]) {
      assert.ok(matchesPattern('s3:ObjectCreated:*', name), name);
      assert.ok(!matchesPattern('s3:ObjectRemoved:*', name), name);
    }
    assert.ok(matchesPattern('s3:ObjectRemoved:*', 's3:ObjectRemoved:Delete'));
  });

  it('treats * as a glob and escapes everything else', () => {
    assert.ok(matchesPattern('*', 's3:ObjectRemoved:Delete'));
    assert.ok(matchesPattern('s3:*:Put', 's3:ObjectCreated:Put'));
    assert.ok(!matchesPattern('s3.ObjectCreated.Put', 's3:ObjectCreated:Put'));
  });

  it('knows which patterns AWS accepts and which globs are usable', () => {
    assert.ok(isAwsEventPattern('s3:ObjectCreated:*'));
    assert.ok(!isAwsEventPattern('s3:ObjectCreated:Nope'));
    assert.ok(!isAwsEventPattern('*'));
    assert.ok(isUsableGlob('*'));
    assert.ok(!isUsableGlob('s3:Bogus:*'));
  });

  it('expands patterns to concrete names', () => {
    assert.deepEqual(expandPatterns(['s3:ObjectRemoved:*', 's3:ObjectCreated:Put']), [
      's3:ObjectCreated:Put',
      's3:ObjectRemoved:Delete',
    ]);
  });
});
