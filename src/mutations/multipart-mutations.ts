import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { insertObject } from '../db/object-repository.ts';
import type { Tx } from '../db/database.ts';
import {
  deleteUpload,
  findUpload,
  insertUpload,
  listPartsOfUpload,
  upsertPart,
  type UploadRow,
} from '../db/upload-repository.ts';
import { combineFullObjectCrc, compositeChecksum } from '../storage/checksum-multipart.ts';
import type { Actor } from './actor.ts';
import { attributeColumns, type ObjectAttributes, type StoredChecksum } from './object-attributes.ts';
import type { ObjectChange } from './object-change.ts';
import { commitUnit, removeBlobs, type MutationContext } from './mutation-context.ts';
import { MutationError } from './mutation-error.ts';
import {
  checkPrecondition,
  removeExisting,
  requireBucket,
  type ObjectPrecondition,
} from './object-mutations.ts';

/** Every part but the last must be at least this large, as on AWS. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_NUMBER = 10_000;

export interface CreateUploadInput {
  readonly bucket: string;
  readonly key: string;
  readonly attributes: ObjectAttributes;
  readonly checksumAlgorithm: string | null;
  readonly checksumType: 'FULL_OBJECT' | 'COMPOSITE' | null;
}

export async function createMultipartUpload(
  ctx: MutationContext,
  actor: Actor,
  input: CreateUploadInput,
): Promise<string> {
  // Hex: an id that starts with '-' would read as an option on command lines (aws s3api --upload-id).
  const uploadId = randomBytes(24).toString('hex');
  await commitUnit(ctx, actor, async (tx) => {
    await requireBucket(ctx, tx, input.bucket);
    await insertUpload(tx, {
      upload_id: uploadId,
      bucket: input.bucket,
      key: input.key,
      owner: actor.principal,
      initiated_at: ctx.now(),
      ...attributeColumns(input.attributes),
      checksum_algorithm: input.checksumAlgorithm,
      checksum_type: input.checksumType,
    });
    return { result: undefined, changes: [], freedBlobs: [] };
  });
  return uploadId;
}

export interface UploadPartInput {
  readonly bucket: string;
  readonly key: string;
  readonly uploadId: string;
  readonly partNumber: number;
  readonly blobId: string;
  readonly size: number;
  readonly etag: string;
  readonly checksumValue: string | null;
}

/** Stores one part (replacing an earlier upload of the same number). */
export async function uploadPart(ctx: MutationContext, actor: Actor, input: UploadPartInput): Promise<void> {
  try {
    await commitUnit(ctx, actor, async (tx) => {
      await requireUpload(ctx, tx, input.bucket, input.key, input.uploadId);
      const replaced = await upsertPart(tx, {
        upload_id: input.uploadId,
        part_number: input.partNumber,
        blob_id: input.blobId,
        size: input.size,
        etag: input.etag,
        checksum_value: input.checksumValue,
        last_modified: ctx.now(),
      });
      return { result: undefined, changes: [], freedBlobs: replaced === undefined ? [] : [replaced] };
    });
  } catch (err) {
    await removeBlobs(ctx, [input.blobId]);
    throw err;
  }
}

