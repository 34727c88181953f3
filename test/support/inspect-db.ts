import { DatabaseSync } from 'node:sqlite';
import path from 'node:path';
import pg from 'pg';

/** Reads the server's own database (SQLite file or PostgreSQL schema) to check what no API shows yet. */
export async function queryServerDb(
  server: { readonly dataDir: string; readonly databaseUrl: string | undefined },
  sql: string,
  params: readonly (string | number)[] = [],
): Promise<Record<string, unknown>[]> {
  if (server.databaseUrl === undefined) {
    const db = new DatabaseSync(path.join(server.dataDir, 'bucketbell.db'), { readOnly: true });
    try {
      // A reader of a WAL database can meet SQLITE_BUSY while the server checkpoints: wait, don't fail.
      db.exec('PRAGMA busy_timeout = 5000');
      return db.prepare(sql.replace(/\$\d+/g, '?')).all(...params);
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: server.databaseUrl });
  await client.connect();
  try {
    return (await client.query(sql, [...params])).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

/**
 * Writes to the server's own database (SQLite file or PostgreSQL schema), running or stopped: for state
 * no API can make yet, or that an older release left behind.
 */
export async function writeServerDb(
  server: { readonly dataDir: string; readonly databaseUrl: string | undefined },
  sql: string,
  params: readonly (string | number)[] = [],
): Promise<void> {
  if (server.databaseUrl === undefined) {
    const db = new DatabaseSync(path.join(server.dataDir, 'bucketbell.db'));
    try {
      // The server may be writing too: wait for its lock rather than fail with SQLITE_BUSY.
      db.exec('PRAGMA busy_timeout = 5000');
      db.prepare(sql.replace(/\$\d+/g, '?')).run(...params);
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: server.databaseUrl });
  await client.connect();
  try {
    await client.query(sql, [...params]);
  } finally {
    await client.end();
  }
}
