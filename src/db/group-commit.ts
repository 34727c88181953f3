import { sql, type QueryExecutorProvider } from 'kysely';

interface Unit<Tx> {
  readonly work: (tx: Tx) => Promise<unknown>;
  /** False for a unit whose writes may be lost in a crash (see `submit`). */
  readonly durable: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
}

type Outcome =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

const MAX_BATCH = 128;

/**
 * Group commit for a database with one writer (SQLite): units of work that arrive while a commit is
 * in progress wait and then share the next transaction, each inside its own savepoint, so one unit's
 * failure rolls back only that unit, and N units cost one fsync instead of N. Every writer of the
 * process goes through the same one (object changes and the delivery dispatcher's claims and
 * settlements), so they share fsyncs too. A unit's promise settles only after the shared
 * transaction has committed; if that commit fails, every unit of the batch fails with its error.
 */
export class GroupCommit<Tx extends QueryExecutorProvider> {
  readonly #begin: <R>(fn: (tx: Tx) => Promise<R>) => Promise<R>;
  readonly #makeDurable: () => Promise<void>;
  #queue: Unit<Tx>[] = [];
  #running = false;
  /** A commit whose makeDurable failed may still be readable: the next batch syncs, whatever its units. */
  #syncOwed = false;

  /**
   * `begin` runs a function in a transaction and commits it; `makeDurable` (default: nothing) is
   * awaited after each commit, before any unit hears of it: where `begin` commits without waiting for
   * the disk, it waits for the disk (off the event loop).
   */
  constructor(
    begin: <R>(fn: (tx: Tx) => Promise<R>) => Promise<R>,
    makeDurable: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.#begin = begin;
    this.#makeDurable = makeDurable;
  }

  /**
   * Runs `work` in the next shared transaction; resolves once that has committed and, unless
   * `durable` is false, is on disk. A batch whose units are all `durable: false` skips the sync: for
   * writes whose loss in a crash is harmless and that read nothing undurable. Every batch before it
   * was synced before it began (or was itself such a batch), so what it reads is on disk.
   */
  submit<R>(work: (tx: Tx) => Promise<R>, options: { readonly durable?: boolean } = {}): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({
        work,
        durable: options.durable ?? true,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        // Let the event loop run once first: requests whose bytes just landed can join this commit.
        // (The SQLite driver is synchronous, so without this a batch never sees newcomers.)
        await new Promise<void>((resolve) => setImmediate(resolve));
        const batch = this.#queue.splice(0, MAX_BATCH);
        const outcomes: Outcome[] = [];
        try {
          await this.#begin(async (tx) => {
            for (const unit of batch) outcomes.push(await runInSavepoint(tx, unit));
          });
          if (this.#syncOwed || batch.some((unit) => unit.durable)) {
            this.#syncOwed = true;
            await this.#makeDurable();
            this.#syncOwed = false;
          }
        } catch (error) {
          // The shared commit failed, or its data may not have reached the disk: no unit may count on it.
          for (const unit of batch) unit.reject(error);
          continue;
        }
        batch.forEach((unit, i) => {
          const outcome = outcomes[i]!;
          if (outcome.ok) unit.resolve(outcome.value);
          else unit.reject(outcome.error);
        });
      }
    } finally {
      this.#running = false;
    }
  }
}

async function runInSavepoint<Tx extends QueryExecutorProvider>(tx: Tx, unit: Unit<Tx>): Promise<Outcome> {
  await sql`savepoint unit`.execute(tx);
  try {
    const value = await unit.work(tx);
    await sql`release savepoint unit`.execute(tx);
    return { ok: true, value };
  } catch (error) {
    await sql`rollback to savepoint unit`.execute(tx);
    await sql`release savepoint unit`.execute(tx);
    return { ok: false, error };
  }
}
