import type { Insertable, Selectable } from 'kysely';
import type { Executor } from './database.ts';
import { preparedInsert, preparedQuery } from './prepared-query.ts';
import type { ObjectPartsTable, ObjectsTable } from './schema.ts';

export type ObjectRow = Selectable<ObjectsTable>;
export type ObjectPartRow = Selectable<ObjectPartsTable>;

/** `lock` takes a row lock until the transaction ends, where the dialect has them (see Database.hasRowLocks). */
export async function findObject(
  db: Executor,
  bucket: string,
  key: string,
  lock = false,
): Promise<ObjectRow | undefined> {
  return (await (lock ? findObjectLocked : findObjectUnlocked)(db, bucket, key))[0];
}

const objectAt = (db: Executor, bucket: string, key: string) =>
  db.selectFrom('objects').selectAll().where('bucket', '=', bucket).where('key', '=', key);
const findObjectUnlocked = preparedQuery(2, (db, bucket: string, key: string) => objectAt(db, bucket, key));
const findObjectLocked = preparedQuery(2, (db, bucket: string, key: string) =>
  objectAt(db, bucket, key).forUpdate(),
);

export function findObjectParts(db: Executor, objectId: string): Promise<ObjectPartRow[]> {
  return db
    .selectFrom('object_parts')
    .selectAll()
    .where('object_id', '=', objectId)
    .orderBy('part_number')
    .execute();
}

export async function insertObject(
  db: Executor,
  row: Insertable<ObjectsTable>,
  parts: readonly Insertable<ObjectPartsTable>[],
): Promise<void> {
  await insertObjectRow(db, row);
  for (let i = 0; i < parts.length; i += 200) {
    await db
      .insertInto('object_parts')
      .values(parts.slice(i, i + 200))
      .execute();
  }
}

/** One objects row, through a statement compiled once per column list. */
const insertObjectRow = preparedInsert('objects');

/** Deletes an object row and its parts; returns the blob ids that no longer have an owner. */
export async function deleteObjectRow(db: Executor, row: ObjectRow): Promise<string[]> {
  // A simple object (one blob, or its bytes in the row) has no parts: nothing more to look up.
  if (row.blob_id !== null || row.inline_data !== null) {
    await deleteObjectById(db, row.id);
    return row.blob_id === null ? [] : [row.blob_id];
  }
  const parts = await db
    .selectFrom('object_parts')
    .select('blob_id')
    .where('object_id', '=', row.id)
    .execute();
  await db.deleteFrom('object_parts').where('object_id', '=', row.id).execute();
  await db.deleteFrom('objects').where('id', '=', row.id).execute();
  return [...(row.blob_id === null ? [] : [row.blob_id]), ...parts.map((p) => p.blob_id)];
}

const deleteObjectById = preparedQuery(1, (db, id: string) => db.deleteFrom('objects').where('id', '=', id));

/** An object row without its inline bytes, which listings never need. */
export type ListedObjectRow = Omit<ObjectRow, 'inline_data'>;

const LISTED_COLUMNS = [
  'id',
  'bucket',
  'key',
  'version_id',
  'blob_id',
  'size',
  'etag',
  'content_type',
  'content_encoding',
  'content_disposition',
  'content_language',
  'cache_control',
  'expires',
  'user_metadata',
  'checksum_algorithm',
  'checksum_value',
  'checksum_type',
  'parts_count',
  'owner',
  'last_modified',
] as const satisfies readonly (keyof ListedObjectRow)[];
// Every column but inline_data: a column added to objects must be added above, or this fails to compile.
type UnlistedColumns = Exclude<keyof ListedObjectRow, (typeof LISTED_COLUMNS)[number]>;
export const EVERY_COLUMN_LISTED: [UnlistedColumns] extends [never] ? true : false = true;

/** Keys in `bucket` strictly after `after` (UTF-8 byte order) that start with `prefix`, at most `limit`. */
export function listObjectsAfter(
  db: Executor,
  bucket: string,
  prefix: string,
  after: string,
  limit: number,
): Promise<ListedObjectRow[]> {
  let query = db.selectFrom('objects').select(LISTED_COLUMNS).where('bucket', '=', bucket);
  const from = after > prefix ? after : prefix;
  query = from === after && after !== '' ? query.where('key', '>', after) : query.where('key', '>=', from);
  return query.orderBy('key').limit(limit).execute();
}
