import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointHealth } from '../db/delivery-repository.ts';
import { autoDisableVerdict, describeFailure } from './auto-disable.ts';

const NOW = Date.parse('2025-03-01T12:00:00Z');
const healthy: EndpointHealth = {
  state: 'active',
  consecutive_failures: 0,
  auto_disable_failures: 5,
  auto_disable_after_ms: null,
  failing_since: null,
};

describe('autoDisableVerdict', () => {
  it('disables after auto_disable_failures failed deliveries in a row', () => {
    assert.equal(
      autoDisableVerdict({ ...healthy, consecutive_failures: 4, failing_since: NOW - 1 }, NOW, 'HTTP 500'),
      null,
    );
    assert.deepEqual(
      autoDisableVerdict({ ...healthy, consecutive_failures: 5, failing_since: NOW - 1 }, NOW, 'HTTP 500'),
      {
        trigger: 'failures',
        reason: '5 consecutive failed deliveries; last: HTTP 500',
      },
    );
    assert.equal(
      autoDisableVerdict({ ...healthy, auto_disable_failures: 1, consecutive_failures: 1 }, NOW, 'HTTP 404')
        ?.reason,
      '1 consecutive failed delivery; last: HTTP 404',
    );
  });

  it('never disables for failures when auto_disable_failures is 0', () => {
    assert.equal(
      autoDisableVerdict({ ...healthy, auto_disable_failures: 0, consecutive_failures: 99 }, NOW, 'x'),
      null,
    );
  });

  it('disables after failing for auto_disable_after_ms since failing_since', () => {
    const timed = { ...healthy, auto_disable_failures: 0, auto_disable_after_ms: 3 * 86_400_000 };
    assert.equal(
      autoDisableVerdict({ ...timed, failing_since: NOW - 3 * 86_400_000 + 1 }, NOW, 'HTTP 503'),
      null,
    );
    assert.deepEqual(autoDisableVerdict({ ...timed, failing_since: NOW - 3 * 86_400_000 }, NOW, 'HTTP 503'), {
      trigger: 'duration',
      reason: 'failing without a success for 3d (since 2025-02-26T12:00:00.000Z); last: HTTP 503',
    });
    assert.equal(autoDisableVerdict({ ...timed, failing_since: null }, NOW, 'x'), null);
    assert.match(
      autoDisableVerdict({ ...timed, auto_disable_after_ms: 1500, failing_since: NOW - 1600 }, NOW, 'x')
        ?.reason ?? '',
      /^failing without a success for 1s /,
    );
  });

  it('leaves an endpoint that is not active alone', () => {
    assert.equal(
      autoDisableVerdict({ ...healthy, state: 'paused', consecutive_failures: 9 }, NOW, 'x'),
      null,
    );
    assert.equal(
      autoDisableVerdict({ ...healthy, state: 'disabled', consecutive_failures: 9 }, NOW, 'x'),
      null,
    );
  });
});

describe('describeFailure', () => {
  it('names the status, or the error code and message', () => {
    assert.equal(describeFailure({ statusCode: 500, errorCode: 'HTTP_STATUS' }), 'HTTP 500');
    assert.equal(describeFailure({ statusCode: 502 }), 'HTTP 502');
    assert.equal(
      describeFailure({ errorCode: 'TIMEOUT', error: 'no response within 300 ms' }),
      'TIMEOUT: no response within 300 ms',
    );
    assert.equal(describeFailure({ errorCode: 'CONNECTION_ERROR' }), 'CONNECTION_ERROR');
  });
});
