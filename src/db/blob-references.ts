import type { Executor } from './database.ts';

/** Which of `blobIds` some object, object part or upload part still points at. */
export async function findReferencedBlobs(db: Executor, blobIds: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < blobIds.length; i += 500) {
    const batch = blobIds.slice(i, i + 500);
    const rows = await db
      .selectFrom('objects')
      .select('blob_id')
      .where('blob_id', 'in', batch)
      .union(db.selectFrom('object_parts').select('blob_id').where('blob_id', 'in', batch))
      .union(db.selectFrom('upload_parts').select('blob_id').where('blob_id', 'in', batch))
      .execute();
    for (const row of rows) if (row.blob_id !== null) found.add(row.blob_id);
  }
  return found;
}
