import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { createLogger } from '../../src/observability/logger.ts';

/** Which metadata database the end-to-end suite runs against: `BUCKETBELL_TEST_DB=sqlite|postgres`. */
export const TEST_DB: 'sqlite' | 'postgres' =
  process.env['BUCKETBELL_TEST_DB'] === 'postgres' ? 'postgres' : 'sqlite';

export const TEST_POSTGRES_URL =
  process.env['BUCKETBELL_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A fresh, empty PostgreSQL schema for one server, so tests never see each other's rows.
 * Returns the database URL that selects it through search_path.
 */
export async function freshPostgresSchema(): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `bb_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`create schema ${schema}`);
  } finally {
    await client.end();
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await c.connect();
      try {
        await c.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A metadata database that a unit test opens afresh, and removes with `cleanup`. */
export interface DialectUnderTest {
  readonly name: 'sqlite' | 'postgres';
  open(): Promise<{ database: Database; cleanup: () => Promise<void> }>;
}

/** Whether the test PostgreSQL answers (within 2 s). */
export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A fresh PostgreSQL database (not only a schema) per run: a database of its own sees nothing of
 * another run's tables, Kysely's migration bookkeeping included.
 */
async function freshPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `bb_unit_${randomBytes(6).toString('hex')}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create database ${name}`);
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) };
}

/**
 * SQLite (a file in a temporary folder), and PostgreSQL when it is reachable (else `label` says on
 * stderr that only SQLite is tested): every database test loops over these.
 */
export async function dialectsUnderTest(label: string): Promise<DialectUnderTest[]> {
  const logger = createLogger('silent', false);
  const dialects: DialectUnderTest[] = [
    {
      name: 'sqlite',
      async open() {
        const dir = await mkdtemp(path.join(tmpdir(), `bucketbell-${label}-`));
        const database = await openDatabase(`sqlite:${path.join(dir, 'meta.db')}`, logger);
        return {
          database,
          cleanup: async () => {
            await database.close();
            await rm(dir, { recursive: true, force: true });
          },
        };
      },
    },
  ];
  if (!(await postgresReachable())) {
    process.stderr.write(
      `${label}: PostgreSQL at ${TEST_POSTGRES_URL} is unreachable; testing SQLite only\n`,
    );
    return dialects;
  }
  dialects.push({
    name: 'postgres',
    async open() {
      const fresh = await freshPostgresDatabase();
      let database: Database;
      try {
        database = await openDatabase(fresh.url, logger);
      } catch (err) {
        await fresh.drop();
        throw err;
      }
      return {
        database,
        cleanup: async () => {
          await database.close();
          await fresh.drop();
        },
      };
    },
  });
  return dialects;
}
