import type { Kysely } from 'kysely';

/**
 * How an endpoint writes its signature: `prefixed` (`sha256=<hex>`, GitHub and s3-orchestrator, what
 * every endpoint sent before) or `hex` (the bare hex Alarik's receivers compare with the whole header).
 */
export function endpointSignatureFormatMigration() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('endpoints')
        .addColumn('signature_format', 'text', (c) => c.notNull().defaultTo('prefixed'))
        .execute();
    },
  };
}
