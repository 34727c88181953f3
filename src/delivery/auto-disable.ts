import type { EndpointHealth } from '../db/delivery-repository.ts';
import type { SendResult } from './send-result.ts';

/** Why an endpoint is to be disabled: too many failed deliveries in a row, or failing for too long. */
export interface AutoDisableVerdict {
  readonly trigger: 'failures' | 'duration';
  /** Shown as the endpoint's `state_reason`, e.g. "5 consecutive failed deliveries; last: HTTP 500". */
  readonly reason: string;
}

/**
 * Decides, after a failed attempt has been recorded, whether an active endpoint is to be disabled:
 * `auto_disable_failures` (> 0) dead-lettered deliveries in a row, or failing without a success for
 * `auto_disable_after_ms` since `failing_since`. Null when it stays as it is.
 */
export function autoDisableVerdict(
  health: EndpointHealth,
  now: number,
  lastFailure: string,
): AutoDisableVerdict | null {
  if (health.state !== 'active') return null;
  const threshold = health.auto_disable_failures;
  if (threshold > 0 && health.consecutive_failures >= threshold) {
    const n = health.consecutive_failures;
    return {
      trigger: 'failures',
      reason: `${n} consecutive failed deliver${n === 1 ? 'y' : 'ies'}; last: ${lastFailure}`,
    };
  }
  const limit = health.auto_disable_after_ms;
  const since = health.failing_since;
  if (limit !== null && limit > 0 && since !== null && now - since >= limit) {
    return {
      trigger: 'duration',
      reason: `failing without a success for ${formatSpan(now - since)} (since ${new Date(since).toISOString()}); last: ${lastFailure}`,
    };
  }
  return null;
}

/** A failed attempt in a few words: `HTTP 500`, or `TIMEOUT: no response within 300 ms`. */
export function describeFailure(result: Pick<SendResult, 'statusCode' | 'errorCode' | 'error'>): string {
  const code = result.errorCode ?? 'HTTP_STATUS';
  if (code === 'HTTP_STATUS' && result.statusCode !== undefined) return `HTTP ${result.statusCode}`;
  return result.error === undefined ? code : `${code}: ${result.error}`;
}

function formatSpan(ms: number): string {
  const units: readonly (readonly [string, number])[] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  for (const [unit, size] of units) {
    if (ms >= size) return `${Math.floor(ms / size)}${unit}`;
  }
  return `${ms}ms`;
}