export async function abortMultipartUpload(
  ctx: MutationContext,
  actor: Actor,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<void> {
  await commitUnit(ctx, actor, async (tx) => {
    await requireUpload(ctx, tx, bucket, key, uploadId);
    const freedBlobs = await deleteUpload(tx, uploadId);
    return { result: undefined, changes: [], freedBlobs };
  });
}

export interface CompletedPart {
  readonly partNumber: number;
  readonly etag: string;
  /** The part checksum the client lists, if any; it must match the stored one. */
  readonly checksum?: string | undefined;
}

export interface CompleteResult {
  readonly etag: string;
  readonly size: number;
  readonly checksum: StoredChecksum | null;
  readonly versionId: string | null;
}

/** Assembles the listed parts into the object at `key` (no bytes are copied) and records the event. */
export async function completeMultipartUpload(
  ctx: MutationContext,
  actor: Actor,
  input: {
    readonly bucket: string;
    readonly key: string;
    readonly uploadId: string;
    readonly parts: readonly CompletedPart[];
    /** A full-object or composite checksum the client expects, if it sent one. */
    readonly expectedChecksum?: { readonly algorithm: string; readonly value: string } | undefined;
    /** Conditional writes (If-Match, If-None-Match): a refusal leaves the upload as it was. */
    readonly precondition?: ObjectPrecondition | undefined;
  },
): Promise<CompleteResult> {
  return commitUnit(ctx, actor, async (tx) => {
    const upload = await requireUpload(ctx, tx, input.bucket, input.key, input.uploadId);
    await checkPrecondition(ctx, tx, input.bucket, input.key, input.precondition);
    const stored = new Map((await listPartsOfUpload(tx, input.uploadId)).map((p) => [p.part_number, p]));
    const chosen = input.parts.map((part, index) => {
      const previous = input.parts[index - 1];
      if (previous !== undefined && part.partNumber <= previous.partNumber) {
        throw new MutationError(
          'InvalidPartOrder',
          'The list of parts was not in ascending order. The parts list must be specified in order by part number.',
        );
      }
      const row = stored.get(part.partNumber);
      if (row === undefined || unquote(part.etag) !== row.etag) {
        throw new MutationError(
          'InvalidPart',
          "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
        );
      }
      if (
        part.checksum !== undefined &&
        row.checksum_value !== null &&
        part.checksum !== row.checksum_value
      ) {
        throw new MutationError(
          'InvalidPart',
          `The checksum of part ${part.partNumber} does not match the uploaded part.`,
        );
      }
      return row;
    });
    chosen.forEach((row, index) => {
      if (index < chosen.length - 1 && row.size < MIN_PART_SIZE) {
        throw new MutationError(
          'EntityTooSmall',
          'Your proposed upload is smaller than the minimum allowed object size.',
        );
      }
    });
    const md5 = createHash('md5');
    for (const row of chosen) md5.update(Buffer.from(row.etag, 'hex'));
    const etag = `${md5.digest('hex')}-${chosen.length}`;
    const size = chosen.reduce((sum, row) => sum + row.size, 0);
    const checksum = assembleChecksum(upload, chosen);
    if (input.expectedChecksum !== undefined) {
      if (
        checksum === null ||
        checksum.algorithm !== input.expectedChecksum.algorithm ||
        stripPartCount(checksum.value) !== stripPartCount(input.expectedChecksum.value)
      ) {
        throw new MutationError(
          'BadDigest',
          `The ${input.expectedChecksum.algorithm} you specified did not match the calculated checksum.`,
        );
      }
    }
    const chosenNumbers = new Set(chosen.map((row) => row.part_number));
    const freedBlobs = [...stored.values()]
      .filter((p) => !chosenNumbers.has(p.part_number))
      .map((p) => p.blob_id);
    freedBlobs.push(...(await removeExisting(ctx, tx, input.bucket, input.key)));
    await deleteUpload(tx, input.uploadId); // its chosen part blobs now belong to the object
    const now = ctx.now();
    const objectId = randomUUID();
    await insertObject(
      tx,
      {
        id: objectId,
        bucket: input.bucket,
        key: input.key,
        version_id: null,
        blob_id: null,
        size,
        etag,
        content_type: upload.content_type,
        content_encoding: upload.content_encoding,
        content_disposition: upload.content_disposition,
        content_language: upload.content_language,
        cache_control: upload.cache_control,
        expires: upload.expires,
        user_metadata: upload.user_metadata,
        checksum_algorithm: checksum?.algorithm ?? null,
        checksum_value: checksum?.value ?? null,
        checksum_type: checksum?.type ?? null,
        parts_count: chosen.length,
        owner: actor.principal,
        last_modified: now,
      },
      chosen.map((row) => ({
        object_id: objectId,
        part_number: row.part_number,
        blob_id: row.blob_id,
        size: row.size,
        etag: row.etag,
        checksum_value: row.checksum_value,
      })),
    );
    const change: ObjectChange = {
      eventName: 's3:ObjectCreated:CompleteMultipartUpload',
      bucket: input.bucket,
      bucketOwner: upload.bucket_owner,
      key: input.key,
      versionId: null,
      size,
      etag,
      contentType: upload.content_type,
      userMetadata: JSON.parse(upload.user_metadata) as Record<string, string>,
      time: now,
    };
    return { result: { etag, size, checksum, versionId: null }, changes: [change], freedBlobs };
  });
}

async function requireUpload(
  ctx: MutationContext,
  tx: Tx,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<UploadRow & { bucket_owner: string }> {
  const bucketRow = await requireBucket(ctx, tx, bucket);
  const upload = await findUpload(tx, uploadId, ctx.database.hasRowLocks);
  if (upload === undefined || upload.bucket !== bucket || upload.key !== key) {
    throw new MutationError(
      'NoSuchUpload',
      'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    );
  }
  return { ...upload, bucket_owner: bucketRow.owner };
}

function assembleChecksum(
  upload: UploadRow,
  parts: readonly { readonly checksum_value: string | null; readonly size: number }[],
): StoredChecksum | null {
  const algorithm = upload.checksum_algorithm;
  if (algorithm === null) return null;
  const digests = parts.map((p) => p.checksum_value);
  if (digests.some((d) => d === null)) return null;
  const values = digests as string[];
  if (upload.checksum_type === 'FULL_OBJECT') {
    if (algorithm !== 'CRC32' && algorithm !== 'CRC32C' && algorithm !== 'CRC64NVME') return null;
    const value = combineFullObjectCrc(
      algorithm,
      parts.map((p, i) => ({ digestBase64: values[i]!, length: p.size })),
    );
    return { algorithm, value, type: 'FULL_OBJECT' };
  }
  if (algorithm !== 'CRC32' && algorithm !== 'CRC32C' && algorithm !== 'SHA1' && algorithm !== 'SHA256')
    return null;
  return { algorithm, value: compositeChecksum(algorithm, values), type: 'COMPOSITE' };
}

function unquote(etag: string): string {
  return etag.replace(/^"|"$/g, '').replace(/^W\//, '');
}

function stripPartCount(value: string): string {
  return value.replace(/-\d+$/, '');
}
