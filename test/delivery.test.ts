import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { queryServerDb } from './support/inspect-db.ts';
import { startServer, type TestServer } from './support/test-server.ts';
import { WebhookReceiver, type ReceivedRequest } from './support/webhook-receiver.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function keyOf(request: ReceivedRequest): string {
  return (JSON.parse(request.body) as { Records: { s3: { object: { key: string } } }[] }).Records[0]!.s3
    .object.key;
}

/**
 * A receiver that holds every POST unanswered until `release` (or, as a safety net, 15 s): an
 * endpoint that hangs for exactly as long as the test needs, with no clock to race.
 */
class HoldingReceiver {
  readonly #server: Server;
  readonly #held: ServerResponse[] = [];
  #released = false;
  received = 0;
  answered = 0;
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        this.received += 1;
        if (this.#released) this.#answer(res);
        else {
          this.#held.push(res);
          setTimeout(() => {
            this.#answer(res);
          }, 15_000).unref();
        }
      });
    });
  }

  async start(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  /** Answers every held POST, and every later one at once. */
  release(): void {
    this.#released = true;
    for (const res of this.#held.splice(0)) this.#answer(res);
  }

  async waitForHeld(n: number): Promise<void> {
    await this.#until(() => this.#held.length >= n, `${n} held POST(s)`);
  }

  async waitForReceived(n: number): Promise<void> {
    await this.#until(() => this.received >= n, `${n} POST(s)`);
  }

  async stop(): Promise<void> {
    this.release();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.#server.close(() => {
        resolve();
      }),
    );
  }

  #answer(res: ServerResponse): void {
    if (res.headersSent || res.destroyed) return;
    this.answered += 1;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  }

  async #until(predicate: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!predicate()) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${what}; received ${this.received}`);
      await sleep(50);
    }
  }
}

