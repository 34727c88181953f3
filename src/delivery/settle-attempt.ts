import type { Database } from '../db/database.ts';
import {
  disableEndpoint,
  finishDelivery,
  recordAttempt,
  recordEndpointOutcome,
  rescheduleDelivery,
  type DeliveryContext,
  type DeliveryRow,
} from '../db/delivery-repository.ts';
import { autoDisableVerdict, describeFailure, type AutoDisableVerdict } from './auto-disable.ts';
import type { DeliveryRequest } from './delivery-request.ts';
import { classifyResponse, nextDelayMs, retryPolicyOf, type RetryPolicy } from './retry-policy.ts';
import type { SendErrorCode, SendResult } from './send-result.ts';

/** A POST made, to be recorded. */
export interface SentAttempt {
  readonly context: DeliveryContext;
  readonly attempt: number;
  readonly startedAt: number;
  readonly request: DeliveryRequest | undefined;
  readonly result: SendResult;
}

export interface SettleAttemptInput {
  readonly row: DeliveryRow;
  readonly sent: SentAttempt;
  /** The lease owner: only it may settle the row. */
  readonly owner: string;
  readonly now: number;
  /** Server-wide backoff shape; attempts and bounds come from the endpoint. */
  readonly retry: Pick<RetryPolicy, 'factor' | 'jitter'>;
  /** 0..1, for retry jitter; called only when the delivery is retried. */
  readonly random: () => number;
}

/** How an attempt was settled. */
export interface SettledAttempt {
  /** False when the lease was lost before the attempt was recorded (nothing was written). */
  readonly kept: boolean;
  readonly outcome: 'succeeded' | 'dead' | 'retrying';
  /** When it is due again; null unless retrying. */
  readonly nextAttemptAt: number | null;
  readonly errorCode: SendErrorCode | null;
  readonly errorText: string | null;
  /** The endpoint was auto-disabled by this attempt (committed); else null. */
  readonly disabled: AutoDisableVerdict | null;
}

/**
 * Records an attempt's outcome in one commit: classifies the result, finishes the delivery (succeeded
 * or dead once its budget is spent) or reschedules it after the endpoint's backoff, records the
 * attempt and the endpoint's failure record, and auto-disables the endpoint when that record says so.
 * Nothing is recorded when the lease was lost.
 */
export async function settleAttempt(database: Database, input: SettleAttemptInput): Promise<SettledAttempt> {
  const { row, sent, owner, now } = input;
  const { context, attempt, startedAt, request, result } = sent;
  const { endpoint } = context;
  const succeeded = classifyResponse(result) === 'success';
  const policy = retryPolicyOf(endpoint, input.retry);
  const errorCode = succeeded ? null : (result.errorCode ?? 'HTTP_STATUS');
  const errorText = succeeded ? null : (result.error ?? `HTTP ${result.statusCode ?? '?'}`);
  const outcome = succeeded
    ? 'succeeded'
    : attempt - row.budget_start >= Math.max(1, policy.maxAttempts)
      ? 'dead'
      : 'retrying';
  const nextAttemptAt =
    outcome === 'retrying'
      ? now +
        nextDelayMs(
          policy,
          attempt - row.budget_start,
          result.responseHeaders?.['retry-after'],
          input.random(),
          now,
        )
      : null;
  const summary = {
    now,
    attempts: attempt,
    lastStatusCode: result.statusCode ?? null,
    lastError: errorCode === null ? null : `${errorCode}: ${errorText ?? ''}`,
    lastDurationMs: result.durationMs,
  };
  // Set inside the transaction; acted on (log, metric) only once it has committed.
  const disabled: { verdict: AutoDisableVerdict | null } = { verdict: null };
  const kept = await database.commit(async (tx) => {
    const owned =
      nextAttemptAt === null
        ? await finishDelivery(tx, row.id, owner, {
            ...summary,
            status: succeeded ? 'succeeded' : 'dead',
          })
        : await rescheduleDelivery(tx, row.id, owner, { ...summary, nextAttemptAt });
    if (!owned) return false;
    await recordAttempt(tx, {
      delivery_id: row.id,
      attempt,
      started_at: startedAt,
      duration_ms: result.durationMs,
      request_headers: JSON.stringify(request?.recordedHeaders ?? {}),
      request_body: request?.body ?? '',
      status_code: result.statusCode ?? null,
      response_headers: result.responseHeaders === undefined ? null : JSON.stringify(result.responseHeaders),
      response_body: result.responseBody ?? null,
      error_code: errorCode,
      error: errorText,
    });
    const health = await recordEndpointOutcome(tx, endpoint.id, {
      succeeded,
      deadLettered: outcome === 'dead',
      now,
    });
    const verdict =
      succeeded || health === undefined ? null : autoDisableVerdict(health, now, describeFailure(result));
    if (verdict !== null && (await disableEndpoint(tx, endpoint.id, verdict.reason, now)))
      disabled.verdict = verdict;
    return true;
  });
  return { kept, outcome, nextAttemptAt, errorCode, errorText, disabled: disabled.verdict };
}
