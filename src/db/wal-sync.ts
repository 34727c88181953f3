import { open, type FileHandle } from 'node:fs/promises';

/**
 * Makes a SQLite WAL-mode database's last commits durable without blocking the event loop: one
 * `fdatasync` of the `-wal` file, run in libuv's thread pool. With `PRAGMA synchronous = NORMAL`
 * SQLite writes each commit to the WAL without syncing it (it syncs the WAL before each checkpoint,
 * so the database stays consistent); syncing the WAL afterwards gives the durability of `FULL`, and
 * one sync covers every commit written before it.
 */
export class WalSync {
  readonly #path: string;
  #handle: Promise<FileHandle> | undefined;

  /** `walPath`: the database file's path with `-wal` appended. */
  constructor(walPath: string) {
    this.#path = walPath;
  }

  /** Resolves once everything written to the WAL before this call is on disk. */
  async sync(): Promise<void> {
    try {
      // The WAL file stays (same inode) while the database is open, so one handle serves every sync.
      this.#handle ??= open(this.#path, 'r');
      await (await this.#handle).datasync();
    } catch (err) {
      this.#handle = undefined;
      throw err;
    }
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    await (await handle?.catch(() => undefined))?.close();
  }
}
