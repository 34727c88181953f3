import { sql, type Kysely } from 'kysely';
import type { DialectKind } from '../dialect-kind.ts';

/**
 * Users get names and any number of access keys: `users.access_key_id` becomes `users.name` (every
 * existing user keeps its key, now a row of `access_keys`). Endpoints learn auto-disable settings.
 */
export function accessKeysMigration(kind: DialectKind) {
  const bigint = kind === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('users').renameColumn('access_key_id', 'name').execute();
      await db.schema
        .createTable('access_keys')
        .addColumn('access_key_id', 'text', (c) => c.primaryKey())
        .addColumn('user_name', 'text', (c) => c.notNull())
        .addColumn('secret_ciphertext', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('enabled'))
        .addColumn('description', 'text')
        .addColumn('created_at', bigint, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('access_keys_user').on('access_keys').column('user_name').execute();
      await sql`insert into access_keys (access_key_id, user_name, secret_ciphertext, status, created_at)
                select name, name, secret_ciphertext, 'enabled', created_at from users`.execute(db);
      await db.schema.alterTable('users').dropColumn('secret_ciphertext').execute();
      await db.schema
        .alterTable('endpoints')
        .addColumn('auto_disable_failures', 'integer', (c) => c.notNull().defaultTo(5))
        .execute();
      await db.schema.alterTable('endpoints').addColumn('auto_disable_after_ms', bigint).execute();
      await db.schema.alterTable('endpoints').addColumn('failing_since', bigint).execute();
    },
  };
}
