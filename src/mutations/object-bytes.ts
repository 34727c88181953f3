/**
 * Simple objects up to this many bytes keep them in their own metadata row, committed in the same
 * transaction, instead of in a blob file: a small PUT then costs no file create, write, fsync, folder
 * fsync and close (most of its CPU on a small machine), and a small GET no open, read and close.
 * Durability is the commit's (the WAL sync on SQLite, PostgreSQL's own), so invariant 2 (bytes before
 * metadata) holds trivially: they are one write.
 */
export const INLINE_MAX_BYTES = 16 * 1024;

/** Where a new simple object's bytes are: a durable blob the caller wrote, or the bytes themselves. */
export type ObjectBytes =
  { readonly kind: 'blob'; readonly blobId: string } | { readonly kind: 'inline'; readonly data: Uint8Array };

/** The blob files `bytes` uses (to remove if the change fails). */
export function blobsOf(bytes: ObjectBytes): string[] {
  return bytes.kind === 'blob' ? [bytes.blobId] : [];
}

/** The objects row columns that hold `bytes`. */
export function bytesColumns(bytes: ObjectBytes): {
  readonly blob_id: string | null;
  readonly inline_data: Uint8Array | null;
} {
  return bytes.kind === 'blob'
    ? { blob_id: bytes.blobId, inline_data: null }
    : { blob_id: null, inline_data: bytes.data };
}
