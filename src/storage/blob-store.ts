import type { Readable } from 'node:stream';

/** Where object bytes live. A blob is immutable once written; its id never derives from an object key. */
export interface BlobStore {
  /**
   * Streams `source` into a new blob and makes it durable (fsync) before resolving.
   * On any error nothing is left behind. `observe` sees every chunk (for hashing) before it is written.
   */
  write(source: AsyncIterable<Uint8Array>, options: BlobWriteOptions): Promise<BlobWriteResult>;
  /**
   * Opens a blob for reading bytes `start`..`end` inclusive (the whole blob when omitted). Resolves once
   * the blob is open, so a missing blob fails here (BlobError 'NoSuchBlob'), before any byte is sent.
   */
  read(blobId: string, range?: { readonly start: number; readonly end: number }): Promise<Readable>;
  /** Removes a blob; a missing blob is not an error. */
  remove(blobId: string): Promise<void>;
  /** Every blob with its modification time, for the orphan sweeper. */
  list(): AsyncIterable<{ readonly blobId: string; readonly modifiedAt: number }>;
}

export interface BlobWriteOptions {
  /** Bytes beyond this fail the write with BlobError('EntityTooLarge'). */
  readonly maxSize: number;
  readonly observe?: (chunk: Uint8Array) => void;
}

export interface BlobWriteResult {
  readonly blobId: string;
  readonly size: number;
}
