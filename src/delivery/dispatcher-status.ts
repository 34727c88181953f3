import type { PurgeCounts } from '../db/delivery-repository.ts';
import type { SendErrorCode } from './send-result.ts';

/** One attempt as it ended: `lost` when this worker's lease had been taken over and nothing was recorded. */
export interface AttemptReport {
  readonly deliveryId: string;
  readonly endpointId: string;
  readonly attempt: number;
  readonly outcome: 'succeeded' | 'retrying' | 'dead' | 'lost';
  readonly statusCode: number | null;
  readonly errorCode: SendErrorCode | null;
  readonly durationMs: number;
  readonly nextAttemptAt: number | null;
}

export type DispatcherState = 'idle' | 'running' | 'stopping' | 'stopped';

export interface DispatcherStatus {
  readonly name: 'delivery-dispatcher';
  readonly state: DispatcherState;
  readonly owner: string;
  /** Deliveries waiting or in flight (all instances), as of `queueCountedAt`. */
  readonly queueDepth: number;
  /** Deliveries held for paused endpoints, as of `queueCountedAt`. */
  readonly held: number;
  readonly queueCountedAt: number | null;
  /** POSTs in flight from this process now. */
  readonly inFlight: number;
  /** Deliveries this process has claimed and not yet started to POST (they wait in their endpoint's lane). */
  readonly claimed: number;
  readonly lastSuccessAt: number | null;
  /** The worker's own last problem (database, purge), not a receiver's. */
  readonly lastError: { readonly at: number; readonly message: string } | null;
  /** The last attempt that did not succeed. */
  readonly lastFailure: {
    readonly at: number;
    readonly deliveryId: string;
    readonly endpointId: string;
    readonly errorCode: SendErrorCode;
    readonly message: string;
  } | null;
  readonly totals: {
    readonly succeeded: number;
    readonly retried: number;
    readonly dead: number;
    readonly lost: number;
  };
  readonly lastPurge: (PurgeCounts & { readonly at: number }) | null;
}
