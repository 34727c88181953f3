// SIGTERM while deliveries are under way: the server stops taking requests, lets the POST in
// flight finish and records it, gives back the deliveries it had claimed but not sent, and exits 0.
// After a restart those are delivered, and nothing is sent twice.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { adminClient } from './support/admin-api.ts';
import { queryServerDb } from './support/inspect-db.ts';
import {
  persistentStorage,
  startServer,
  type PersistentStorage,
  type TestServer,
} from './support/test-server.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

function keyOf(body: string): string {
  return (JSON.parse(body) as { Records: { s3: { object: { key: string } } }[] }).Records[0]!.s3.object.key;
}

describe('graceful shutdown (SIGTERM) with deliveries under way', () => {
  let storage: PersistentStorage;
  let receiver: WebhookReceiver;
  let server: TestServer;

  before(async () => {
    storage = await persistentStorage();
    receiver = await new WebhookReceiver().start();
  });
  after(async () => {
    await server.cleanup();
    await storage.remove();
    await receiver.stop();
  });

  it('finishes the POST in flight, releases the claimed ones, exits 0, and delivers the rest after a restart', async () => {
    const start = () => startServer({ dataDir: storage.dataDir, databaseUrl: storage.databaseUrl });
    server = await start();
    await server.client().send(new CreateBucketCommand({ Bucket: 'shutdown' }));
    const { webhook } = await adminClient(server).request<{ webhook: { id: string } }>('POST', '/webhooks', {
      bucket: 'shutdown',
      url: `${receiver.url}/hook`,
      events: ['s3:ObjectCreated:*'],
      maxInFlight: 1,
    });
    // The first POST takes 1.5 s; the other events wait in the endpoint's lane behind it.
    receiver.script.push({ status: 200, delayMs: 1500 });
    for (const key of ['first', 'second', 'third'])
      await server.client().send(new PutObjectCommand({ Bucket: 'shutdown', Key: key, Body: key }));
    await receiver.waitFor((rs) => rs.length >= 1, 10_000, 'the first POST');
    assert.equal(keyOf(receiver.requests[0]!.body), 'first');

    const exited = new Promise<number | null>((resolve) => {
      server.child.once('exit', (code) => {
        resolve(code);
      });
    });
    server.child.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, server.output());
    assert.equal(receiver.requests.length, 1, 'nothing new was sent after SIGTERM');
    const rows = await queryServerDb(
      server,
      `select e.key, d.status, d.attempts, d.lease_owner from deliveries d join events e on e.id = d.event_id
       where d.endpoint_id = $1 order by e.key`,
      [webhook.id],
    );
    assert.deepEqual(
      rows.map((r) => [r['key'], r['status'], Number(r['attempts']), r['lease_owner']]),
      [
        ['first', 'succeeded', 1, null],
        ['second', 'pending', 0, null],
        ['third', 'pending', 0, null],
      ],
      'the POST in flight was recorded; the claimed ones were given back without an attempt',
    );

    server = await start();
    await receiver.waitFor((rs) => rs.length >= 3, 15_000, 'the released deliveries');
    assert.deepEqual(receiver.requests.map((r) => keyOf(r.body)).sort(), ['first', 'second', 'third']);
  });
});
