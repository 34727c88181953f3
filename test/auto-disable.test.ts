import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AdminClient } from '../src/cli/admin-client.ts';
import { adminClient } from './support/admin-api.ts';
import { startServer, type TestServer } from './support/test-server.ts';
import { WebhookReceiver, type ReceivedRequest } from './support/webhook-receiver.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface EndpointView {
  id: string;
  state: string;
  stateReason: string | null;
  consecutiveFailures: number;
  failingSince: string | null;
  autoDisableFailures: number;
  autoDisableAfterMs: number | null;
}
interface DeliveryView {
  id: string;
  key: string | null;
  status: string;
  attempts: number;
}

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const keyOf = (r: ReceivedRequest): string =>
  (JSON.parse(r.body) as { Records: { s3: { object: { key: string } } }[] }).Records[0]!.s3.object.key;

describe('auto-disable: failing endpoints are disabled, their deliveries held, and released on enable', () => {
  let server: TestServer;
  let s3: S3Client;
  let root: AdminClient;

  before(async () => {
    server = await startServer({ env: { BUCKETBELL_DELIVERY_POLL_INTERVAL: '50ms' } });
    s3 = server.client();
    root = adminClient(server);
  });
  after(() => server.cleanup());

  async function webhookFor(bucket: string, url: string, retry: Record<string, unknown>): Promise<string> {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const created = await root.request<{ webhook: { id: string } }>('POST', '/webhooks', {
      bucket,
      url,
      events: ['s3:ObjectCreated:*'],
      retry,
      maxInFlight: 1,
    });
    return created.webhook.id;
  }

  const endpointOf = async (id: string) =>
    (await root.request<{ endpoint: EndpointView }>('GET', `/endpoints/${id}`)).endpoint;
  const deliveriesOf = async (id: string, status?: string) =>
    (
      await root.request<{ deliveries: DeliveryView[] }>('GET', `/endpoints/${id}/deliveries`, undefined, {
        status,
        limit: '500',
      })
    ).deliveries;
  const metrics = async () => (await fetch(`${server.adminUrl}/metrics`)).text();

  it('disables after 5 consecutive failed deliveries, holds the rest, and delivers everything after enable', async () => {
    const rx = await new WebhookReceiver().start();
    try {
      rx.defaultReply = { status: 500, body: 'down' };
      const id = await webhookFor('counted', `${rx.url}/counted`, { maxAttempts: 1 });
      const fresh = await endpointOf(id);
      assert.equal(fresh.autoDisableFailures, 5, 'SFTP To Go: five failures in a row');
      assert.equal(fresh.state, 'active');

      const keys = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7'];
      for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'counted', Key: key, Body: key }));
      const disabled = await eventually('the endpoint to be disabled', async () => {
        const e = await endpointOf(id);
        return e.state === 'disabled' ? e : undefined;
      });
      assert.equal(disabled.stateReason, '5 consecutive failed deliveries; last: HTTP 500');
      assert.equal(disabled.consecutiveFailures, 5);
      assert.ok(disabled.failingSince !== null);
      await s3.send(new PutObjectCommand({ Bucket: 'counted', Key: 'h1', Body: 'h1' }));
      await sleep(400);
      assert.deepEqual(
        rx.requests.map(keyOf),
        ['f1', 'f2', 'f3', 'f4', 'f5'],
        'nothing is sent while disabled',
      );
      const byKey = new Map((await deliveriesOf(id)).map((d) => [d.key, d.status]));
      assert.deepEqual(
        [...byKey.entries()].sort(),
        [
          ['f1', 'dead'],
          ['f2', 'dead'],
          ['f3', 'dead'],
          ['f4', 'dead'],
          ['f5', 'dead'],
          ['f6', 'held'],
          ['f7', 'held'],
          ['h1', 'held'],
        ],
        'the failed ones are dead letters, the rest held: none dropped',
      );

      assert.match(await metrics(), /^bucketbell_webhook_auto_disabled_total\{trigger="failures"\} 1$/m);
      const line = server
        .output()
        .split('\n')
        .find((l) => l.includes('auto-disabled') && l.includes(id));
      assert.ok(line !== undefined, 'a log line records it');
      const entry = JSON.parse(line) as { level: number; endpointId: string; reason: string };
      assert.equal(entry.level, 40, 'at warn level');
      assert.equal(entry.reason, disabled.stateReason);
      const webhook = await root.request<{ webhook: Record<string, unknown> }>('GET', `/webhooks/${id}`);
      assert.equal(webhook.webhook['state'], 'disabled');

      rx.defaultReply = { status: 204 };
      const enabled = await root.request<{ endpoint: EndpointView; released: number }>(
        'POST',
        `/endpoints/${id}/enable`,
      );
      assert.equal(enabled.released, 3);
      assert.equal(enabled.endpoint.state, 'active');
      assert.equal(enabled.endpoint.stateReason, null);
      assert.equal(enabled.endpoint.consecutiveFailures, 0);
      assert.equal(enabled.endpoint.failingSince, null);
      await rx.waitFor((rs) => rs.length >= 8, 10_000, 'the held deliveries');
      assert.deepEqual(
        rx.requests.slice(5).map(keyOf),
        ['f6', 'f7', 'h1'],
        'held deliveries go out in order',
      );

      // The dead letters are kept and can be replayed: nothing was lost.
      const { count } = await root.request<{ count: number }>('POST', `/endpoints/${id}/resend`, {
        status: 'dead',
      });
      assert.equal(count, 5);
      await eventually('every delivery to succeed', async () => {
        const all = await deliveriesOf(id);
        return all.length === 8 && all.every((d) => d.status === 'succeeded') ? all : undefined;
      });
      const delivered = new Set(rx.requests.filter((_r, i) => i >= 5).map(keyOf));
      assert.deepEqual([...delivered].sort(), [...keys, 'h1'].sort());
      assert.equal((await endpointOf(id)).state, 'active');
    } finally {
      await rx.stop();
    }
  });

  it('disables after failing continuously for auto_disable_after, holding the delivery that was retrying', async () => {
    const rx = await new WebhookReceiver().start();
    try {
      rx.defaultReply = { status: 503, body: 'later' };
      const id = await webhookFor('timed', `${rx.url}/timed`, {
        maxAttempts: 100,
        backoffInitial: '100ms',
        backoffMax: '100ms',
      });
      const patched = await root.request<{ endpoint: EndpointView }>('PATCH', `/endpoints/${id}`, {
        autoDisableFailures: 0,
        autoDisableAfter: '1s',
      });
      assert.equal(patched.endpoint.autoDisableAfterMs, 1000);
      assert.equal(patched.endpoint.autoDisableFailures, 0);
      await s3.send(new PutObjectCommand({ Bucket: 'timed', Key: 't1', Body: 't1' }));
      const disabled = await eventually('the endpoint to be disabled', async () => {
        const e = await endpointOf(id);
        return e.state === 'disabled' ? e : undefined;
      });
      assert.match(
        disabled.stateReason ?? '',
        /^failing without a success for 1s \(since \S+Z\); last: HTTP 503$/,
      );
      assert.equal(disabled.consecutiveFailures, 0, 'no delivery was dead-lettered');
      const [t1] = await deliveriesOf(id);
      assert.equal(t1?.status, 'held', 'the retrying delivery is held, not dropped');
      const tried = rx.requests.length;
      assert.ok(tried >= 5 && t1.attempts === tried, `${tried} attempts in about a second`);
      const gap = rx.requests.at(-1)!.at - rx.requests[0]!.at;
      assert.ok(gap >= 900, `disabled after failing for about a second (${gap} ms)`);
      await sleep(400);
      assert.equal(rx.requests.length, tried, 'no attempt while disabled');
      assert.match(await metrics(), /^bucketbell_webhook_auto_disabled_total\{trigger="duration"\} 1$/m);

      rx.defaultReply = { status: 200 };
      await root.request('POST', `/endpoints/${id}/enable`);
      await rx.waitFor((rs) => rs.length > tried, 5_000, 'the held delivery');
      const done = await eventually('t1 to succeed', async () => {
        const [d] = await deliveriesOf(id);
        return d?.status === 'succeeded' ? d : undefined;
      });
      assert.equal(done.attempts, tried + 1, 'one more attempt of the same delivery');
      assert.equal(rx.requests.at(-1)!.headers['x-bucketbell-attempt'], String(tried + 1));
      assert.equal((await endpointOf(id)).failingSince, null);
    } finally {
      await rx.stop();
    }
  });
});
