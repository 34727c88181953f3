import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dialectsUnderTest } from '../../test/support/test-database.ts';
import { preparedInsert, preparedQuery, preparedStatement, preparedStream } from './prepared-query.ts';

const event = (key: string, size: number) => ({
  event_name: 's3:ObjectCreated:Put',
  bucket: 'b',
  bucket_owner: 'root',
  key,
  version_id: null,
  size,
  etag: '"e"',
  content_type: null,
  user_metadata: '{}',
  time: 1,
  principal: 'root',
  source_ip: '127.0.0.1',
  request_id: 'r',
});

const insertEvent = preparedInsert('events', ['id']);
const keysAtLeast = preparedQuery(1, (db, size: number) =>
  db.selectFrom('events').select('key').where('size', '>=', size).orderBy('id'),
);
const resize = preparedStatement(2, (db, size: number, key: string) =>
  db.updateTable('events').set({ size }).where('key', '=', key).where('size', '<>', size),
);
const keysStream = preparedStream(
  1,
  (db, size: number) => db.selectFrom('events').select('key').where('size', '>=', size).orderBy('id'),
  2,
);

for (const dialect of await dialectsUnderTest('prepared-query')) {
  describe(`compiled-once queries (${dialect.name})`, () => {
    it('runs each with its own values, reusing the compiled statement', async () => {
      const { database, cleanup } = await dialect.open();
      try {
        const db = database.db;
        const [first] = await insertEvent(db, event('a', 1));
        const [second] = await insertEvent(db, event('b', 5));
        assert.ok(first !== undefined && second !== undefined && second.id > first.id);
        // An undefined column (the types forbid it; JavaScript callers may not) takes the ordinary
        // path, which leaves it out.
        const loose = { ...event('c', 9), content_type: undefined };
        await insertEvent(db, loose as unknown as ReturnType<typeof event>);
        assert.deepEqual(
          (await keysAtLeast(db, 5)).map((r) => r.key),
          ['b', 'c'],
        );
        assert.deepEqual(
          (await keysAtLeast(db, 2)).map((r) => r.key),
          ['b', 'c'],
        );
        assert.equal((await resize(db, 7, 'a')).numAffectedRows, 1n);
        // A value used twice (set, and the where) is bound in both places.
        assert.equal((await resize(db, 7, 'a')).numAffectedRows, 0n);
        assert.deepEqual(
          (await keysAtLeast(db, 7)).map((r) => r.key),
          ['a', 'c'],
        );
      } finally {
        await cleanup();
      }
    });

    // Only the single-writer (SQLite) claim streams; on PostgreSQL it is one statement, and Kysely
    // streams there only with pg-cursor, which bucketbell does not install.
    const streams = dialect.name === 'sqlite';
    it('streams rows a chunk at a time, and a reader may stop early', { skip: !streams }, async () => {
      const { database, cleanup } = await dialect.open();
      try {
        for (let i = 0; i < 7; i += 1) await insertEvent(database.db, event(`k${i}`, i));
        const all: string[] = [];
        for await (const row of keysStream(database.db, 2)) all.push(row.key);
        assert.deepEqual(all, ['k2', 'k3', 'k4', 'k5', 'k6']);
        const first: string[] = [];
        for await (const row of keysStream(database.db, 0)) {
          first.push(row.key);
          if (first.length === 3) break;
        }
        assert.deepEqual(first, ['k0', 'k1', 'k2']);
      } finally {
        await cleanup();
      }
    });

    it('refuses a query that does not bind every value it was given', async () => {
      const { database, cleanup } = await dialect.open();
      try {
        const spliced = preparedQuery(1, (db, _size: number) =>
          db.selectFrom('events').select('key').where('size', '>=', 3),
        );
        await assert.rejects(spliced(database.db, 3), /must bind each of its 1 values/);
      } finally {
        await cleanup();
      }
    });
  });
}
