import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUTH_ERROR_CODES } from '../auth/auth-error.ts';
import { isS3ErrorCode } from './s3-error.ts';

describe('S3_ERROR_CODES', () => {
  it('knows every code the authentication layer throws, so none of them becomes a 500', () => {
    assert.deepEqual(
      AUTH_ERROR_CODES.filter((code) => !isS3ErrorCode(code)),
      [],
    );
  });
});
