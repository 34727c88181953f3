import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_RETRY_POLICY,
  classifyResponse,
  nextDelayMs,
  parseRetryAfterMs,
  retryPolicyOf,
  type RetryPolicy,
} from './retry-policy.ts';

const policy: RetryPolicy = {
  maxAttempts: 8,
  initialDelayMs: 1000,
  maxDelayMs: 60_000,
  factor: 2,
  jitter: 0.2,
};
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

describe('classifyResponse', () => {
  it('treats every 2xx as success', () => {
    for (const statusCode of [200, 201, 202, 204, 299])
      assert.equal(classifyResponse({ statusCode }), 'success');
  });

  it('retries every non-2xx status, 3xx and 4xx included', () => {
    for (const statusCode of [
      100, 301, 302, 304, 307, 400, 401, 403, 404, 408, 410, 413, 422, 429, 500, 502, 503, 504,
    ]) {
      assert.equal(classifyResponse({ statusCode, errorCode: 'HTTP_STATUS' }), 'retry', String(statusCode));
    }
  });

  it('retries every transport failure', () => {
    for (const errorCode of [
      'TIMEOUT',
      'CONNECTION_ERROR',
      'TLS_ERROR',
      'SSRF_BLOCKED',
      'INVALID_URL',
    ] as const) {
      assert.equal(classifyResponse({ errorCode }), 'retry');
    }
  });

  it('does not call a 2xx whose body failed to arrive a success', () => {
    assert.equal(classifyResponse({ statusCode: 200, errorCode: 'TIMEOUT' }), 'retry');
    assert.equal(classifyResponse({}), 'retry');
  });
});

describe('nextDelayMs', () => {
  it('grows exponentially without jitter at random = 0.5', () => {
    const delays = [1, 2, 3, 4, 5].map((n) => nextDelayMs(policy, n, undefined, 0.5, NOW));
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000]);
  });

  it('caps at maxDelay', () => {
    assert.equal(nextDelayMs(policy, 20, undefined, 0.5, NOW), 60_000);
    assert.equal(nextDelayMs(policy, 200, undefined, 0.5, NOW), 60_000);
  });

  it('spreads by ±jitter and never exceeds the cap', () => {
    assert.equal(nextDelayMs(policy, 1, undefined, 0, NOW), 800);
    assert.equal(nextDelayMs(policy, 1, undefined, 1, NOW), 1200);
    assert.equal(nextDelayMs(policy, 30, undefined, 0, NOW), 48_000);
    assert.equal(nextDelayMs(policy, 30, undefined, 1, NOW), 60_000);
  });

  it('honours Retry-After in seconds, clamped to [initialDelay, maxDelay]', () => {
    assert.equal(nextDelayMs(policy, 1, '5', 0.9, NOW), 5000);
    assert.equal(nextDelayMs(policy, 6, '5', 0.9, NOW), 5000);
    assert.equal(nextDelayMs(policy, 1, '0', 0.9, NOW), 1000);
    assert.equal(nextDelayMs(policy, 1, '86400', 0.9, NOW), 60_000);
  });

  it('honours Retry-After as an HTTP date', () => {
    const in30s = new Date(NOW + 30_000).toUTCString();
    assert.equal(nextDelayMs(policy, 1, in30s, 0.5, NOW), 30_000);
    const past = new Date(NOW - 30_000).toUTCString();
    assert.equal(nextDelayMs(policy, 1, past, 0.5, NOW), 1000);
  });

  it('ignores an unreadable Retry-After', () => {
    assert.equal(nextDelayMs(policy, 2, 'soon', 0.5, NOW), 2000);
    assert.equal(nextDelayMs(policy, 2, '', 0.5, NOW), 2000);
    assert.equal(nextDelayMs(policy, 2, '-3', 0.5, NOW), 2000);
  });

  it('follows the Alarik-like default schedule', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((n) =>
      nextDelayMs(DEFAULT_RETRY_POLICY, n, undefined, 0.5, NOW),
    );
    assert.deepEqual(delays, [30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000]);
    assert.equal(nextDelayMs(DEFAULT_RETRY_POLICY, 8, undefined, 0.5, NOW), 3_600_000);
  });
});

describe('parseRetryAfterMs', () => {
  it('reads seconds and dates', () => {
    assert.equal(parseRetryAfterMs(' 12 ', NOW), 12_000);
    assert.equal(parseRetryAfterMs(new Date(NOW + 2000).toUTCString(), NOW), 2000);
    assert.equal(parseRetryAfterMs(undefined, NOW), undefined);
  });
});

describe('retryPolicyOf', () => {
  it('takes attempts and bounds from the endpoint row', () => {
    assert.deepEqual(retryPolicyOf({ max_attempts: 3, backoff_initial_ms: 50, backoff_max_ms: 400 }), {
      maxAttempts: 3,
      initialDelayMs: 50,
      maxDelayMs: 400,
      factor: 2,
      jitter: 0.2,
    });
  });

  it('never lets the cap fall below the initial delay', () => {
    assert.equal(
      retryPolicyOf({ max_attempts: 3, backoff_initial_ms: 500, backoff_max_ms: 100 }).maxDelayMs,
      500,
    );
  });
});
