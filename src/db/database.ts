import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely, Migrator, SqliteDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import type { Logger } from '../observability/logger.ts';
import type { DialectKind } from './dialect-kind.ts';
import { GroupCommit } from './group-commit.ts';
import { WalSync } from './wal-sync.ts';
import { migrationList } from './migrations/migration-list.ts';
import { noWakeChannel, PostgresWakeChannel, type WakeChannel } from './wake-channel.ts';
import { NodeSqliteDatabase } from './node-sqlite-database.ts';
import { SchemaScopedPostgresDialect } from './schema-scoped-dialect.ts';
import type { Schema } from './schema.ts';

export type Db = Kysely<Schema>;
export type Tx = Transaction<Schema>;
/** Anything a repository can run a query on: the database or an open transaction. */
export type Executor = Db | Tx;

export interface CommitOptions {
  /**
   * False: the work's own writes may be lost in a crash without harm (a delivery's lease: the row is
   * claimed again), so with one writer (SQLite) a group commit of only such work skips the disk sync.
   * It still reads only what is on disk. PostgreSQL commits every transaction durably. Default true.
   */
  readonly durable?: boolean;
}

/** An open metadata database; dialect differences are capabilities here, never `if (postgres)` in callers. */
export interface Database {
  readonly db: Db;
  readonly kind: DialectKind;
  /** PostgreSQL can lock the rows a transaction reads (`FOR UPDATE`); SQLite serialises writers instead. */
  readonly hasRowLocks: boolean;
  /** SQLite has one writer: concurrent changes are grouped into shared commits (see `commit`). */
  readonly singleWriter: boolean;
  /**
   * Runs `work` and commits it. With several writers (PostgreSQL) that is a transaction of its own;
   * with one writer (SQLite) a savepoint in a group commit that concurrent callers share (GroupCommit),
   * so many writes cost one fsync. Either way the promise settles only once the work is durable (unless
   * `options.durable` is false), and a unit that throws changes nothing. `work` must not wait for another `commit`.
   */
  commit<R>(work: (tx: Tx) => Promise<R>, options?: CommitOptions): Promise<R>;
  /** Wakes the dispatchers of every process on this database (LISTEN/NOTIFY on PostgreSQL; one process on SQLite). */
  readonly wake: WakeChannel;
  close(): Promise<void>;
}

// int8 (bigint) columns hold byte sizes and millisecond timestamps, all below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** Opens `sqlite:/path/file.db` or `postgres://…`, and runs pending migrations. */
export async function openDatabase(url: string, logger: Logger): Promise<Database> {
  const postgres = url.startsWith('sqlite:') ? undefined : openPostgres(url, logger);
  const database = postgres ?? openSqlite(url.slice('sqlite:'.length));
  try {
    await migrate(database, logger);
    await postgres?.init();
  } catch (err) {
    await database.close();
    throw err;
  }
  return database;
}

function openSqlite(file: string): Database {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new NodeSqliteDatabase(file);
  sqlite.exec('PRAGMA journal_mode = WAL');
  // FULL: a commit is on disk before the client hears 2xx (survives power loss, not only a crash).
  sqlite.exec('PRAGMA synchronous = FULL');
  sqlite.exec('PRAGMA busy_timeout = 5000');
  sqlite.exec('PRAGMA foreign_keys = ON');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }) });
  // Commits through the group commit wait for the disk off the event loop (WalSync); the rest, FULL.
  const walSync = file === ':memory:' ? undefined : new WalSync(`${file}-wal`);
  const group =
    walSync === undefined
      ? new GroupCommit<Tx>((fn) => db.transaction().execute(fn))
      : new GroupCommit<Tx>(
          (fn) => commitWithoutSync(db, fn),
          () => walSync.sync(),
        );
  return {
    db,
    kind: 'sqlite',
    hasRowLocks: false,
    singleWriter: true,
    commit: (work, options) => group.submit(work, options),
    wake: noWakeChannel,
    close: async () => {
      await walSync?.close();
      await db.destroy();
    },
  };
}

/**
 * Runs `fn` in a transaction whose commit does not wait for the disk (`synchronous = NORMAL` for this
 * transaction alone); the caller makes it durable (WalSync) before telling anyone. The connection is
 * reserved from the first pragma to the last, so no other statement runs under the relaxed setting.
 */
function commitWithoutSync<R>(db: Db, fn: (tx: Tx) => Promise<R>): Promise<R> {
  return db.connection().execute(async (conn) => {
    await sql`pragma synchronous = normal`.execute(conn);
    try {
      return await conn.transaction().execute(fn);
    } finally {
      await sql`pragma synchronous = full`.execute(conn);
    }
  });
}

function openPostgres(url: string, logger: Logger): Database & { init(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: url, max: 20 });
  // An idle connection the server closes (restart, failover) must not crash the process: the pool
  // drops it and the next query opens a new one.
  pool.on('error', (err) => {
    logger.warn({ err }, 'an idle PostgreSQL connection failed; it will be replaced');
  });
  const db = new Kysely<Schema>({ dialect: new SchemaScopedPostgresDialect({ pool }) });
  const wake = new PostgresWakeChannel(url, logger);
  return {
    db,
    kind: 'postgres',
    hasRowLocks: true,
    singleWriter: false,
    commit: (work) => db.transaction().execute(work),
    wake,
    init: () => wake.init(db),
    close: async () => {
      await wake.close();
      await db.destroy();
    },
  };
}

async function migrate(database: Database, logger: Logger): Promise<void> {
  // Kysely looks for its bookkeeping tables in every visible schema unless told which one: pin it
  // to the schema this connection writes to, so servers in different schemas never see each other's.
  const schema =
    database.kind === 'postgres'
      ? (await sql<{ schema: string }>`select current_schema() as schema`.execute(database.db)).rows[0]
          ?.schema
      : undefined;
  const migrator = new Migrator({
    db: database.db,
    provider: { getMigrations: () => Promise.resolve(migrationList(database.kind)) },
    ...(schema === undefined ? {} : { migrationTableSchema: schema }),
  });
  const { error, results } = await migrator.migrateToLatest();
  for (const result of results ?? []) {
    if (result.status === 'Success') logger.info({ migration: result.migrationName }, 'migration applied');
    if (result.status === 'Error') logger.error({ migration: result.migrationName }, 'migration failed');
  }
  if (error !== undefined) throw error instanceof Error ? error : new Error('migration failed');
}
