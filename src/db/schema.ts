import type { Generated } from 'kysely';

/** Timestamps are integer milliseconds since the epoch in both dialects; sizes are integer bytes. */
export interface UsersTable {
  /** The user's name; the root user's name is its first access key id (as MinIO's root user). */
  name: string;
  role: 'admin' | 'user';
  status: 'enabled' | 'disabled';
  is_root: number;
  created_at: number;
}

export interface AccessKeysTable {
  access_key_id: string;
  user_name: string;
  /** AES-256-GCM ciphertext of the secret key under the master key. */
  secret_ciphertext: string;
  status: 'enabled' | 'disabled';
  description: string | null;
  created_at: number;
}

export interface BucketsTable {
  name: string;
  owner: string;
  created_at: number;
  versioning: 'Unversioned' | 'Enabled' | 'Suspended';
}

export interface ObjectsTable {
  id: string;
  bucket: string;
  key: string;
  version_id: string | null;
  /** The single blob of a simple object; null when the object is made of parts (multipart) or inline. */
  blob_id: string | null;
  /** The bytes of a small simple object kept in its row instead of a blob; null otherwise. */
  inline_data: Uint8Array | null;
  size: number;
  etag: string;
  content_type: string;
  content_encoding: string | null;
  content_disposition: string | null;
  content_language: string | null;
  cache_control: string | null;
  expires: string | null;
  /** JSON object of x-amz-meta-* (names lowercased, without the prefix). */
  user_metadata: string;
  checksum_algorithm: string | null;
  checksum_value: string | null;
  checksum_type: 'FULL_OBJECT' | 'COMPOSITE' | null;
  parts_count: number | null;
  owner: string;
  last_modified: number;
}

export interface ObjectPartsTable {
  object_id: string;
  part_number: number;
  blob_id: string;
  size: number;
  etag: string;
  checksum_value: string | null;
}

export interface MultipartUploadsTable {
  upload_id: string;
  bucket: string;
  key: string;
  owner: string;
  initiated_at: number;
  content_type: string;
  content_encoding: string | null;
  content_disposition: string | null;
  content_language: string | null;
  cache_control: string | null;
  expires: string | null;
  user_metadata: string;
  checksum_algorithm: string | null;
  checksum_type: 'FULL_OBJECT' | 'COMPOSITE' | null;
}

export interface UploadPartsTable {
  upload_id: string;
  part_number: number;
  blob_id: string;
  size: number;
  etag: string;
  checksum_value: string | null;
  last_modified: number;
}

export interface ServerSettingsTable {
  name: string;
  value: string;
}

export type EndpointState = 'active' | 'paused' | 'disabled';

/** How an endpoint's signature header writes the hex HMAC-SHA256: `sha256=<hex>` or the bare `<hex>`. */
export type SignatureFormat = 'prefixed' | 'hex';

