import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database } from '../db/database.ts';
import { claimDueDeliveries, type ClaimedDelivery } from '../db/delivery-claim.ts';
import {
  countOpenDeliveries,
  finishDelivery,
  loadDeliveryContext,
  purgeFinished,
  reconcileHolds,
  releaseDelivery,
  releaseLeases,
  type DeliveryContext,
  type DeliveryRow,
  type PurgeCounts,
} from '../db/delivery-repository.ts';
import type { Logger } from '../observability/logger.ts';
import type { AutoDisableVerdict } from './auto-disable.ts';
import {
  DeliveryRenderError,
  buildDeliveryRequest,
  type DeliveryRequest,
  type RequestSettings,
} from './delivery-request.ts';
import { EndpointLanes } from './endpoint-lanes.ts';
import { awsS3Format } from './formats/aws-s3-format.ts';
import { HttpSender } from './http-sender.ts';
import { DEFAULT_RETRY_POLICY, classifyResponse, type RetryPolicy } from './retry-policy.ts';
import type { DispatcherOptions } from './dispatcher-options.ts';
import type { AttemptReport, DispatcherState, DispatcherStatus } from './dispatcher-status.ts';
import type { SendResult } from './send-result.ts';
import { settleAttempt, type SentAttempt as Sent } from './settle-attempt.ts';

export type { AttemptReport, DispatcherState, DispatcherStatus } from './dispatcher-status.ts';
export type { DispatcherOptions } from './dispatcher-options.ts';

interface Running {
  readonly controller: AbortController;
  readonly task: Promise<void>;
}

const NAME = 'delivery-dispatcher';
/** How long after an endpoint's state changed its deliveries are checked for a missed hold or release. */
const HOLD_RACE_WINDOW_MS = 60_000;

/**
 * The delivery worker: claims due outbox rows, POSTs them, records each attempt, and reschedules or
 * dead-letters failures (retries live in the database, STYLE habit 9). Endpoints progress independently:
 * claimed rows wait in one lane per endpoint (EndpointLanes), a claim never gives an endpoint more
 * than `max_in_flight × prefetch` rows, each lane POSTs at most `max_in_flight` at once, and POSTs run
 * concurrently up to `maxInFlight`, so a hanging receiver only ever holds its own slots. A POST frees
 * its slot as soon as it ends; recording the attempt (through the group commit) happens meanwhile.
 */
export class Dispatcher {
  readonly #database: Database;
  readonly #logger: Logger;
  readonly #sender: Pick<HttpSender, 'send'>;
  readonly #trustedSender: Pick<HttpSender, 'send'>;
  /** The sender this dispatcher made, and so closes. */
  readonly #ownSender: HttpSender | undefined;
  readonly #settings: RequestSettings;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #owner: string;
  readonly #pollIntervalMs: number;
  readonly #claimBatchSize: number;
  readonly #maxInFlight: number;
  readonly #prefetch: number;
  readonly #maxClaimed: number;
  readonly #leaseMs: number;
  readonly #retry: Pick<RetryPolicy, 'factor' | 'jitter'>;
  readonly #succeededRetentionMs: number;
  readonly #deadRetentionMs: number;
  readonly #purgeIntervalMs: number;
  readonly #onAttempt: ((report: AttemptReport) => void) | undefined;
  readonly #onEndpointDisabled: DispatcherOptions['onEndpointDisabled'];

  #state: DispatcherState = 'idle';
  #loop: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;
  #wakePending = false;
  #wakeSleeper: (() => void) | undefined;
  /** Claimed deliveries not yet taken for sending. */
  readonly #lanes = new EndpointLanes<ClaimedDelivery>();
  /** Endpoints whose last claim took every place they had: a settled delivery makes room to claim again. */
  readonly #fullEndpoints = new Set<string>();
  /** The earliest retry this dispatcher scheduled that may not have been claimed yet. */
  #nextRetryAt = Infinity;
  /** Deliveries taken: being sent, or their attempt being recorded. */
  readonly #inFlight = new Map<string, Running>();
  #purgeTimer: NodeJS.Timeout | undefined;
  #purging: Promise<unknown> = Promise.resolve();
  #queue = { depth: 0, held: 0, countedAt: null as number | null };
  #lastSuccessAt: number | null = null;
  #lastError: DispatcherStatus['lastError'] = null;
  #lastFailure: DispatcherStatus['lastFailure'] = null;
  #lastPurge: DispatcherStatus['lastPurge'] = null;
  #totals = { succeeded: 0, retried: 0, dead: 0, lost: 0 };

