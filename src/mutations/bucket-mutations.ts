import { bucketHasObjects, deleteBucketRow, findBucket, insertBucket } from '../db/bucket-repository.ts';
import { deleteBucketRules } from '../db/notification-repository.ts';
import { deleteUpload, listUploadIdsOfBucket } from '../db/upload-repository.ts';
import type { Actor } from './actor.ts';
import { commitUnit, type MutationContext } from './mutation-context.ts';
import { MutationError } from './mutation-error.ts';

export async function createBucket(ctx: MutationContext, actor: Actor, name: string): Promise<void> {
  await commitUnit(ctx, actor, async (tx) => {
    const inserted = await insertBucket(tx, {
      name,
      owner: actor.principal,
      created_at: ctx.now(),
      versioning: 'Unversioned',
    });
    if (!inserted) {
      const existing = await findBucket(tx, name);
      if (existing?.owner === actor.principal) {
        throw new MutationError(
          'BucketAlreadyOwnedByYou',
          'Your previous request to create the named bucket succeeded and you already own it.',
        );
      }
      throw new MutationError(
        'BucketAlreadyExists',
        'The requested bucket name is not available. Please select a different name and try again.',
      );
    }
    return { result: undefined, changes: [], freedBlobs: [] };
  });
}

/** Deletes an empty bucket; unfinished multipart uploads in it are aborted with it. */
export async function deleteBucket(ctx: MutationContext, actor: Actor, name: string): Promise<void> {
  await commitUnit(ctx, actor, async (tx) => {
    const bucket = await findBucket(tx, name, ctx.database.hasRowLocks ? 'update' : 'none');
    if (bucket === undefined) throw new MutationError('NoSuchBucket', 'The specified bucket does not exist');
    if (await bucketHasObjects(tx, name)) {
      throw new MutationError('BucketNotEmpty', 'The bucket you tried to delete is not empty');
    }
    const freedBlobs: string[] = [];
    for (const { upload_id } of await listUploadIdsOfBucket(tx, name)) {
      freedBlobs.push(...(await deleteUpload(tx, upload_id)));
    }
    // Its rules go with it; its webhooks become their owner's (still delivering what is queued),
    // so whoever creates a bucket of the same name later inherits neither.
    await deleteBucketRules(tx, name);
    await tx.updateTable('endpoints').set({ bucket: null }).where('bucket', '=', name).execute();
    await deleteBucketRow(tx, name);
    return { result: undefined, changes: [], freedBlobs };
  });
}
