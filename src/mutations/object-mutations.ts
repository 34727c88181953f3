import { randomUUID } from 'node:crypto';
import { findBucket, type BucketRow } from '../db/bucket-repository.ts';
import type { Tx } from '../db/database.ts';
import { deleteObjectRow, findObject, insertObject, type ObjectRow } from '../db/object-repository.ts';
import type { EventName } from '../events/event-name.ts';
import type { Actor } from './actor.ts';
import { attributeColumns, type ObjectAttributes, type StoredChecksum } from './object-attributes.ts';
import type { ObjectChange } from './object-change.ts';
import { commitUnit, removeBlobs, type MutationContext } from './mutation-context.ts';
import { MutationError } from './mutation-error.ts';
import { blobsOf, bytesColumns, type ObjectBytes } from './object-bytes.ts';

/**
 * A condition on the object currently at a key (undefined when there is none), checked inside the
 * transaction of the change so that nothing can slip in between: it throws to refuse the change.
 */
export type ObjectPrecondition = (current: ObjectRow | undefined) => void;

export interface PutObjectInput {
  readonly bucket: string;
  readonly key: string;
  /** The bytes: a durable blob the caller wrote (on failure this mutation removes it), or inline. */
  readonly bytes: ObjectBytes;
  readonly size: number;
  readonly etag: string;
  readonly attributes: ObjectAttributes;
  readonly checksum: StoredChecksum | null;
  readonly eventName: Extract<
    EventName,
    's3:ObjectCreated:Put' | 's3:ObjectCreated:Post' | 's3:ObjectCreated:Copy'
  >;
  /** Conditional writes (If-Match, If-None-Match): a refusal changes nothing and removes the blob. */
  readonly precondition?: ObjectPrecondition | undefined;
}

export interface PutObjectResult {
  readonly etag: string;
  readonly lastModified: number;
  readonly versionId: string | null;
}

/** Points `bucket/key` at a new blob, replacing what was there, and records the creation event. */
export async function putObject(
  ctx: MutationContext,
  actor: Actor,
  input: PutObjectInput,
): Promise<PutObjectResult> {
  try {
    return await commitUnit(ctx, actor, async (tx) => {
      const bucketRow = await requireBucket(ctx, tx, input.bucket);
      await checkPrecondition(ctx, tx, input.bucket, input.key, input.precondition);
      const now = ctx.now();
      const freedBlobs = await removeExisting(ctx, tx, input.bucket, input.key);
      await insertObject(
        tx,
        {
          id: randomUUID(),
          bucket: input.bucket,
          key: input.key,
          version_id: null,
          ...bytesColumns(input.bytes),
          size: input.size,
          etag: input.etag,
          ...attributeColumns(input.attributes),
          checksum_algorithm: input.checksum?.algorithm ?? null,
          checksum_value: input.checksum?.value ?? null,
          checksum_type: input.checksum?.type ?? null,
          parts_count: null,
          owner: actor.principal,
          last_modified: now,
        },
        [],
      );
      const change: ObjectChange = {
        eventName: input.eventName,
        bucket: input.bucket,
        bucketOwner: bucketRow.owner,
        key: input.key,
        versionId: null,
        size: input.size,
        etag: input.etag,
        contentType: input.attributes.contentType,
        userMetadata: input.attributes.userMetadata,
        time: now,
      };
      return {
        result: { etag: input.etag, lastModified: now, versionId: null },
        changes: [change],
        freedBlobs,
      };
    });
  } catch (err) {
    await removeBlobs(ctx, blobsOf(input.bytes));
    throw err;
  }
}

export interface DeleteEntry {
  readonly key: string;
  /** Conditional deletes (If-Match): a refusal skips this key and is reported in its result. */
  readonly precondition?: ObjectPrecondition | undefined;
}

export interface DeleteResult {
  readonly key: string;
  readonly existed: boolean;
  /** What the entry's precondition threw: the key was left as it was. */
  readonly refusal?: Error;
}

/**
 * Deletes keys (one or many, one transaction); a missing key is not an error and still emits its
 * event, as AWS does. An entry whose precondition refuses is skipped (no change, no event).
 */
export async function deleteObjects(
  ctx: MutationContext,
  actor: Actor,
  bucket: string,
  entries: readonly (string | DeleteEntry)[],
): Promise<DeleteResult[]> {
  return commitUnit(ctx, actor, async (tx) => {
    const bucketRow = await requireBucket(ctx, tx, bucket);
    const now = ctx.now();
    const results: DeleteResult[] = [];
    const changes: ObjectChange[] = [];
    const freedBlobs: string[] = [];
    for (const entry of entries) {
      const { key, precondition } =
        typeof entry === 'string' ? { key: entry, precondition: undefined } : entry;
      const row = await findObject(tx, bucket, key, ctx.database.hasRowLocks);
      if (precondition !== undefined) {
        try {
          precondition(row);
        } catch (err) {
          const refusal = err instanceof Error ? err : new Error(String(err));
          results.push({ key, existed: row !== undefined, refusal });
          continue;
        }
      }
      if (row !== undefined) freedBlobs.push(...(await deleteObjectRow(tx, row)));
      results.push({ key, existed: row !== undefined });
      changes.push({
        eventName: 's3:ObjectRemoved:Delete',
        bucket,
        bucketOwner: bucketRow.owner,
        key,
        versionId: null,
        size: 0,
        etag: '',
        contentType: null,
        userMetadata: {},
        time: now,
      });
    }
    return { result: results, changes, freedBlobs };
  });
}

/** Runs a precondition against the current object at a key (locked until the transaction ends). */
export async function checkPrecondition(
  ctx: MutationContext,
  tx: Tx,
  bucket: string,
  key: string,
  precondition: ObjectPrecondition | undefined,
): Promise<void> {
  if (precondition === undefined) return;
  precondition(await findObject(tx, bucket, key, ctx.database.hasRowLocks));
}

export async function requireBucket(ctx: MutationContext, tx: Tx, bucket: string): Promise<BucketRow> {
  const row = await findBucket(tx, bucket, ctx.database.hasRowLocks ? 'share' : 'none');
  if (row === undefined) throw new MutationError('NoSuchBucket', 'The specified bucket does not exist');
  return row;
}

/** Removes the current object at a key, if any; returns the blobs it freed. */
export async function removeExisting(
  ctx: MutationContext,
  tx: Tx,
  bucket: string,
  key: string,
): Promise<string[]> {
  const existing = await findObject(tx, bucket, key, ctx.database.hasRowLocks);
  return existing === undefined ? [] : deleteObjectRow(tx, existing);
}
