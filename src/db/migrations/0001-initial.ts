import { sql, type Kysely } from 'kysely';
import type { DialectKind } from '../dialect-kind.ts';

/** Users, buckets, objects and multipart uploads. Keys sort by UTF-8 bytes in both dialects, as S3 lists them. */
export function initialMigration(kind: DialectKind) {
  const keyType = kind === 'postgres' ? sql`text collate "C"` : sql`text`;
  const bigint = kind === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('server_settings')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('users')
        .addColumn('access_key_id', 'text', (c) => c.primaryKey())
        .addColumn('secret_ciphertext', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('enabled'))
        .addColumn('is_root', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('buckets')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('created_at', bigint, (c) => c.notNull())
        .addColumn('versioning', 'text', (c) => c.notNull().defaultTo('Unversioned'))
        .execute();
      await db.schema
        .createTable('objects')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('key', keyType, (c) => c.notNull())
        .addColumn('version_id', 'text')
        .addColumn('blob_id', 'text')
        .addColumn('size', bigint, (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('content_encoding', 'text')
        .addColumn('content_disposition', 'text')
        .addColumn('content_language', 'text')
        .addColumn('cache_control', 'text')
        .addColumn('expires', 'text')
        .addColumn('user_metadata', 'text', (c) => c.notNull())
        .addColumn('checksum_algorithm', 'text')
        .addColumn('checksum_value', 'text')
        .addColumn('checksum_type', 'text')
        .addColumn('parts_count', 'integer')
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('last_modified', bigint, (c) => c.notNull())
        .addUniqueConstraint('objects_bucket_key', ['bucket', 'key'])
        .execute();
      await db.schema.createIndex('objects_blob_id').on('objects').column('blob_id').execute();
      await db.schema
        .createTable('object_parts')
        .addColumn('object_id', 'text', (c) => c.notNull())
        .addColumn('part_number', 'integer', (c) => c.notNull())
        .addColumn('blob_id', 'text', (c) => c.notNull())
        .addColumn('size', bigint, (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('checksum_value', 'text')
        .addPrimaryKeyConstraint('object_parts_pk', ['object_id', 'part_number'])
        .execute();
      await db.schema.createIndex('object_parts_blob_id').on('object_parts').column('blob_id').execute();
      await db.schema
        .createTable('multipart_uploads')
        .addColumn('upload_id', 'text', (c) => c.primaryKey())
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('key', keyType, (c) => c.notNull())
        .addColumn('owner', 'text', (c) => c.notNull())
        .addColumn('initiated_at', bigint, (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('content_encoding', 'text')
        .addColumn('content_disposition', 'text')
        .addColumn('content_language', 'text')
        .addColumn('cache_control', 'text')
        .addColumn('expires', 'text')
        .addColumn('user_metadata', 'text', (c) => c.notNull())
        .addColumn('checksum_algorithm', 'text')
        .addColumn('checksum_type', 'text')
        .execute();
      await db.schema
        .createIndex('multipart_uploads_bucket_key')
        .on('multipart_uploads')
        .columns(['bucket', 'key', 'initiated_at'])
        .execute();
      await db.schema
        .createTable('upload_parts')
        .addColumn('upload_id', 'text', (c) => c.notNull())
        .addColumn('part_number', 'integer', (c) => c.notNull())
        .addColumn('blob_id', 'text', (c) => c.notNull())
        .addColumn('size', bigint, (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('checksum_value', 'text')
        .addColumn('last_modified', bigint, (c) => c.notNull())
        .addPrimaryKeyConstraint('upload_parts_pk', ['upload_id', 'part_number'])
        .execute();
      await db.schema.createIndex('upload_parts_blob_id').on('upload_parts').column('blob_id').execute();
    },
  };
}
