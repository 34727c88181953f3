import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createLogger } from '../observability/logger.ts';
import { postgresReachable, TEST_POSTGRES_URL } from '../../test/support/test-database.ts';
import { openDatabase } from './database.ts';

// Another application (or another bucketbell) sharing the PostgreSQL database may drop its schemas
// at any time; a bucketbell starting then must neither fail nor look at schemas that are not its own.

const logger = createLogger('silent', false);

const name = (prefix: string) => `${prefix}_${randomBytes(6).toString('hex')}`;

function urlFor(schema: string): string {
  const url = new URL(TEST_POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

describe('migrations on a PostgreSQL database that others share', async () => {
  const available = await postgresReachable();
  if (!available && process.env['CI'] === 'true')
    throw new Error(`PostgreSQL at ${TEST_POSTGRES_URL} is unreachable`);
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  const mine: string[] = [];
  before(async () => {
    if (available) await admin.connect();
  });
  after(async () => {
    if (!available) return;
    for (const schema of mine) await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  });

  it(
    'starts while another session keeps creating and dropping schemas with tables',
    { skip: !available },
    async () => {
      let churning = true;
      const churner = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await churner.connect();
      const churn = (async () => {
        let rounds = 0;
        while (churning || rounds < 5) {
          const others = Array.from({ length: 4 }, () => name('bb_other'));
          for (const other of others) {
            await churner.query(`create schema ${other}`);
            await churner.query(`create table ${other}.t (id serial primary key, a text, b text, c text)`);
          }
          for (const other of others) await churner.query(`drop schema ${other} cascade`);
          rounds += 1;
        }
        return rounds;
      })();
      try {
        for (let i = 0; i < 8; i += 1) {
          const schema = name('bb_mine');
          mine.push(schema);
          await admin.query(`create schema ${schema}`);
          const database = await openDatabase(urlFor(schema), logger);
          await database.close();
        }
      } finally {
        churning = false;
        await churn;
        await churner.end();
      }
    },
  );

  it(
    'keeps its migration bookkeeping in its own schema and sees no other schema’s tables',
    { skip: !available },
    async () => {
      const [a, b] = [name('bb_mine'), name('bb_mine')];
      mine.push(a, b);
      await admin.query(`create schema ${a}`);
      await admin.query(`create schema ${b}`);
      const first = await openDatabase(urlFor(a), logger);
      await first.close();
      const second = await openDatabase(urlFor(b), logger);
      try {
        const tables = await second.db.introspection.getTables({ withInternalKyselyTables: true });
        assert.ok(tables.length > 0);
        assert.deepEqual([...new Set(tables.map((t) => t.schema))], [b]);
        assert.ok(tables.some((t) => t.name === 'kysely_migration'));
        const { rows } = await admin.query<{ n: string }>(`select count(*) as n from ${b}.kysely_migration`);
        const { rows: firstRows } = await admin.query<{ n: string }>(
          `select count(*) as n from ${a}.kysely_migration`,
        );
        assert.equal(rows[0]?.n, firstRows[0]?.n);
      } finally {
        await second.close();
      }
    },
  );
});
