import { findReferencedBlobs } from '../db/blob-references.ts';
import type { MutationContext } from './mutation-context.ts';

/**
 * Removes blobs that no row points at and that are older than `graceMs` (a blob younger than that
 * may belong to an upload whose row has not committed yet). Returns how many it removed.
 */
export async function sweepOrphanBlobs(ctx: MutationContext, graceMs: number): Promise<number> {
  const cutoff = ctx.now() - graceMs;
  let removed = 0;
  let batch: string[] = [];
  const flush = async (): Promise<void> => {
    const referenced = await findReferencedBlobs(ctx.database.db, batch);
    for (const blobId of batch) {
      if (referenced.has(blobId)) continue;
      await ctx.blobs.remove(blobId);
      removed += 1;
    }
    batch = [];
  };
  for await (const blob of ctx.blobs.list()) {
    if (blob.modifiedAt > cutoff) continue;
    batch.push(blob.blobId);
    if (batch.length >= 500) await flush();
  }
  if (batch.length > 0) await flush();
  if (removed > 0) ctx.logger.info({ removed }, 'removed orphaned blobs');
  return removed;
}
