import type { Selectable } from 'kysely';
import type { Executor } from './database.ts';
import { preparedQuery } from './prepared-query.ts';
import type { BucketsTable } from './schema.ts';

export type BucketRow = Selectable<BucketsTable>;

/** `lock`: 'share' keeps the bucket from being deleted, 'update' from being written, until the transaction ends. */
export async function findBucket(
  db: Executor,
  name: string,
  lock: 'share' | 'update' | 'none' = 'none',
): Promise<BucketRow | undefined> {
  return (await findBucketQueries[lock](db, name))[0];
}

const bucketByName = (db: Executor, name: string) =>
  db.selectFrom('buckets').selectAll().where('name', '=', name);
const findBucketQueries = {
  none: preparedQuery(1, (db, name: string) => bucketByName(db, name)),
  share: preparedQuery(1, (db, name: string) => bucketByName(db, name).forShare()),
  update: preparedQuery(1, (db, name: string) => bucketByName(db, name).forUpdate()),
};

export function listBuckets(db: Executor, owner?: string): Promise<BucketRow[]> {
  let query = db.selectFrom('buckets').selectAll().orderBy('name');
  if (owner !== undefined) query = query.where('owner', '=', owner);
  return query.execute();
}

/** Inserts unless the name is taken; returns false when it was. */
export async function insertBucket(db: Executor, row: BucketRow): Promise<boolean> {
  const result = await db
    .insertInto('buckets')
    .values(row)
    .onConflict((c) => c.column('name').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function deleteBucketRow(db: Executor, name: string): Promise<void> {
  await db.deleteFrom('buckets').where('name', '=', name).execute();
}

export async function bucketHasObjects(db: Executor, name: string): Promise<boolean> {
  const row = await db
    .selectFrom('objects')
    .select('id')
    .where('bucket', '=', name)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}
