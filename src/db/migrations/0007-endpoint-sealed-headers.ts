import type { Kysely } from 'kysely';

/**
 * An endpoint's extra request headers are stored sealed with the master key, as its other secrets
 * are: `headers_ciphertext` holds the whole JSON object (null when there are none), and `headers`,
 * which held it in the clear, stays `{}`. A migration has no master key, so rows from before this one
 * are sealed by the server at its next start (`sealPlaintextEndpointHeaders`); until then they are
 * read from `headers`.
 */
export function endpointSealedHeadersMigration() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('endpoints').addColumn('headers_ciphertext', 'text').execute();
    },
  };
}
