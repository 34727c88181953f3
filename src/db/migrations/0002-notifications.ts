import { sql, type Kysely } from 'kysely';
import type { DialectKind } from '../dialect-kind.ts';

/** Webhook endpoints, notification rules, and the outbox: events, deliveries and their attempts. */
export function notificationsMigration(kind: DialectKind) {
  const bigint = kind === 'postgres' ? 'bigint' : 'integer';
  const keyType = kind === 'postgres' ? sql`text collate "C"` : sql`text`;
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('endpoints')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().defaultTo('webhook'))
        .addColumn('format', 'text', (c) => c.notNull().defaultTo('aws'))
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('bucket', 'text')
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('secret_ciphertext', 'text')
        .addColumn('previous_secret_ciphertext', 'text')
        .addColumn('previous_secret_until', bigint)
        .addColumn('signature_header', 'text', (c) => c.notNull().defaultTo('X-Hub-Signature-256'))
        .addColumn('authorization_ciphertext', 'text')
        .addColumn('headers', 'text', (c) => c.notNull().defaultTo('{}'))
        .addColumn('timeout_ms', 'integer', (c) => c.notNull())
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('backoff_initial_ms', 'integer', (c) => c.notNull())
        .addColumn('backoff_max_ms', 'integer', (c) => c.notNull())
        .addColumn('max_in_flight', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull().defaultTo('active'))
        .addColumn('state_reason', 'text')
        .addColumn('consecutive_failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('notification_rules')
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('form', 'text', (c) => c.notNull())
        .addColumn('events', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('suffix', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('notification_rules_pk', ['bucket', 'id'])
        .execute();
      await db.schema
        .createIndex('notification_rules_endpoint')
        .on('notification_rules')
        .column('endpoint_id')
        .execute();
      await db.schema
        .createTable('events')
        .addColumn('id', kind === 'postgres' ? 'bigserial' : 'integer', (c) =>
          kind === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('event_name', 'text', (c) => c.notNull())
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('bucket_owner', 'text', (c) => c.notNull())
        .addColumn('key', keyType, (c) => c.notNull())
        .addColumn('version_id', 'text')
        .addColumn('size', bigint, (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text')
        .addColumn('user_metadata', 'text', (c) => c.notNull())
        .addColumn('time', bigint, (c) => c.notNull())
        .addColumn('principal', 'text', (c) => c.notNull())
        .addColumn('source_ip', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('event_id', bigint)
        .addColumn('rule_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull().defaultTo('event'))
        .addColumn('test_body', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', bigint, (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', bigint)
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('last_duration_ms', 'integer')
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('updated_at', bigint, (c) => c.notNull())
        .addColumn('finished_at', bigint)
        .execute();
      await db.schema
        .createIndex('deliveries_due')
        .on('deliveries')
        .columns(['status', 'next_attempt_at'])
        .execute();
      await db.schema
        .createIndex('deliveries_endpoint')
        .on('deliveries')
        .columns(['endpoint_id', 'created_at'])
        .execute();
      await db.schema.createIndex('deliveries_event').on('deliveries').column('event_id').execute();
      await db.schema
        .createTable('delivery_attempts')
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('started_at', bigint, (c) => c.notNull())
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('request_headers', 'text', (c) => c.notNull())
        .addColumn('request_body', 'text', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('response_headers', 'text')
        .addColumn('response_body', 'text')
        .addColumn('error_code', 'text')
        .addColumn('error', 'text')
        .addPrimaryKeyConstraint('delivery_attempts_pk', ['delivery_id', 'attempt'])
        .execute();
    },
  };
}
