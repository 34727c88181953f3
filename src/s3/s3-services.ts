import type { CredentialStore } from '../auth/credential-store.ts';
import type { Config } from '../config/config.ts';
import type { Database } from '../db/database.ts';
import type { Cidr } from '../delivery/address-policy.ts';
import type { HttpSender } from '../delivery/http-sender.ts';
import type { MutationContext } from '../mutations/mutation-context.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { BlobStore } from '../storage/blob-store.ts';

/** What the S3 handlers work with; built once by the server. */
export interface S3Services {
  readonly config: Config;
  readonly database: Database;
  readonly blobs: BlobStore;
  readonly mutations: MutationContext;
  readonly credentials: CredentialStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Outbound HTTP (VK's URL confirmation) for non-admins: through the SSRF guard, as their deliveries. */
  readonly sender: Pick<HttpSender, 'send'>;
  /** Outbound HTTP for admins: private addresses allowed, as for their deliveries. */
  readonly trustedSender: Pick<HttpSender, 'send'>;
  /** Networks every webhook may reach though private (`webhook_allowed_cidrs`), for the save-time URL check. */
  readonly webhookAllowedCidrs: readonly Cidr[];
  readonly userAgent: string;
}
