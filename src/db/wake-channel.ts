import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import pg from 'pg';
import type { Logger } from '../observability/logger.ts';
import type { Schema } from './schema.ts';

/** The database or an open transaction (a transaction is a Kysely too). */
type Executor = Kysely<Schema>;

/**
 * Tells every process that shares the database that deliveries became due, so that a dispatcher
 * in another instance starts at once instead of at its next poll. In the committing process the
 * dispatcher is woken in-process after the commit (ChangeRecorder.afterCommit); this is the part
 * that crosses processes. The poll stays the fallback for a signal that is missed.
 */
export interface WakeChannel {
  /** Inside a transaction: listeners hear it once that transaction commits, never if it rolls back. */
  signal(executor: Executor): Promise<void>;
  /** Calls `onWake` for every signal, from this process or another; resolves once listening. */
  listen(onWake: () => void): Promise<void>;
  /** The listener as a worker (shown by /healthz): whether other instances' signals reach it now. */
  status(): WakeListenerStatus;
  close(): Promise<void>;
}

export interface WakeListenerStatus {
  readonly name: 'wake-listener';
  /**
   * `in-process`: one process owns the database (SQLite), nothing to listen for; `listening`: the
   * LISTEN connection is up; `reconnecting`: it failed and is being opened again (the poll covers
   * the gap); `idle` before listen(), `stopped` after close().
   */
  readonly state: 'in-process' | 'idle' | 'listening' | 'reconnecting' | 'stopped';
  /** How many times the LISTEN connection was opened again after a failure. */
  readonly reconnects: number;
  readonly lastError: { readonly at: number; readonly message: string } | null;
}

/** SQLite: one process owns the file, so the in-process wake is all there is. */
export const noWakeChannel: WakeChannel = {
  signal: () => Promise.resolve(),
  listen: () => Promise.resolve(),
  status: () => ({ name: 'wake-listener', state: 'in-process', reconnects: 0, lastError: null }),
  close: () => Promise.resolve(),
};

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

/**
 * PostgreSQL `NOTIFY` (sent at commit, dropped on rollback) and a dedicated `LISTEN` connection that
 * reconnects after a failure and then wakes once, for whatever it may have missed. The channel is
 * named after the schema, so servers in different schemas of one database never wake each other.
 */
export class PostgresWakeChannel implements WakeChannel {
  readonly #url: string;
  readonly #logger: Logger;
  #channel: string | undefined;
  #client: pg.Client | undefined;
  #onWake: (() => void) | undefined;
  #closed = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #reconnectDelayMs = RECONNECT_MIN_MS;
  #state: WakeListenerStatus['state'] = 'idle';
  #reconnects = 0;
  #lastError: WakeListenerStatus['lastError'] = null;

  constructor(url: string, logger: Logger) {
    this.#url = url;
    this.#logger = logger;
  }

  /** Learns the schema the database's connections write to; call once, before signal or listen. */
  async init(db: Executor): Promise<void> {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    this.#channel = wakeChannelName(rows[0]?.schema ?? 'public');
  }

  async signal(executor: Executor): Promise<void> {
    await sql`select pg_notify(${this.#name()}, '')`.execute(executor);
  }

  async listen(onWake: () => void): Promise<void> {
    this.#onWake = onWake;
    await this.#connect();
  }

  status(): WakeListenerStatus {
    return {
      name: 'wake-listener',
      state: this.#state,
      reconnects: this.#reconnects,
      lastError: this.#lastError,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#state = 'stopped';
    clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  #name(): string {
    if (this.#channel === undefined) throw new Error('PostgresWakeChannel used before init()');
    return this.#channel;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url });
    let live = false;
    const onFailure = (err?: Error) => {
      if (!live || this.#closed) return;
      live = false;
      if (this.#client === client) this.#client = undefined;
      this.#state = 'reconnecting';
      this.#lastError = { at: Date.now(), message: err?.message ?? 'the connection ended' };
      this.#logger.warn(
        { err, retryInMs: this.#reconnectDelayMs },
        'the LISTEN connection for delivery wake-ups failed; polling until it is back',
      );
      client.end().catch(() => undefined);
      this.#scheduleReconnect();
    };
    // Until it listens, a failure rejects the promise below; an 'error' event must still have a listener.
    client.on('error', onFailure);
    client.on('end', () => {
      onFailure();
    });
    client.on('notification', () => {
      this.#onWake?.();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${client.escapeIdentifier(this.#name())}`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    live = true;
    this.#client = client;
    this.#state = 'listening';
    this.#reconnectDelayMs = RECONNECT_MIN_MS;
  }

  #scheduleReconnect(): void {
    const delay = this.#reconnectDelayMs;
    this.#reconnectDelayMs = Math.min(RECONNECT_MAX_MS, delay * 2);
    this.#reconnectTimer = setTimeout(() => {
      this.#connect()
        .then(() => {
          this.#reconnects += 1;
          this.#logger.info('the LISTEN connection for delivery wake-ups is back');
          this.#onWake?.(); // whatever was signalled while it was down
        })
        .catch((err: unknown) => {
          if (this.#closed) return;
          this.#lastError = { at: Date.now(), message: (err as Error).message };
          this.#logger.warn(
            { err, retryInMs: this.#reconnectDelayMs },
            'cannot LISTEN for delivery wake-ups yet',
          );
          this.#scheduleReconnect();
        });
    }, delay);
    this.#reconnectTimer.unref();
  }
}

/** At most 63 bytes (PostgreSQL's identifier limit), whatever the schema's name. */
export function wakeChannelName(schema: string): string {
  return `bucketbell_wake_${createHash('sha256').update(schema).digest('hex').slice(0, 24)}`;
}
