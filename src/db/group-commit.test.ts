import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { GroupCommit } from './group-commit.ts';
import { NodeSqliteDatabase } from './node-sqlite-database.ts';

interface Db {
  t: { x: number };
}

async function setup(makeDurable?: () => Promise<void>) {
  const db = new Kysely<Db>({ dialect: new SqliteDialect({ database: new NodeSqliteDatabase(':memory:') }) });
  await sql`create table t (x integer primary key)`.execute(db);
  let transactions = 0;
  const group = new GroupCommit<Kysely<Db>>((fn) => {
    transactions++;
    return db.transaction().execute(fn);
  }, makeDurable);
  const rows = async () => (await db.selectFrom('t').select('x').orderBy('x').execute()).map((r) => r.x);
  return { db, group, rows, transactions: () => transactions };
}

describe('GroupCommit', () => {
  it('commits units that arrive together in one transaction, and a failing unit alone rolls back', async () => {
    const { group, rows, transactions } = await setup();
    const insert = (x: number) => group.submit((tx) => tx.insertInto('t').values({ x }).execute());
    const results = await Promise.allSettled([
      insert(1),
      insert(2),
      group.submit(async (tx) => {
        await tx.insertInto('t').values({ x: 3 }).execute();
        throw new Error('unit 3 fails after its insert');
      }),
      insert(2), // a duplicate key: fails alone
      insert(4),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(await rows(), [1, 2, 4]);
    assert.equal(transactions(), 1, 'one shared commit');
  });

  it('answers a unit only after makeDurable, and fails the whole batch when it fails', async () => {
    let durable = 0;
    let failNext = false;
    const { group, rows } = await setup(() => {
      if (failNext) return Promise.reject(new Error('fdatasync: EIO'));
      durable++;
      return Promise.resolve();
    });
    const value = await group.submit(async (tx) => {
      await tx.insertInto('t').values({ x: 1 }).execute();
      return 'done';
    });
    assert.deepEqual([value, durable], ['done', 1]);
    failNext = true;
    const failed = await Promise.allSettled([
      group.submit((tx) => tx.insertInto('t').values({ x: 2 }).execute()),
      group.submit((tx) => tx.insertInto('t').values({ x: 3 }).execute()),
    ]);
    assert.deepEqual(
      failed.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'fulfilled')),
      ['fdatasync: EIO', 'fdatasync: EIO'],
    );
    assert.deepEqual(await rows(), [1, 2, 3], 'committed, but no unit was told it is durable');
  });

  it('skips the sync for a batch of only non-durable units, never for a mixed one or one after a failed sync', async () => {
    let syncs = 0;
    let failNext = false;
    const { group, rows } = await setup(() => {
      if (failNext) {
        failNext = false;
        return Promise.reject(new Error('fdatasync: EIO'));
      }
      syncs++;
      return Promise.resolve();
    });
    const lease = (x: number) =>
      group.submit((tx) => tx.insertInto('t').values({ x }).execute(), { durable: false });
    const change = (x: number) => group.submit((tx) => tx.insertInto('t').values({ x }).execute());

    await Promise.all([lease(1), lease(2)]);
    assert.equal(syncs, 0, 'only non-durable units: no sync');
    await Promise.all([lease(3), change(4)]);
    assert.equal(syncs, 1, 'one durable unit: the batch syncs, and both answer after it');

    failNext = true;
    await assert.rejects(change(5), /EIO/);
    await lease(6);
    assert.equal(syncs, 2, 'after a failed sync the next batch syncs, whatever its units');
    await lease(7);
    assert.equal(syncs, 2);
    assert.deepEqual(await rows(), [1, 2, 3, 4, 5, 6, 7]);
  });
});
