import { randomUUID } from 'node:crypto';
import { close, constants, fsync, open as openFd, writev } from 'node:fs';
import { mkdir, open, opendir, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { BlobError } from './blob-error.ts';
import type { BlobStore, BlobWriteOptions, BlobWriteResult } from './blob-store.ts';

const BLOB_ID = /^[0-9a-f]{32}$/;
const WRITE_BATCH = 256 * 1024;

/**
 * Blobs as files under `<root>/ab/<id>`, named by random ids (never by keys). One level of 256
 * folders: they exist after the first few hundred writes, so a write rarely creates (and syncs) a folder.
 * A write is fsynced, and so is the directory entry, before the promise resolves.
 */
export class FsBlobStore implements BlobStore {
  readonly #root: string;
  readonly #madeDirs = new Set<string>();
  /** An open descriptor per fan-out directory (at most 256), kept to fsync new entries without an open and close each time. */
  readonly #dirFds = new Map<string, Promise<number>>();

  constructor(root: string) {
    this.#root = root;
  }

  async write(source: AsyncIterable<Uint8Array>, options: BlobWriteOptions): Promise<BlobWriteResult> {
    const blobId = randomUUID().replaceAll('-', '');
    const file = this.#path(blobId);
    const dir = path.dirname(file);
    const createdDir = await this.#ensureDir(dir);
    // Plain descriptors and callback fs calls: a FileHandle costs a good deal more CPU per call, and
    // for small objects those calls are most of the work.
    let fd: number | undefined;
    let size = 0;
    try {
      fd = await new Promise<number>((resolve, reject) => {
        openFd(file, NEW_FILE_FLAGS, 0o600, (err, opened) => {
          if (err === null) resolve(opened);
          else reject(err);
        });
      });
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      for await (const chunk of source) {
        size += chunk.byteLength;
        if (size > options.maxSize) {
          throw new BlobError(
            'EntityTooLarge',
            'Your proposed upload exceeds the maximum allowed object size.',
          );
        }
        options.observe?.(chunk);
        pending.push(chunk);
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= WRITE_BATCH) {
          await writeAll(fd, pending);
          pending = [];
          pendingBytes = 0;
        }
      }
      if (pending.length > 0) await writeAll(fd, pending);
      await fdCall(fsync, fd);
      const closing = fd;
      fd = undefined;
      await fdCall(close, closing);
      await this.#syncDir(dir);
      // A freshly made fan-out directory's own entry must be durable too.
      for (let d = createdDir; d !== undefined && d.length >= this.#root.length;) {
        await syncDir(path.dirname(d));
        d = d === dir ? undefined : path.join(d, path.relative(d, dir).split(path.sep)[0]!);
      }
      return { blobId, size };
    } catch (err) {
      if (fd !== undefined) await fdCall(close, fd).catch(() => undefined);
      await rm(file, { force: true });
      throw err;
    }
  }

  /** Closes the directory descriptors kept for syncing; the store must not be written to afterwards. */
  async close(): Promise<void> {
    const fds = [...this.#dirFds.values()];
    this.#dirFds.clear();
    await Promise.all(fds.map((fd) => fd.then((n) => fdCall(close, n)).catch(() => undefined)));
  }

  async read(blobId: string, range?: { readonly start: number; readonly end: number }): Promise<Readable> {
    let handle: FileHandle;
    try {
      handle = await open(this.#path(blobId), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new BlobError('NoSuchBlob', `blob ${blobId} is gone`);
      throw err;
    }
    return handle.createReadStream({ highWaterMark: 1024 * 1024, ...(range ?? {}) });
  }

  async remove(blobId: string): Promise<void> {
    await rm(this.#path(blobId), { force: true });
  }

  async *list(): AsyncIterable<{ readonly blobId: string; readonly modifiedAt: number }> {
    for (const dir of await readDirNames(this.#root)) {
      for (const name of await readDirNames(path.join(this.#root, dir))) {
        if (!BLOB_ID.test(name)) continue;
        const info = await stat(path.join(this.#root, dir, name)).catch(() => undefined);
        if (info !== undefined) yield { blobId: name, modifiedAt: info.mtimeMs };
      }
    }
  }

  #path(blobId: string): string {
    if (!BLOB_ID.test(blobId)) throw new BlobError('NoSuchBlob', `invalid blob id ${blobId}`);
    return path.join(this.#root, blobId.slice(0, 2), blobId);
  }

  /** Makes the directory entries of `dir` durable (fsync of a descriptor kept open for it). */
  async #syncDir(dir: string): Promise<void> {
    let fd = this.#dirFds.get(dir);
    if (fd === undefined) {
      fd = new Promise<number>((resolve, reject) => {
        openFd(dir, constants.O_RDONLY | constants.O_DIRECTORY, (err, opened) => {
          if (err === null) resolve(opened);
          else reject(err);
        });
      });
      this.#dirFds.set(dir, fd);
    }
    try {
      await fdCall(fsync, await fd);
    } catch (err) {
      if (this.#dirFds.get(dir) === fd) {
        this.#dirFds.delete(dir);
        await fd.then((n) => fdCall(close, n)).catch(() => undefined);
      }
      throw err;
    }
  }

  /** Creates the fan-out directory once; returns the topmost directory it had to create, if any. */
  async #ensureDir(dir: string): Promise<string | undefined> {
    if (this.#madeDirs.has(dir)) return undefined;
    const created = await mkdir(dir, { recursive: true });
    this.#madeDirs.add(dir);
    return created;
  }
}

const NEW_FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

function fdCall(
  fn: (fd: number, callback: (err: NodeJS.ErrnoException | null) => void) => void,
  fd: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    fn(fd, (err) => {
      if (err === null) resolve();
      else reject(err);
    });
  });
}

/** Writes every byte of `chunks` at the current position (writev may write less than asked). */
async function writeAll(fd: number, chunks: Uint8Array[]): Promise<void> {
  let rest = chunks;
  for (;;) {
    const total = rest.reduce((n, c) => n + c.byteLength, 0);
    const written = await new Promise<number>((resolve, reject) => {
      writev(fd, rest, (err, n) => {
        if (err === null) resolve(n);
        else reject(err);
      });
    });
    if (written >= total) return;
    let skip = written;
    const next: Uint8Array[] = [];
    for (const c of rest) {
      if (skip >= c.byteLength) skip -= c.byteLength;
      else {
        next.push(skip === 0 ? c : c.subarray(skip));
        skip = 0;
      }
    }
    rest = next;
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readDirNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of await opendir(dir)) names.push(entry.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names.sort();
}
