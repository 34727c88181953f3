// Invariant 1, the rolled-back half, against a real database (SQLite, and PostgreSQL when reachable):
// a unit of work that fails anywhere inside commitUnit's transaction leaves no object, event or
// delivery row behind and wakes nobody; one that commits leaves one event per matched change and one
// delivery per matching endpoint.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Insertable } from 'kysely';
import { dialectsUnderTest } from '../../test/support/test-database.ts';
import type { Database, Tx } from '../db/database.ts';
import { ALL_BUCKETS } from '../db/notification-repository.ts';
import type { EndpointsTable, NotificationRulesTable, ObjectsTable } from '../db/schema.ts';
import { createLogger } from '../observability/logger.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { FsBlobStore } from '../storage/fs-blob-store.ts';
import type { Actor } from './actor.ts';
import type { ChangeRecorder } from './change-recorder.ts';
import { commitUnit, type MutationContext } from './mutation-context.ts';
import type { ObjectChange } from './object-change.ts';
import { putObject } from './object-mutations.ts';
import { OutboxRecorder } from './outbox-recorder.ts';

const logger = createLogger('silent', false);
const actor: Actor = { principal: 'alice', sourceIp: '127.0.0.1', requestId: 'req-1' };
const BUCKET = 'photos';

// --- dialects -------------------------------------------------------------------------------------

const dialects = await dialectsUnderTest('commit-unit');

// --- fixtures -------------------------------------------------------------------------------------

function endpointRow(
  id: string,
  overrides: Partial<Insertable<EndpointsTable>> = {},
): Insertable<EndpointsTable> {
  const now = Date.now();
  return {
    id,
    name: id,
    url: `http://127.0.0.1:1/${id}`,
    kind: 'webhook',
    format: 'aws',
    owner: 'alice',
    bucket: null,
    origin: 'api',
    secret_ciphertext: null,
    previous_secret_ciphertext: null,
    previous_secret_until: null,
    signature_header: 'X-Hub-Signature-256',
    authorization_ciphertext: null,
    headers: '{}',
    timeout_ms: 1000,
    max_attempts: 3,
    backoff_initial_ms: 1000,
    backoff_max_ms: 10_000,
    max_in_flight: 4,
    state: 'active',
    state_reason: null,
    consecutive_failures: 0,
    auto_disable_failures: 0,
    auto_disable_after_ms: null,
    failing_since: null,
    created_at: now,
    updated_at: now,
    ...overrides,
  };
}

function ruleRow(
  bucket: string,
  id: string,
  endpointId: string,
  events: string[],
  overrides: Partial<Insertable<NotificationRulesTable>> = {},
): Insertable<NotificationRulesTable> {
  return {
    bucket,
    id,
    position: 0,
    endpoint_id: endpointId,
    form: 'QueueConfiguration',
    events: JSON.stringify(events),
    prefix: '',
    suffix: '',
    created_at: Date.now(),
    ...overrides,
  };
}

function objectRow(key: string, blobId: string): Insertable<ObjectsTable> {
  return {
    id: randomUUID(),
    bucket: BUCKET,
    key,
    version_id: null,
    blob_id: blobId,
    size: 5,
    etag: '5d41402abc4b2a76b9719d911017c592',
    content_type: 'text/plain',
    content_encoding: null,
    content_disposition: null,
    content_language: null,
    cache_control: null,
    expires: null,
    user_metadata: '{}',
    checksum_algorithm: null,
    checksum_value: null,
    checksum_type: null,
    parts_count: null,
    owner: 'alice',
    last_modified: Date.now(),
  };
}

function change(key: string, eventName: ObjectChange['eventName'] = 's3:ObjectCreated:Put'): ObjectChange {
  return {
    eventName,
    bucket: BUCKET,
    bucketOwner: 'alice',
    key,
    versionId: null,
    size: 5,
    etag: '5d41402abc4b2a76b9719d911017c592',
    contentType: 'text/plain',
    userMetadata: { color: 'red' },
    time: Date.now(),
  };
}

/** A recorder that does the real outbox work, then (optionally) fails, and counts wakes. */
class ProbeRecorder implements ChangeRecorder {
  readonly outbox: OutboxRecorder;
  wakes = 0;
  failAfterRecord = false;
  /** Fail only for changes to these keys. */
  readonly failKeys = new Set<string>();
  /** Rows the transaction itself saw right after the outbox insert (before the failure). */
  seenInside: { events: number; deliveries: number } | undefined;

