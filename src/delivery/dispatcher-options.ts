import type { Database } from '../db/database.ts';
import type { SecretBox } from '../db/secret-box.ts';
import type { Logger } from '../observability/logger.ts';
import type { AutoDisableVerdict } from './auto-disable.ts';
import type { PayloadFormat, PayloadSettings } from './formats/payload-format.ts';
import type { HttpSender } from './http-sender.ts';
import type { RetryPolicy } from './retry-policy.ts';
import type { AttemptReport } from './dispatcher-status.ts';

export interface DispatcherOptions {
  readonly database: Database;
  /** Opens endpoints' sealed signing secrets and Authorization values. */
  readonly secretBox: SecretBox;
  /** Pass a child logger naming the worker (`{ worker: 'delivery-dispatcher' }`); this one adds no fields. */
  readonly logger: Logger;
  /** The server's version, sent as `User-Agent: bucketbell/<version>`. */
  readonly version: string;
  /** Region and eventSource that payloads mention. */
  readonly payloadSettings: PayloadSettings;
  /**
   * Sends for endpoints of non-admin owners: give it the SSRF guard (`createAddressGuard`).
   * Default: a new HttpSender without a guard, closed by stop(). One passed in is left open.
   */
  readonly sender?: Pick<HttpSender, 'send'> | undefined;
  /**
   * Sends for endpoints that an enabled admin owns or the YAML file declares: no private-address
   * block. Default: `sender` (so without it every endpoint is treated alike). Left open by stop().
   */
  readonly trustedSender?: Pick<HttpSender, 'send'> | undefined;
  /** Default: [awsS3Format]. */
  readonly formats?: readonly PayloadFormat[] | undefined;
  readonly now?: (() => number) | undefined;
  /** 0..1, for retry jitter. */
  readonly random?: (() => number) | undefined;
  /** Lease owner id; default `<host>:<pid>:<random>`, unique per run. */
  readonly owner?: string | undefined;
  /** Claim this often without a wake, so retries come due (default 1000). */
  readonly pollIntervalMs?: number | undefined;
  /** Rows per claim (default 64). */
  readonly claimBatchSize?: number | undefined;
  /** POSTs in flight from this process, all endpoints together (default 256). */
  readonly maxInFlight?: number | undefined;
  /**
   * Deliveries an endpoint may have claimed at once, as a multiple of its `max_in_flight` (default 8).
   * They wait in the endpoint's lane, so a POST that ends is followed at once by the next one, with
   * no claim in between; at most `max_in_flight` of them are POSTed at a time.
   */
  readonly prefetch?: number | undefined;
  /** Deliveries claimed and not yet settled, all endpoints together (default 1024). */
  readonly maxClaimed?: number | undefined;
  /** How long a claim outlives the endpoint's own timeout (default 30 s). */
  readonly leaseMs?: number | undefined;
  /** Server-wide backoff shape; attempts and bounds come from each endpoint (default factor 2, jitter 0.2). */
  readonly retry?: Pick<RetryPolicy, 'factor' | 'jitter'> | undefined;
  /** Succeeded deliveries are kept this long (default 24 h). */
  readonly succeededRetentionMs?: number | undefined;
  /** Dead letters are kept this long (default 7 days). */
  readonly deadRetentionMs?: number | undefined;
  /** How often the purge runs (default 60 s). */
  readonly purgeIntervalMs?: number | undefined;
  /** Called after every attempt is settled (for metrics). Must not throw. */
  readonly onAttempt?: ((report: AttemptReport) => void) | undefined;
  /** Called after an endpoint was auto-disabled (for the metric). Must not throw. */
  readonly onEndpointDisabled?:
    ((event: AutoDisableVerdict & { readonly endpointId: string }) => void) | undefined;
}