/** A webhook destination. Secrets are sealed with the master key (SecretBox). */
export interface EndpointsTable {
  id: string;
  /** Nickname; endpoints declared in the YAML file are named there and referenced in ARNs by name. */
  name: string;
  url: string;
  kind: 'webhook' | 'slack';
  /** Payload format name (`aws` for now). */
  format: string;
  owner: string;
  /** The one bucket it serves, or null for an admin's endpoint usable from every bucket. */
  bucket: string | null;
  /** Where it was declared: 'config' (YAML), 'vk' (SimpleTopicConfiguration), 'api'. */
  origin: 'config' | 'vk' | 'api';
  secret_ciphertext: string | null;
  previous_secret_ciphertext: string | null;
  previous_secret_until: number | null;
  /** Header carrying the signature; configurable for X-Signature-256 / X-Alarik-Signature-256 receivers. */
  signature_header: string;
  /** `prefixed`: `sha256=<hex>` (GitHub, s3-orchestrator); `hex`: the bare hex (Alarik). Default `prefixed`. */
  signature_format: Generated<SignatureFormat>;
  /** Sealed verbatim Authorization header value, if any. */
  authorization_ciphertext: string | null;
  /**
   * JSON object of extra request headers in the clear: only rows from before migration 0007 that the
   * server has not sealed yet; `{}` otherwise. Read through `openEndpointHeaders`.
   */
  headers: string;
  /** Sealed JSON object of extra request headers (names and values); null when there are none. */
  headers_ciphertext: string | null;
  timeout_ms: number;
  max_attempts: number;
  backoff_initial_ms: number;
  backoff_max_ms: number;
  max_in_flight: number;
  state: EndpointState;
  state_reason: string | null;
  consecutive_failures: number;
  /** Disable the endpoint after this many consecutive failed deliveries (0: never). */
  auto_disable_failures: number;
  /** Disable the endpoint after failing continuously this long, in ms (null: never). */
  auto_disable_after_ms: number | null;
  /** When the current run of failures began (null while healthy). */
  failing_since: number | null;
  /** PEM client certificate (chain) presented to https receivers (mTLS); not secret. Null: none. */
  client_certificate: string | null;
  /** Sealed PEM private key of `client_certificate`; set exactly when it is. */
  client_key_ciphertext: string | null;
  created_at: number;
  updated_at: number;
}

/** One rule of a bucket's notification configuration, in the form it was created in. */
export interface NotificationRulesTable {
  bucket: string;
  id: string;
  position: number;
  endpoint_id: string;
  form:
    'QueueConfiguration' | 'TopicConfiguration' | 'CloudFunctionConfiguration' | 'SimpleTopicConfiguration';
  /** JSON array of event patterns. */
  events: string;
  prefix: string;
  suffix: string;
  created_at: number;
}

export interface EventsTable {
  id: Generated<number>;
  event_name: string;
  bucket: string;
  bucket_owner: string;
  key: string;
  version_id: string | null;
  size: number;
  etag: string;
  content_type: string | null;
  user_metadata: string;
  time: number;
  principal: string;
  source_ip: string;
  request_id: string;
}

export type DeliveryStatus = 'pending' | 'in_flight' | 'succeeded' | 'retrying' | 'dead' | 'held';

/** One event (or a test message) for one endpoint: the outbox row the dispatcher works on. */
export interface DeliveriesTable {
  id: string;
  endpoint_id: string;
  /** Null for test messages (`kind` 'test'), whose body is `test_body`. */
  event_id: number | null;
  rule_id: string;
  kind: 'event' | 'test';
  test_body: string | null;
  status: DeliveryStatus;
  attempts: number;
  /**
   * `attempts` when the retry budget was last reset (a resend, or re-enabling the endpoint): the delivery
   * is dead-lettered once `attempts - budget_start` reaches the endpoint's `max_attempts`.
   */
  budget_start: Generated<number>;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  last_status_code: number | null;
  last_error: string | null;
  last_duration_ms: number | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

export interface DeliveryAttemptsTable {
  delivery_id: string;
  attempt: number;
  started_at: number;
  duration_ms: number;
  /** JSON object; secrets masked. */
  request_headers: string;
  request_body: string;
  status_code: number | null;
  response_headers: string | null;
  response_body: string | null;
  /** e.g. TIMEOUT, CONNECTION_ERROR, SSRF_BLOCKED, HTTP_STATUS */
  error_code: string | null;
  error: string | null;
}

export interface Schema {
  users: UsersTable;
  access_keys: AccessKeysTable;
  buckets: BucketsTable;
  objects: ObjectsTable;
  object_parts: ObjectPartsTable;
  multipart_uploads: MultipartUploadsTable;
  upload_parts: UploadPartsTable;
  server_settings: ServerSettingsTable;
  endpoints: EndpointsTable;
  notification_rules: NotificationRulesTable;
  events: EventsTable;
  deliveries: DeliveriesTable;
  delivery_attempts: DeliveryAttemptsTable;
}

export type { Generated };
