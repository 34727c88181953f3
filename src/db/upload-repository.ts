import type { Insertable, Selectable } from 'kysely';
import type { Executor } from './database.ts';
import type { MultipartUploadsTable, UploadPartsTable } from './schema.ts';

export type UploadRow = Selectable<MultipartUploadsTable>;
export type UploadPartRow = Selectable<UploadPartsTable>;

export async function insertUpload(db: Executor, row: Insertable<MultipartUploadsTable>): Promise<void> {
  await db.insertInto('multipart_uploads').values(row).execute();
}

/** `lock` takes a row lock until the transaction ends, where the dialect has them. */
export function findUpload(db: Executor, uploadId: string, lock = false): Promise<UploadRow | undefined> {
  const query = db.selectFrom('multipart_uploads').selectAll().where('upload_id', '=', uploadId);
  return (lock ? query.forUpdate() : query).executeTakeFirst();
}

/** Uploads of a bucket ordered by key then initiation time, starting after (key, uploadId). */
export function listUploads(
  db: Executor,
  bucket: string,
  prefix: string,
  afterKey: string,
  afterUploadId: string,
  limit: number,
): Promise<UploadRow[]> {
  let query = db.selectFrom('multipart_uploads').selectAll().where('bucket', '=', bucket);
  if (prefix !== '') query = query.where('key', '>=', prefix);
  if (afterKey !== '') {
    query =
      afterUploadId === ''
        ? query.where('key', '>', afterKey)
        : query.where((eb) =>
            eb.or([
              eb('key', '>', afterKey),
              eb.and([eb('key', '=', afterKey), eb('upload_id', '>', afterUploadId)]),
            ]),
          );
  }
  return query.orderBy('key').orderBy('upload_id').limit(limit).execute();
}

export function listUploadIdsOfBucket(db: Executor, bucket: string): Promise<{ upload_id: string }[]> {
  return db.selectFrom('multipart_uploads').select('upload_id').where('bucket', '=', bucket).execute();
}

/** Replaces a part; returns the blob of the part it replaced, if any. */
export async function upsertPart(
  db: Executor,
  row: Insertable<UploadPartsTable>,
): Promise<string | undefined> {
  const old = await db
    .selectFrom('upload_parts')
    .select('blob_id')
    .where('upload_id', '=', row.upload_id)
    .where('part_number', '=', row.part_number)
    .executeTakeFirst();
  if (old !== undefined) {
    await db
      .deleteFrom('upload_parts')
      .where('upload_id', '=', row.upload_id)
      .where('part_number', '=', row.part_number)
      .execute();
  }
  await db.insertInto('upload_parts').values(row).execute();
  return old?.blob_id;
}

export function listPartsOfUpload(
  db: Executor,
  uploadId: string,
  afterPart = 0,
  limit = 100_000,
): Promise<UploadPartRow[]> {
  return db
    .selectFrom('upload_parts')
    .selectAll()
    .where('upload_id', '=', uploadId)
    .where('part_number', '>', afterPart)
    .orderBy('part_number')
    .limit(limit)
    .execute();
}

/** Removes an upload and its parts; returns the parts' blob ids. */
export async function deleteUpload(db: Executor, uploadId: string): Promise<string[]> {
  const parts = await db
    .selectFrom('upload_parts')
    .select('blob_id')
    .where('upload_id', '=', uploadId)
    .execute();
  await db.deleteFrom('upload_parts').where('upload_id', '=', uploadId).execute();
  await db.deleteFrom('multipart_uploads').where('upload_id', '=', uploadId).execute();
  return parts.map((p) => p.blob_id);
}