describe('delivery: retries, timeouts, dead letters, isolation, purge', () => {
  let server: TestServer;
  let s3: S3Client;
  let flaky: WebhookReceiver;
  let fast: WebhookReceiver;
  let hanging: HoldingReceiver;
  let counter = 0;

  before(async () => {
    flaky = await new WebhookReceiver().start();
    fast = await new WebhookReceiver().start();
    hanging = await new HoldingReceiver().start();
    const dir = await mkdtemp(path.join(tmpdir(), 'bucketbell-config-'));
    const configFile = path.join(dir, 'bucketbell.yaml');
    await writeFile(
      configFile,
      [
        'endpoints:',
        '  - name: flaky',
        `    url: ${flaky.url}/flaky`,
        '    timeout: 300ms',
        '    max_retries: 3',
        '    backoff_initial: 150ms',
        '    backoff_max: 400ms',
        '  - name: fast',
        `    url: ${fast.url}/fast`,
        '  - name: hanging',
        `    url: ${hanging.url}/hanging`,
        '    timeout: 20s',
        '    max_in_flight: 2',
      ].join('\n'),
    );
    server = await startServer({
      args: ['--config', configFile],
      env: {
        BUCKETBELL_DELIVERY_POLL_INTERVAL: '50ms',
        BUCKETBELL_DELIVERY_RETENTION: '3s',
        BUCKETBELL_DEAD_LETTER_RETENTION: '6s',
      },
    });
    s3 = server.client();
  });
  after(async () => {
    await server.cleanup();
    await flaky.stop();
    await fast.stop();
    await hanging.stop();
  });
  beforeEach(() => {
    for (const r of [flaky, fast]) {
      r.requests.length = 0;
      r.script.length = 0;
      r.defaultReply = { status: 200, body: 'ok' };
    }
  });

  async function bucketFor(...endpoints: string[]): Promise<string> {
    counter += 1;
    const bucket = `delivery-${counter}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        SkipDestinationValidation: true,
        NotificationConfiguration: {
          QueueConfigurations: endpoints.map((name) => ({
            Id: name,
            QueueArn: `arn:bucketbell:webhook::${name}`,
            Events: ['s3:ObjectCreated:*'],
          })),
        },
      }),
    );
    return bucket;
  }

  async function deliveryRows(key: string): Promise<Record<string, unknown>[]> {
    return queryServerDb(
      server,
      `select d.id, d.status, d.attempts, d.last_status_code, d.endpoint_id from deliveries d join events e on e.id = d.event_id where e.key = $1`,
      [key],
    );
  }

  it('retries a failing receiver with backoff, keeping one delivery id, until it succeeds', async () => {
    const bucket = await bucketFor('flaky');
    flaky.script.push({ status: 500 }, { status: 503 });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'retry-me', Body: 'x' }));
    await flaky.waitFor((rs) => rs.length >= 3, 10_000, 'three attempts');
    await sleep(300);
    const attempts = flaky.requests;
    assert.equal(attempts.length, 3);
    const ids = new Set(attempts.map((r) => r.headers['x-bucketbell-delivery']));
    assert.equal(ids.size, 1, 'the delivery id stays the same across retries');
    assert.deepEqual(
      attempts.map((r) => r.headers['x-bucketbell-attempt']),
      ['1', '2', '3'],
    );
    for (let i = 1; i < attempts.length; i += 1) {
      const gap = attempts[i]!.at - attempts[i - 1]!.at;
      assert.ok(gap >= 100, `attempt ${i + 1} waited for the backoff (${gap} ms)`);
    }
    assert.deepEqual(attempts.map(keyOf), ['retry-me', 'retry-me', 'retry-me']);
    const [row] = await deliveryRows('retry-me');
    assert.equal(row?.['status'], 'succeeded');
    assert.equal(Number(row?.['attempts']), 3);
  });

  it('treats timeouts, redirects and 4xx as failures, then dead-letters after the last attempt', async () => {
    const bucket = await bucketFor('flaky');
    flaky.script.push(
      { status: 200, delayMs: 1000 },
      { status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } },
      { status: 404 },
      { status: 400 },
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'doomed', Body: 'x' }));
    await flaky.waitFor((rs) => rs.length >= 4, 10_000, 'four attempts');
    await sleep(800);
    assert.equal(flaky.requests.length, 4, 'max_retries 3 means 4 attempts, then no more');
    const [row] = await deliveryRows('doomed');
    assert.equal(row?.['status'], 'dead');
    assert.equal(Number(row?.['attempts']), 4);
    const attempts = await queryServerDb(
      server,
      'select attempt, status_code, error_code from delivery_attempts where delivery_id = $1 order by attempt',
      [String(row?.['id'])],
    );
    assert.deepEqual(
      attempts.map((a) => [
        Number(a['attempt']),
        a['status_code'] === null ? null : Number(a['status_code']),
        a['error_code'],
      ]),
      [
        [1, null, 'TIMEOUT'],
        [2, 302, 'HTTP_STATUS'],
        [3, 404, 'HTTP_STATUS'],
        [4, 400, 'HTTP_STATUS'],
      ],
    );
  });

  it('honours Retry-After within the endpoint bounds', async () => {
    const bucket = await bucketFor('flaky');
    flaky.script.push({ status: 429, headers: { 'retry-after': '3600' } });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'throttled', Body: 'x' }));
    await flaky.waitFor((rs) => rs.length >= 2, 10_000, 'a retry after 429');
    const gap = flaky.requests[1]!.at - flaky.requests[0]!.at;
    assert.ok(gap >= 300, `waited at least close to the 400 ms cap (${gap} ms)`);
    assert.ok(gap < 3000, `did not wait the full hour (${gap} ms)`);
  });

  it('never lets a hanging endpoint delay another endpoint', async () => {
    const bucket = await bucketFor('hanging', 'fast');
    try {
      // First the hanging endpoint gets stuck: its receiver holds every POST it is sent.
      for (let i = 0; i < 3; i += 1)
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `stuck-${i}`, Body: 'x' }));
      await hanging.waitForHeld(1);
      // Then more events: every one reaches the fast endpoint while the hanging one still holds its POSTs.
      const keys = ['stuck-0', 'stuck-1', 'stuck-2'];
      for (let i = 0; i < 6; i += 1) {
        keys.push(`iso-${i}`);
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `iso-${i}`, Body: 'x' }));
      }
      await fast.waitFor((rs) => rs.length >= keys.length, 30_000, 'every delivery to the fast endpoint');
      assert.deepEqual(fast.requests.map(keyOf).sort(), [...keys].sort());
      const toHanging = await queryServerDb(
        server,
        `select e.key, d.status from deliveries d join events e on e.id = d.event_id
          where d.endpoint_id = 'hanging' and e.bucket = $1`,
        [bucket],
      );
      assert.equal(toHanging.length, keys.length, 'one delivery per event to the hanging endpoint');
      for (const row of toHanging)
        assert.ok(
          row['status'] === 'in_flight' || row['status'] === 'pending',
          `${String(row['key'])} to the hanging endpoint is still unsettled (${String(row['status'])})`,
        );
      assert.ok(
        toHanging.some((row) => row['status'] === 'in_flight'),
        'the hanging endpoint had POSTs under way',
      );
      assert.equal(hanging.answered, 0, 'the hanging receiver had answered nothing yet');
      assert.equal(hanging.received, 2, "never more POSTs at once than the endpoint's max_in_flight (2)");
    } finally {
      hanging.release();
    }
    // Once it answers, its deliveries go through too: nothing was lost or dead-lettered.
    await hanging.waitForReceived(9);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const rows = await queryServerDb(
        server,
        `select d.status from deliveries d join events e on e.id = d.event_id
          where d.endpoint_id = 'hanging' and e.bucket = $1`,
        [bucket],
      );
      if (rows.length === 9 && rows.every((r) => r['status'] === 'succeeded')) break;
      assert.ok(Date.now() < deadline, `hanging deliveries settle: ${JSON.stringify(rows)}`);
      await sleep(200);
    }
  });

  it('purges succeeded deliveries after their retention', async () => {
    const bucket = await bucketFor('fast');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'purge-me', Body: 'x' }));
    await fast.waitFor((rs) => rs.some((r) => r.body.includes('purge-me')));
    await sleep(200);
    assert.equal((await deliveryRows('purge-me'))[0]?.['status'], 'succeeded');
    const deadline = Date.now() + 10_000;
    while ((await deliveryRows('purge-me')).length > 0) {
      assert.ok(Date.now() < deadline, 'purged within the retention (3 s) plus the purge interval');
      await sleep(250);
    }
    const events = await queryServerDb(server, 'select id from events where key = $1', ['purge-me']);
    assert.equal(events.length, 0, 'the event row goes with its last delivery');
  });
});
