import type { Kysely } from 'kysely';

/**
 * An endpoint may present a client certificate (mTLS) to its receiver: `client_certificate` is the
 * PEM chain (public, shown in views by subject, issuer, expiry and fingerprint) and
 * `client_key_ciphertext` its PEM private key, sealed with the master key like every other secret.
 * Both are null, or both are set.
 */
export function endpointClientCertificatesMigration() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('endpoints').addColumn('client_certificate', 'text').execute();
      await db.schema.alterTable('endpoints').addColumn('client_key_ciphertext', 'text').execute();
    },
  };
}
