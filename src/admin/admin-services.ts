import type { CredentialStore } from '../auth/credential-store.ts';
import type { Config } from '../config/config.ts';
import type { Database } from '../db/database.ts';
import type { Cidr } from '../delivery/address-policy.ts';
import type { SecretBox } from '../db/secret-box.ts';
import type { Dispatcher } from '../delivery/dispatcher.ts';
import type { HttpSender } from '../delivery/http-sender.ts';
import type { MutationContext } from '../mutations/mutation-context.ts';
import type { Logger } from '../observability/logger.ts';
import type { Metrics } from '../observability/metrics.ts';

/** What the admin API works with; built once by the server. */
export interface AdminServices {
  readonly config: Config;
  readonly database: Database;
  readonly credentials: CredentialStore;
  readonly secretBox: SecretBox;
  readonly mutations: MutationContext;
  readonly dispatcher: Dispatcher;
  /** Outbound HTTP for endpoints of non-admins (pings): through the SSRF guard, as their deliveries. */
  readonly sender: HttpSender;
  /** Outbound HTTP for endpoints of admins and the YAML file: private addresses allowed, as for their deliveries. */
  readonly trustedSender: HttpSender;
  /** Networks every webhook may reach though private (`webhook_allowed_cidrs`), for the save-time URL check. */
  readonly webhookAllowedCidrs: readonly Cidr[];
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly version: string;
  readonly now: () => number;
}
