import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

const STATEMENT_CACHE_SIZE = 256;

/**
 * Adapts Node's built-in `node:sqlite` to the better-sqlite3-shaped interface Kysely's SqliteDialect expects.
 * Built in since Node 22.13, so the embedded default needs no native addon (see README, design notes).
 */
export class NodeSqliteDatabase implements SqliteDatabase {
  readonly #db: DatabaseSync;
  readonly #cache = new Map<string, SqliteStatement>();

  constructor(file: string) {
    this.#db = new DatabaseSync(file);
  }

  exec(sql: string): void {
    this.#db.exec(sql);
  }

  close(): void {
    this.#cache.clear();
    this.#db.close();
  }

  prepare(sql: string): SqliteStatement {
    const cached = this.#cache.get(sql);
    if (cached !== undefined) return cached;
    const stmt = this.#db.prepare(sql);
    const adapted = adaptStatement(stmt);
    if (this.#cache.size >= STATEMENT_CACHE_SIZE) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(sql, adapted);
    return adapted;
  }
}

function adaptStatement(stmt: StatementSync): SqliteStatement {
  const reader = stmt.columns().length > 0;
  return {
    reader,
    all: (parameters) => stmt.all(...toSqlite(parameters)),
    run: (parameters) => stmt.run(...toSqlite(parameters)),
    iterate: (parameters) => stmt.iterate(...toSqlite(parameters)),
  };
}

function toSqlite(parameters: readonly unknown[]): SQLInputValue[] {
  return parameters.map((value): SQLInputValue => {
    if (value === undefined || value === null) return null;
    if (typeof value === 'boolean') return value ? 1 : 0;
    if (typeof value === 'number' || typeof value === 'string' || typeof value === 'bigint') return value;
    if (value instanceof Uint8Array) return value;
    if (value instanceof Date) return value.getTime();
    throw new TypeError(`cannot bind a ${typeof value} to SQLite`);
  });
}
