// Several instances on one PostgreSQL database: a change committed by one wakes the dispatcher of
// another at once (LISTEN/NOTIFY), not at its next poll. The "other instance" here is the test
// process itself, committing through the same mutations layer and outbox a server uses, while the
// real server under test polls only once an hour: only the wake signal can make it deliver soon.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../src/db/database.ts';
import { wakeChannelName } from '../src/db/wake-channel.ts';
import { commitUnit, type MutationContext } from '../src/mutations/mutation-context.ts';
import type { ObjectChange } from '../src/mutations/object-change.ts';
import { OutboxRecorder } from '../src/mutations/outbox-recorder.ts';
import { createLogger } from '../src/observability/logger.ts';
import { adminClient } from './support/admin-api.ts';
import { TEST_DB } from './support/test-database.ts';
import {
  persistentStorage,
  ROOT_USER,
  startServer,
  type PersistentStorage,
  type TestServer,
} from './support/test-server.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

const skip =
  TEST_DB === 'postgres' ? false : 'one process owns an SQLite file: there is no other instance to wake';

describe('wake-ups across instances (PostgreSQL LISTEN/NOTIFY)', { skip }, () => {
  let storage: PersistentStorage;
  let server: TestServer;
  let receiver: WebhookReceiver;
  let other: Database;
  let otherInstance: MutationContext;

  before(async () => {
    storage = await persistentStorage();
    receiver = await new WebhookReceiver().start();
    server = await startServer({
      dataDir: storage.dataDir,
      databaseUrl: storage.databaseUrl,
      env: { BUCKETBELL_DELIVERY_POLL_INTERVAL: '1h' },
    });
    await server.client().send(new CreateBucketCommand({ Bucket: 'shared' }));
    await adminClient(server).request('POST', '/webhooks', {
      bucket: 'shared',
      url: `${receiver.url}/hook`,
      events: ['s3:ObjectCreated:*'],
    });
    other = await openDatabase(storage.databaseUrl!, createLogger('silent', false));
    otherInstance = {
      database: other,
      blobs: undefined as never, // these changes free no blobs
      recorder: new OutboxRecorder({ now: Date.now, wake: () => undefined }),
      logger: createLogger('silent', false),
      now: Date.now,
    };
  });
  after(async () => {
    await other.close();
    await server.cleanup();
    await storage.remove();
    await receiver.stop();
  });

  const change = (key: string): ObjectChange => ({
    eventName: 's3:ObjectCreated:Put',
    bucket: 'shared',
    bucketOwner: ROOT_USER,
    key,
    versionId: null,
    size: 1,
    etag: 'c4ca4238a0b923820dcc509a6f75849b',
    contentType: 'text/plain',
    userMetadata: {},
    time: Date.now(),
  });
  const actor = { principal: ROOT_USER, sourceIp: '127.0.0.1', requestId: 'other-instance' };
  const delivered = (key: string) => receiver.eventRequests().some((r) => r.body.includes(`"key":"${key}"`));

  it("delivers at once a change committed by another instance, woken by the commit's signal", async () => {
    await commitUnit(otherInstance, actor, () =>
      Promise.resolve({ result: undefined, changes: [change('from-the-other-instance')], freedBlobs: [] }),
    );
    // The server polls once an hour: only the NOTIFY sent with the commit can wake it this soon.
    await receiver.waitFor(() => delivered('from-the-other-instance'), 15_000, "the other instance's event");
  });

  it('hears nothing from a transaction that rolls back', async () => {
    await assert.rejects(
      commitUnit(otherInstance, actor, async (tx) => {
        await other.wake.signal(tx);
        throw new Error('the change fails');
      }),
      /the change fails/,
    );
    // A due delivery written without a signal waits for the hourly poll ...
    const before = receiver.eventRequests().length;
    await other.db.transaction().execute(async (tx) => {
      await new OutboxRecorder({ now: Date.now, wake: () => undefined }).record(
        tx,
        [change('unsignalled')],
        actor,
      );
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(
      receiver.eventRequests().length,
      before,
      'nothing was woken by the rollback or without a signal',
    );
    // ... until the next signal, which wakes the dispatcher to claim every due delivery.
    await commitUnit(otherInstance, actor, () =>
      Promise.resolve({ result: undefined, changes: [change('signalled')], freedBlobs: [] }),
    );
    await receiver.waitFor(() => delivered('signalled') && delivered('unsignalled'), 15_000, 'both events');
  });

  it('listens again after its LISTEN connection is cut, and catches up on what it missed', async () => {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(other.db);
    const channel = wakeChannelName(rows[0]!.schema);
    const cut = await sql<{ pid: number }>`
      select pg_terminate_backend(pid) as pid from pg_stat_activity
      where query = ${`LISTEN "${channel}"`}`.execute(other.db);
    assert.equal(cut.rows.length, 1, "the server's LISTEN connection was found and cut");
    await commitUnit(otherInstance, actor, () =>
      Promise.resolve({ result: undefined, changes: [change('after-the-cut')], freedBlobs: [] }),
    );
    await receiver.waitFor(() => delivered('after-the-cut'), 15_000, 'the event committed after the cut');
    assert.match(server.output(), /the LISTEN connection for delivery wake-ups failed/);
    // /healthz shows the listener back, and that it had to reconnect.
    const health = (await (await fetch(`${server.adminUrl}/healthz`)).json()) as {
      workers: { name: string; state?: string; reconnects?: number; lastError?: unknown }[];
    };
    const listener = health.workers.find((w) => w.name === 'wake-listener');
    assert.equal(listener?.state, 'listening');
    assert.equal(listener.reconnects, 1);
    assert.ok(listener.lastError !== null, 'the failure is recorded');
  });
});