  constructor(options: DispatcherOptions) {
    this.#database = options.database;
    this.#logger = options.logger;
    this.#ownSender = options.sender === undefined ? new HttpSender() : undefined;
    this.#sender = options.sender ?? this.#ownSender!;
    this.#trustedSender = options.trustedSender ?? this.#sender;
    this.#settings = {
      version: options.version,
      payloadSettings: options.payloadSettings,
      formats: new Map((options.formats ?? [awsS3Format]).map((f) => [f.name, f])),
      secretBox: options.secretBox,
    };
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.#claimBatchSize = options.claimBatchSize ?? 64;
    this.#maxInFlight = options.maxInFlight ?? 256;
    this.#prefetch = options.prefetch ?? 8;
    this.#maxClaimed = options.maxClaimed ?? 1024;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.#succeededRetentionMs = options.succeededRetentionMs ?? 24 * 3600_000;
    this.#deadRetentionMs = options.deadRetentionMs ?? 7 * 24 * 3600_000;
    this.#purgeIntervalMs = options.purgeIntervalMs ?? 60_000;
    this.#onAttempt = options.onAttempt;
    this.#onEndpointDisabled = options.onEndpointDisabled;
  }

  /** Starts the claim loop and the purge timer. */
  start(): void {
    if (this.#state !== 'idle') throw new Error(`${NAME} cannot start: it is ${this.#state}`);
    this.#state = 'running';
    this.#logger.info({ owner: this.#owner }, 'dispatcher started');
    this.#loop = this.#run();
    this.#schedulePurge();
  }

  /** Asks for a claim now; calls made while a claim runs fold into one more claim. Cheap, never throws. */
  wake(): void {
    this.#wakePending = true;
    const sleeper = this.#wakeSleeper;
    this.#wakeSleeper = undefined;
    sleeper?.();
  }

  /**
   * Stops claiming, lets POSTs in flight finish for up to `graceMs` (default 5 s), then cancels the
   * rest and gives their rows back (pending or retrying, lease cleared, no attempt counted).
   */
  stop(options: { readonly graceMs?: number } = {}): Promise<void> {
    this.#stopping ??= this.#stop(options.graceMs ?? 5_000);
    return this.#stopping;
  }

  status(): DispatcherStatus {
    return {
      name: NAME,
      state: this.#state,
      owner: this.#owner,
      queueDepth: this.#queue.depth,
      held: this.#queue.held,
      queueCountedAt: this.#queue.countedAt,
      inFlight: this.#lanes.sending,
      claimed: this.#lanes.queued,
      lastSuccessAt: this.#lastSuccessAt,
      lastError: this.#lastError,
      lastFailure: this.#lastFailure,
      totals: { ...this.#totals },
      lastPurge: this.#lastPurge,
    };
  }

  /** Deletes finished deliveries past their retention now (the purge timer calls this too). */
  async purge(): Promise<PurgeCounts> {
    const now = this.#now();
    const counts = await purgeFinished(this.#database.db, {
      succeededBefore: now - this.#succeededRetentionMs,
      deadBefore: now - this.#deadRetentionMs,
    });
    this.#lastPurge = { ...counts, at: now };
    if (counts.deliveries > 0) this.#logger.info(counts, 'purged finished deliveries');
    return counts;
  }

  async #stop(graceMs: number): Promise<void> {
    if (this.#state === 'idle') {
      this.#state = 'stopped';
      await this.#ownSender?.close();
      return;
    }
    this.#state = 'stopping';
    clearTimeout(this.#purgeTimer);
    this.wake();
    await this.#loop;
    // Claimed and never sent: given back below with the other leases.
    this.#lanes.clear();
    const tasks = [...this.#inFlight.values()].map((r) => r.task);
    if (tasks.length > 0) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
      await Promise.race([Promise.allSettled(tasks), grace]);
      clearTimeout(timer);
      for (const running of this.#inFlight.values()) running.controller.abort();
      await Promise.allSettled(tasks);
    }
    await this.#purging;
    try {
      const released = await releaseLeases(this.#database.db, this.#owner, this.#now());
      if (released > 0) this.#logger.info({ released }, 'released leased deliveries');
    } catch (err) {
      this.#noteError(err, 'releasing leases at stop failed; they will expire');
    }
    await this.#ownSender?.destroy();
    this.#state = 'stopped';
    this.#logger.info('dispatcher stopped');
  }

  async #run(): Promise<void> {
    while (this.#state === 'running') {
      this.#wakePending = false;
      let saturated = false;
      try {
        const room = this.#maxClaimed - this.#lanes.queued - this.#inFlight.size;
        const limit = Math.min(room, this.#claimBatchSize);
        if (limit > 0) {
          const now = this.#now();
          if (this.#nextRetryAt <= now) this.#nextRetryAt = Infinity;
          const rows = await claimDueDeliveries(this.#database, {
            now,
            owner: this.#owner,
            leaseMs: this.#leaseMs,
            limit,
            prefetch: this.#prefetch,
          });
          for (const row of rows) {
            this.#lanes.add(row, row.max_in_flight);
            if (row.fills_endpoint === 1) this.#fullEndpoints.add(row.endpoint_id);
          }
          this.#pump();
          // A full batch means more may be due right now: claim again without waiting.
          saturated = rows.length === limit;
        }
        await this.#countQueue();
      } catch (err) {
        this.#noteError(err, 'claiming deliveries failed');
        await sleep(this.#pollIntervalMs);
        continue;
      }
      if (this.#state !== 'running') break;
      if (saturated || this.#wakePending) continue;
      // Until the next poll, or the earliest retry this dispatcher scheduled, whichever comes first.
      const delayMs = Math.max(0, Math.min(this.#pollIntervalMs, this.#nextRetryAt - this.#now()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#wakeSleeper = undefined;
          resolve();
        }, delayMs);
        timer.unref();
        this.#wakeSleeper = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Starts POSTs from the lanes while slots are free. */
  #pump(): void {
    while (this.#state === 'running' && this.#lanes.sending < this.#maxInFlight) {
      const row = this.#lanes.take();
      if (row === undefined) return;
      this.#begin(row);
    }
  }

  #begin(row: ClaimedDelivery): void {
    const controller = new AbortController();
    const task = this.#deliver(row, controller.signal)
      .catch(async (err: unknown) => {
        this.#noteError(err, 'delivering failed; the delivery is given back', row);
        await releaseDelivery(this.#database.db, row.id, this.#owner, this.#now()).catch(() => undefined);
      })
      .finally(() => {
        this.#inFlight.delete(row.id);
        // Settled: if its endpoint had no place left at the last claim, it has one now; claim again
        // when its lane runs short. (New deliveries wake the dispatcher themselves, at their commit.)
        if (
          this.#state === 'running' &&
          this.#lanes.waiting(row.endpoint_id) < row.max_in_flight &&
          this.#fullEndpoints.delete(row.endpoint_id)
        )
          this.wake();
      });
    this.#inFlight.set(row.id, { controller, task });
  }

  async #deliver(row: ClaimedDelivery, signal: AbortSignal): Promise<void> {
    let released = false;
    const releasePlace = () => {
      if (released) return;
      released = true;
      this.#lanes.done(row.endpoint_id);
      this.#pump();
    };
    try {
      const sent = await this.#send(row, signal);
      // After a success the endpoint's next POST starts while this attempt is recorded. A failure is
      // recorded first: it may disable the endpoint (auto-disable), which the next POST must see.
      if (sent === undefined || classifyResponse(sent.result) === 'success') releasePlace();
      if (sent !== undefined) await this.#settle(row, sent);
    } finally {
      releasePlace();
    }
  }

  /** POSTs a delivery; undefined when there is nothing to record (given back, or dead without an attempt). */
  async #send(row: DeliveryRow, signal: AbortSignal): Promise<Sent | undefined> {
    const db = this.#database.db;
    const attempt = row.attempts + 1;
    const context = await loadDeliveryContext(db, row);
    if (context === undefined) {
      await this.#deadWithoutAttempt(row, 'the endpoint or the event no longer exists');
      return undefined;
    }
    if (signal.aborted || context.endpoint.state !== 'active') {
      // Stopping, or its endpoint was paused or disabled while it waited in the lane: held then.
      await releaseDelivery(db, row.id, this.#owner, this.#now());
      return undefined;
    }
    const startedAt = this.#now();
    let request: DeliveryRequest;
    try {
      request = buildDeliveryRequest(row, context, attempt, startedAt, this.#settings);
    } catch (err) {
      if (!(err instanceof DeliveryRenderError)) throw err;
      const result: SendResult = { durationMs: 0, errorCode: 'RENDER_ERROR', error: err.message };
      return { context, attempt, startedAt, request: undefined, result };
    }
    // The owner decides which addresses are reachable; the sender enforces it on the address dialled.
    const sender = isTrusted(context) ? this.#trustedSender : this.#sender;
    const result = await sender.send({
      url: request.url,
      headers: request.headers,
      body: request.body,
      timeoutMs: request.timeoutMs,
      signal,
      clientCertificate: request.clientCertificate,
    });
    if (signal.aborted && result.errorCode !== undefined) {
      // Cancelled by stop(): not the receiver's fault, so no attempt is counted.
      await releaseDelivery(db, row.id, this.#owner, this.#now());
      return undefined;
    }
    return { context, attempt, startedAt, request, result };
  }

  async #settle(row: DeliveryRow, sent: Sent): Promise<void> {
    const now = this.#now();
    const { context, attempt, result } = sent;
    const { endpoint } = context;
    const { kept, outcome, nextAttemptAt, errorCode, errorText, disabled } = await settleAttempt(
      this.#database,
      { row, sent, owner: this.#owner, now, retry: this.#retry, random: this.#random },
    );
    const succeeded = outcome === 'succeeded';
    const log = {
      deliveryId: row.id,
      endpointId: endpoint.id,
      attempt,
      statusCode: result.statusCode,
      errorCode,
    };
    const finalOutcome = kept ? outcome : 'lost';
    if (kept && nextAttemptAt !== null && nextAttemptAt < this.#nextRetryAt) {
      this.#nextRetryAt = nextAttemptAt;
      if (nextAttemptAt - now < this.#pollIntervalMs) this.wake(); // sleeps again, but not past it
    }
    if (!kept) {
      this.#totals.lost++;
      this.#logger.warn(log, 'lease lost before the attempt was recorded; another worker owns the delivery');
    } else if (succeeded) {
      this.#totals.succeeded++;
      this.#lastSuccessAt = now;
      this.#logger.debug({ ...log, durationMs: result.durationMs }, 'delivered');
    } else {
      if (outcome === 'dead') this.#totals.dead++;
      else this.#totals.retried++;
      this.#lastFailure = {
        at: now,
        deliveryId: row.id,
        endpointId: endpoint.id,
        errorCode: errorCode ?? 'HTTP_STATUS',
        message: errorText ?? '',
      };
      if (outcome === 'dead') this.#logger.warn(log, 'delivery dead-lettered after its last attempt');
      else this.#logger.info({ ...log, nextAttemptAt }, 'delivery attempt failed; retrying');
    }
    if (disabled !== null) this.#endpointDisabled(endpoint.id, disabled);
    this.#report({
      deliveryId: row.id,
      endpointId: endpoint.id,
      attempt,
      outcome: finalOutcome,
      statusCode: result.statusCode ?? null,
      errorCode,
      durationMs: result.durationMs,
      nextAttemptAt: kept ? nextAttemptAt : null,
    });
  }

  async #deadWithoutAttempt(row: DeliveryRow, reason: string): Promise<void> {
    const now = this.#now();
    const owned = await finishDelivery(this.#database.db, row.id, this.#owner, {
      now,
      status: 'dead',
      attempts: row.attempts,
      lastStatusCode: null,
      lastError: reason,
      lastDurationMs: null,
    });
    if (owned) {
      this.#totals.dead++;
      this.#logger.warn(
        { deliveryId: row.id, endpointId: row.endpoint_id },
        `delivery dead-lettered: ${reason}`,
      );
    }
  }

  #endpointDisabled(endpointId: string, verdict: AutoDisableVerdict): void {
    this.#logger.warn(
      { endpointId, trigger: verdict.trigger, reason: verdict.reason },
      'webhook endpoint auto-disabled; its deliveries are held until it is enabled again',
    );
    try {
      this.#onEndpointDisabled?.({ ...verdict, endpointId });
    } catch (err) {
      this.#noteError(err, 'onEndpointDisabled callback threw');
    }
  }

  #report(report: AttemptReport): void {
    if (this.#onAttempt === undefined) return;
    try {
      this.#onAttempt(report);
    } catch (err) {
      this.#noteError(err, 'onAttempt callback threw');
    }
  }

  async #countQueue(): Promise<void> {
    const now = this.#now();
    const last = this.#queue.countedAt;
    if (last !== null && now - last < this.#pollIntervalMs) return;
    // Several writers (PostgreSQL) can race a pause, disable or enable; one writer (SQLite) cannot.
    if (!this.#database.singleWriter) await reconcileHolds(this.#database.db, now, HOLD_RACE_WINDOW_MS);
    const counts = await countOpenDeliveries(this.#database.db);
    this.#queue = {
      depth: counts.pending + counts.retrying + counts.in_flight,
      held: counts.held,
      countedAt: now,
    };
  }

  #schedulePurge(): void {
    if (this.#state !== 'running') return;
    this.#purgeTimer = setTimeout(() => {
      this.#purging = this.purge()
        .catch((err: unknown) => {
          this.#noteError(err, 'purging finished deliveries failed');
        })
        .finally(() => {
          this.#schedulePurge();
        });
    }, this.#purgeIntervalMs);
    this.#purgeTimer.unref();
  }

  #noteError(err: unknown, message: string, row?: DeliveryRow): void {
    const text = err instanceof Error ? err.message : String(err);
    this.#lastError = { at: this.#now(), message: `${message}: ${text}` };
    this.#logger.error(
      { err, ...(row === undefined ? {} : { deliveryId: row.id, endpointId: row.endpoint_id }) },
      message,
    );
  }
}

/** Endpoints an enabled admin owns, or the operator declared in the YAML file, may reach private addresses. */
function isTrusted(context: DeliveryContext): boolean {
  return context.ownerIsAdmin || context.endpoint.origin === 'config';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
