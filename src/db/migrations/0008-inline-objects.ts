import type { Kysely } from 'kysely';
import type { DialectKind } from '../dialect-kind.ts';

/**
 * Small objects keep their bytes in their own row (`inline_data`), committed with it, instead of in a
 * blob file: see `INLINE_MAX_BYTES` in `mutations/object-bytes.ts`. Null for every other object.
 */
export function inlineObjectsMigration(kind: DialectKind) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .alterTable('objects')
        .addColumn('inline_data', kind === 'postgres' ? 'bytea' : 'blob')
        .execute();
    },
  };
}
