import type { Database, Tx } from '../db/database.ts';
import type { Logger } from '../observability/logger.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { Actor } from './actor.ts';
import type { ChangeRecorder } from './change-recorder.ts';
import type { ObjectChange } from './object-change.ts';

export interface MutationContext {
  readonly database: Database;
  readonly blobs: BlobStore;
  readonly recorder: ChangeRecorder;
  readonly logger: Logger;
  readonly now: () => number;
}

export interface UnitOfWork<T> {
  readonly result: T;
  readonly changes: readonly ObjectChange[];
  /** Blobs no row points at once this commits; removed after the commit, never before. */
  readonly freedBlobs: readonly string[];
}

/**
 * Runs `work` and records its changes in one transaction (invariant 1), with a wake signal for the
 * dispatchers of other processes; after the commit it wakes this process's dispatcher and removes
 * the blobs it freed.
 */
export async function commitUnit<T>(
  ctx: MutationContext,
  actor: Actor,
  work: (tx: Tx) => Promise<UnitOfWork<T>>,
): Promise<T> {
  const unit = await ctx.database.commit(async (tx) => {
    const done = await work(tx);
    const queued = done.changes.length > 0 && (await ctx.recorder.record(tx, done.changes, actor));
    // Other processes on the database hear this when (and only if) the transaction commits.
    if (queued) await ctx.database.wake.signal(tx);
    return { ...done, queued };
  });
  // Wake the dispatcher only when there is something to deliver.
  if (unit.queued) ctx.recorder.afterCommit();
  await removeBlobs(ctx, unit.freedBlobs);
  return unit.result;
}

/** Best effort: a blob that cannot be removed now is an orphan the sweeper removes later. */
export async function removeBlobs(ctx: MutationContext, blobIds: readonly string[]): Promise<void> {
  for (const blobId of blobIds) {
    await ctx.blobs.remove(blobId).catch((err: unknown) => {
      ctx.logger.warn({ err, blobId }, 'could not remove a freed blob; the sweeper will');
    });
  }
}