  constructor() {
    this.outbox = new OutboxRecorder({
      now: Date.now,
      wake: () => {
        this.wakes += 1;
      },
    });
  }

  async record(tx: Tx, changes: readonly ObjectChange[], by: Actor): Promise<boolean> {
    const queued = await this.outbox.record(tx, changes, by);
    if (!this.failAfterRecord && !changes.some((c) => this.failKeys.has(c.key))) return queued;
    this.seenInside = { events: await count(tx, 'events'), deliveries: await count(tx, 'deliveries') };
    throw new Error('recorder failed after inserting its rows');
  }

  afterCommit(): void {
    this.outbox.afterCommit();
  }
}

async function count(db: Database['db'] | Tx, table: 'events' | 'deliveries' | 'objects'): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Whether the store still holds `blobId` (through the BlobStore seam, whatever its file layout). */
async function hasBlob(blobs: BlobStore, blobId: string): Promise<boolean> {
  for await (const blob of blobs.list()) if (blob.blobId === blobId) return true;
  return false;
}

// --- tests ----------------------------------------------------------------------------------------

for (const dialect of dialects) {
  describe(`commitUnit and the outbox (${dialect.name})`, () => {
    let database: Database;
    let cleanup: (() => Promise<void>) | undefined;
    let blobDir: string;
    let recorder: ProbeRecorder;
    let ctx: MutationContext;

    before(async () => {
      ({ database, cleanup } = await dialect.open());
      blobDir = await mkdtemp(path.join(tmpdir(), 'bucketbell-commit-unit-blobs-'));
      const db = database.db;
      await db
        .insertInto('buckets')
        .values({ name: BUCKET, owner: 'alice', created_at: Date.now(), versioning: 'Unversioned' })
        .execute();
      await db
        .insertInto('endpoints')
        .values([
          endpointRow('ep-created'),
          endpointRow('ep-everywhere'),
          endpointRow('ep-removed'),
          endpointRow('ep-paused', { state: 'paused' }),
        ])
        .execute();
      await db
        .insertInto('notification_rules')
        .values([
          ruleRow(BUCKET, 'created', 'ep-created', ['s3:ObjectCreated:*']),
          ruleRow(ALL_BUCKETS, 'config:ep-everywhere', 'ep-everywhere', ['s3:ObjectCreated:Put'], {
            prefix: 'img/',
          }),
          ruleRow(BUCKET, 'removed', 'ep-removed', ['s3:ObjectRemoved:*'], { position: 1 }),
          ruleRow(BUCKET, 'paused', 'ep-paused', ['s3:ObjectCreated:Put'], { position: 2, suffix: '.jpg' }),
        ])
        .execute();
    });

    afterEach(async () => {
      await database.db.deleteFrom('deliveries').execute();
      await database.db.deleteFrom('events').execute();
      await database.db.deleteFrom('objects').execute();
    });

    after(async () => {
      await cleanup?.();
      await rm(blobDir, { recursive: true, force: true });
    });

    function context(): MutationContext {
      recorder = new ProbeRecorder();
      ctx = { database, blobs: new FsBlobStore(blobDir), recorder, logger, now: Date.now };
      return ctx;
    }

    it('a unit that records its change through the recorder and then throws leaves no object, event or delivery, and wakes nobody', async () => {
      const c = context();
      await assert.rejects(
        commitUnit(c, actor, async (tx) => {
          await tx
            .insertInto('objects')
            .values(objectRow('img/a.jpg', 'a'.repeat(32)))
            .execute();
          await c.recorder.record(tx, [change('img/a.jpg')], actor);
          assert.equal(await count(tx, 'events'), 1, 'the event row exists inside the transaction');
          assert.equal(await count(tx, 'deliveries'), 3, 'and its deliveries too');
          throw new Error('work failed after recording');
        }),
        /work failed after recording/,
      );
      assert.equal(await count(database.db, 'objects'), 0);
      assert.equal(await count(database.db, 'events'), 0);
      assert.equal(await count(database.db, 'deliveries'), 0);
      assert.equal(recorder.wakes, 0, 'afterCommit (wake) never ran');
    });

    it('a recorder that fails after inserting the event and delivery rows rolls the whole unit back', async () => {
      const c = context();
      recorder.failAfterRecord = true;
      await assert.rejects(
        commitUnit(c, actor, async (tx) => {
          await tx
            .insertInto('objects')
            .values(objectRow('img/b.jpg', 'b'.repeat(32)))
            .execute();
          return { result: 'ok', changes: [change('img/b.jpg')], freedBlobs: [] };
        }),
        /recorder failed after inserting its rows/,
      );
      assert.deepEqual(
        recorder.seenInside,
        { events: 1, deliveries: 3 },
        'the rows were written, then rolled back',
      );
      assert.equal(await count(database.db, 'objects'), 0);
      assert.equal(await count(database.db, 'events'), 0);
      assert.equal(await count(database.db, 'deliveries'), 0);
      assert.equal(recorder.wakes, 0);
    });

    it('putObject whose outbox write fails keeps the old object and its blob, removes the new blob, and queues nothing', async () => {
      const c = context();
      const body = (s: string) => Readable.from([Buffer.from(s)]);
      const old = await c.blobs.write(body('old'), { maxSize: 100 });
      const input = {
        bucket: BUCKET,
        key: 'img/c.jpg',
        size: 3,
        etag: 'e1',
        attributes: {
          contentType: 'image/jpeg',
          contentEncoding: null,
          contentDisposition: null,
          contentLanguage: null,
          cacheControl: null,
          expires: null,
          userMetadata: {},
        },
        checksum: null,
        eventName: 's3:ObjectCreated:Put' as const,
      };
      await putObject(c, actor, { ...input, bytes: { kind: 'blob', blobId: old.blobId } });
      await database.db.deleteFrom('deliveries').execute();
      await database.db.deleteFrom('events').execute();
      const wakesBefore = recorder.wakes;

      const fresh = await c.blobs.write(body('new'), { maxSize: 100 });
      recorder.failAfterRecord = true;
      await assert.rejects(
        putObject(c, actor, { ...input, bytes: { kind: 'blob', blobId: fresh.blobId }, etag: 'e2' }),
        /recorder failed/,
      );
      const row = await database.db
        .selectFrom('objects')
        .selectAll()
        .where('key', '=', 'img/c.jpg')
        .executeTakeFirstOrThrow();
      assert.equal(row.blob_id, old.blobId, 'the old object still stands');
      assert.equal(row.etag, 'e1');
      assert.equal(
        await hasBlob(c.blobs, old.blobId),
        true,
        'the blob the old object points at was not freed',
      );
      assert.equal(
        await hasBlob(c.blobs, fresh.blobId),
        false,
        'the new blob was removed after the rollback',
      );
      assert.equal(await count(database.db, 'events'), 0);
      assert.equal(await count(database.db, 'deliveries'), 0);
      assert.equal(recorder.wakes, wakesBefore);
    });

    it('a committed unit leaves one event per matched change and one delivery per matching endpoint, then wakes once', async () => {
      const c = context();
      const result = await commitUnit(c, actor, async (tx) => {
        await tx
          .insertInto('objects')
          .values(objectRow('img/d.jpg', 'd'.repeat(32)))
          .execute();
        return {
          result: 42,
          changes: [change('img/d.jpg'), change('docs/e.txt'), change('gone.txt', 's3:ObjectRemoved:Delete')],
          freedBlobs: [],
        };
      });
      assert.equal(result, 42);
      assert.equal(recorder.wakes, 1);
      assert.equal(await count(database.db, 'objects'), 1);
      const events = await database.db.selectFrom('events').selectAll().orderBy('id').execute();
      assert.deepEqual(
        events.map((e) => [e.key, e.event_name, e.principal, e.source_ip, e.request_id, e.user_metadata]),
        [
          ['img/d.jpg', 's3:ObjectCreated:Put', 'alice', '127.0.0.1', 'req-1', '{"color":"red"}'],
          ['docs/e.txt', 's3:ObjectCreated:Put', 'alice', '127.0.0.1', 'req-1', '{"color":"red"}'],
          ['gone.txt', 's3:ObjectRemoved:Delete', 'alice', '127.0.0.1', 'req-1', '{"color":"red"}'],
        ],
      );
      const deliveries = await database.db.selectFrom('deliveries').selectAll().execute();
      const of = (key: string) => {
        const id = events.find((e) => e.key === key)!.id;
        return deliveries
          .filter((d) => d.event_id === id)
          .map((d) => [d.endpoint_id, d.rule_id, d.status, d.attempts, d.kind])
          .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
      };
      assert.deepEqual(of('img/d.jpg'), [
        ['ep-created', 'created', 'pending', 0, 'event'],
        ['ep-everywhere', 'config:ep-everywhere', 'pending', 0, 'event'],
        ['ep-paused', 'paused', 'held', 0, 'event'],
      ]);
      assert.deepEqual(of('docs/e.txt'), [['ep-created', 'created', 'pending', 0, 'event']]);
      assert.deepEqual(of('gone.txt'), [['ep-removed', 'removed', 'pending', 0, 'event']]);
      assert.equal(deliveries.length, 5);
      assert.equal(new Set(deliveries.map((d) => d.id)).size, 5, 'every delivery has its own id');
    });

    it('units committed concurrently (group commit on SQLite) roll back one by one: only the failed ones queue nothing', async () => {
      const c = context();
      const keys = Array.from({ length: 24 }, (_, i) => `img/batch-${i}.jpg`);
      const fate = (i: number) => (['ok', 'work-throws', 'ok', 'recorder-throws'] as const)[i % 4]!;
      keys.forEach((key, i) => {
        if (fate(i) === 'recorder-throws') recorder.failKeys.add(key);
      });
      const outcomes = await Promise.allSettled(
        keys.map((key, i) =>
          commitUnit(c, { ...actor, requestId: `req-${i}` }, async (tx) => {
            await tx
              .insertInto('objects')
              .values(objectRow(key, randomUUID().replaceAll('-', '')))
              .execute();
            if (fate(i) === 'work-throws') {
              await c.recorder.record(tx, [change(key)], actor);
              throw new Error(`unit ${i} failed after recording`);
            }
            return { result: i, changes: [change(key)], freedBlobs: [] };
          }),
        ),
      );
      const committed = keys.filter((_, i) => fate(i) === 'ok');
      assert.deepEqual(
        outcomes.map((o) => o.status),
        keys.map((_, i) => (fate(i) === 'ok' ? 'fulfilled' : 'rejected')),
      );
      const objectKeys = await database.db.selectFrom('objects').select('key').orderBy('key').execute();
      assert.deepEqual(
        objectKeys.map((r) => r.key),
        [...committed].sort(),
      );
      const events = await database.db.selectFrom('events').select(['id', 'key', 'request_id']).execute();
      assert.deepEqual(
        events.map((e) => e.key).sort(),
        [...committed].sort(),
        'one event per committed unit',
      );
      for (const e of events)
        assert.equal(e.request_id, `req-${keys.indexOf(e.key)}`, "each event carries its own unit's actor");
      const deliveries = await database.db
        .selectFrom('deliveries')
        .select(['event_id', 'endpoint_id'])
        .execute();
      assert.equal(deliveries.length, committed.length * 3, 'three matching endpoints per img/*.jpg change');
      assert.ok(deliveries.every((d) => events.some((e) => e.id === d.event_id)));
      assert.equal(recorder.wakes, committed.length, 'only committed units wake the dispatcher');
    });

    it('a committed unit whose changes no rule matches writes no event and does not wake', async () => {
      const c = context();
      await database.db.transaction().execute(async (tx) => {
        await tx
          .insertInto('buckets')
          .values({ name: 'quiet', owner: 'alice', created_at: Date.now(), versioning: 'Unversioned' })
          .execute();
      });
      await commitUnit(c, actor, () =>
        Promise.resolve({ result: null, changes: [{ ...change('x'), bucket: 'quiet' }], freedBlobs: [] }),
      );
      await commitUnit(c, actor, () => Promise.resolve({ result: null, changes: [], freedBlobs: [] }));
      assert.equal(await count(database.db, 'events'), 0);
      assert.equal(await count(database.db, 'deliveries'), 0);
      assert.equal(recorder.wakes, 0, 'nothing queued, nothing to wake the dispatcher for');
    });
  });
}
