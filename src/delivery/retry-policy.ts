import type { EndpointsTable } from '../db/schema.ts';
import type { SendResult } from './send-result.ts';

/** How a failed delivery is retried: plain data, after undici's RetryHandler options, plus jitter. */
export interface RetryPolicy {
  /** Attempts in all (the first one included); after the last failed one the delivery is dead-lettered. */
  readonly maxAttempts: number;
  /** Delay after the first failed attempt; also the lowest delay a `Retry-After` can ask for. */
  readonly initialDelayMs: number;
  /** Cap on any delay, computed or asked for by `Retry-After`. */
  readonly maxDelayMs: number;
  /** Growth per failed attempt. */
  readonly factor: number;
  /** 0..1: each computed delay is spread uniformly over ±jitter of itself (0.2 = ±20 %). */
  readonly jitter: number;
}

/** Alarik's schedule, a little faster at the start: 30 s, 1 min, 2 min ... capped at 1 h, 8 attempts. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  initialDelayMs: 30_000,
  maxDelayMs: 3_600_000,
  factor: 2,
  jitter: 0.2,
};

/** An endpoint's own policy: attempts and bounds come from its row, factor and jitter are server-wide. */
export function retryPolicyOf(
  endpoint: Pick<EndpointsTable, 'max_attempts' | 'backoff_initial_ms' | 'backoff_max_ms'>,
  base: Pick<RetryPolicy, 'factor' | 'jitter'> = DEFAULT_RETRY_POLICY,
): RetryPolicy {
  return {
    maxAttempts: endpoint.max_attempts,
    initialDelayMs: endpoint.backoff_initial_ms,
    maxDelayMs: Math.max(endpoint.backoff_initial_ms, endpoint.backoff_max_ms),
    factor: base.factor,
    jitter: base.jitter,
  };
}

export type Verdict = 'success' | 'retry';

/**
 * A delivery succeeds only on a 2xx (invariant 3). EVERY other outcome is retried with the same
 * backoff until the attempts run out, then dead-lettered:
 * - 408, 429 and 5xx: the receiver is busy or broken for now;
 * - timeouts, connection and TLS errors, SSRF refusals: the network or the target may change;
 * - 3xx: redirects are never followed (the target of a redirect was not vetted by the SSRF guard,
 *   and re-POSTing a signed body elsewhere is not what the operator configured), so they fail;
 * - other 4xx (400, 401, 403, 404, 410, 413, 422 ...) are retried too, deliberately: they almost
 *   always mean a receiver misconfigured by its operator (a wrong token, a route not deployed yet),
 *   which gets fixed, and losing an event is worse than a few wasted POSTs. Nothing is dropped early;
 *   the dead letter keeps the last response for inspection and resend.
 */
export function classifyResponse(outcome: Pick<SendResult, 'statusCode' | 'errorCode'>): Verdict {
  const { statusCode, errorCode } = outcome;
  if (errorCode === undefined && statusCode !== undefined && statusCode >= 200 && statusCode <= 299)
    return 'success';
  return 'retry';
}

/**
 * Milliseconds to wait after failed attempt number `attemptNumber` (1 = the first attempt failed).
 * Without `Retry-After`: `initialDelay * factor^(attemptNumber-1)`, capped at `maxDelay`, then spread by
 * ±jitter using `random` (0..1) and capped again. A `Retry-After` (delta seconds, or an HTTP date read
 * against `now`) replaces the computed delay, clamped to [initialDelay, maxDelay]: a receiver may ask us
 * to slow down up to the cap, or to come back sooner, but not to hammer it.
 */
export function nextDelayMs(
  policy: RetryPolicy,
  attemptNumber: number,
  retryAfter: string | undefined,
  random: number,
  now: number,
): number {
  const asked = parseRetryAfterMs(retryAfter, now);
  if (asked !== undefined) return clamp(asked, policy.initialDelayMs, policy.maxDelayMs);
  const exponent = Math.max(0, attemptNumber - 1);
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** exponent);
  const jitter = clamp(policy.jitter, 0, 1);
  const spread = base * jitter * (2 * clamp(random, 0, 1) - 1);
  return Math.round(clamp(base + spread, 0, policy.maxDelayMs));
}

/** `Retry-After` as milliseconds from `now`, or undefined when absent or unreadable. */
export function parseRetryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day and month ("Wed, 21 Oct 2015 07:28:00 GMT"); bare numbers like "-3" are not dates.
  if (!/[A-Za-z]/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
