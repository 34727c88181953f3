// The dispatcher against a real database (SQLite, and PostgreSQL when reachable) and real HTTP receivers.
import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Insertable } from 'kysely';
import { dialectsUnderTest } from '../../test/support/test-database.ts';
import type { Database } from '../db/database.ts';
import { claimDueDeliveries } from '../db/delivery-claim.ts';
import type { DeliveriesTable, EndpointsTable } from '../db/schema.ts';
import { SecretBox } from '../db/secret-box.ts';
import { createLogger } from '../observability/logger.ts';
import { Dispatcher, type AttemptReport, type DispatcherOptions } from './dispatcher.ts';
import { renderTestEvent } from './formats/aws-s3-format.ts';
import { createAddressGuard } from './address-guard.ts';
import { HttpSender } from './http-sender.ts';
import type { SendResult } from './send-result.ts';

const logger = createLogger('silent', false);
const secretBox = new SecretBox(randomBytes(32));

// --- dialects -------------------------------------------------------------------------------------

const dialects = await dialectsUnderTest('dispatcher');

// --- receivers ------------------------------------------------------------------------------------

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly rawBody: Buffer;
  readonly at: number;
}

type Reply = { status: number; headers?: Record<string, string>; body?: string; delayMs?: number } | 'hang';

interface Receiver {
  readonly url: string;
  readonly received: Received[];
  close(): Promise<void>;
}

const receivers: Receiver[] = [];

/** A real HTTP receiver; `reply` gets each request and its 1-based number. */
async function startReceiver(reply: (req: Received, n: number) => Reply): Promise<Receiver> {
  const received: Received[] = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      const entry = {
        path: req.url ?? '',
        headers: req.headers,
        body: rawBody.toString('utf8'),
        rawBody,
        at: Date.now(),
      };
      received.push(entry);
      const answer = reply(entry, received.length);
      if (answer === 'hang') hanging.push(res);
      else
        setTimeout(
          () => res.writeHead(answer.status, answer.headers).end(answer.body ?? ''),
          answer.delayMs ?? 0,
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
  receivers.push(receiver);
  return receiver;
}

const ok = (): Reply => ({ status: 204 });

// --- rows -----------------------------------------------------------------------------------------

async function addEndpoint(
  db: Database,
  overrides: Partial<Insertable<EndpointsTable>> = {},
): Promise<string> {
  const now = Date.now();
  const id = overrides.id ?? randomUUID();
  await db.db
    .insertInto('endpoints')
    .values({
      id,
      name: `ep-${id.slice(0, 8)}`,
      url: 'http://127.0.0.1:9/unused',
      kind: 'webhook',
      format: 'aws',
      owner: 'root',
      bucket: null,
      origin: 'api',
      secret_ciphertext: null,
      previous_secret_ciphertext: null,
      previous_secret_until: null,
      signature_header: 'X-Hub-Signature-256',
      authorization_ciphertext: null,
      headers: '{}',
      timeout_ms: 2000,
      max_attempts: 5,
      backoff_initial_ms: 50,
      backoff_max_ms: 400,
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
    })
    .execute();
  return id;
}

async function addEvent(db: Database, key = 'photos/red flower.jpg'): Promise<number> {
  const row = await db.db
    .insertInto('events')
    .values({
      event_name: 's3:ObjectCreated:Put',
      bucket: 'photos',
      bucket_owner: 'root',
      key,
      version_id: null,
      size: 1024,
      etag: 'd41d8cd98f00b204e9800998ecf8427e',
      content_type: 'image/jpeg',
      user_metadata: '{}',
      time: Date.now(),
      principal: 'root',
      source_ip: '127.0.0.1',
      request_id: 'req-1',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function addDelivery(
  db: Database,
  endpointId: string,
  eventId: number | null,
  overrides: Partial<Insertable<DeliveriesTable>> = {},
): Promise<string> {
  const now = Date.now();
  const id = overrides.id ?? randomUUID();
  await db.db
    .insertInto('deliveries')
    .values({
      id,
      endpoint_id: endpointId,
      event_id: eventId,
      rule_id: 'rule-1',
      kind: eventId === null ? 'test' : 'event',
      test_body: null,
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      lease_owner: null,
      lease_until: null,
      last_status_code: null,
      last_error: null,
      last_duration_ms: null,
      created_at: now,
      updated_at: now,
      finished_at: null,
      ...overrides,
    })
    .execute();
  return id;
}

function delivery(db: Database, id: string) {
  return db.db.selectFrom('deliveries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

function attemptsOf(db: Database, id: string) {
  return db.db
    .selectFrom('delivery_attempts')
    .selectAll()
    .where('delivery_id', '=', id)
    .orderBy('attempt')
    .execute();
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function waitForStatus(db: Database, id: string, status: DeliveriesTable['status'], timeoutMs = 5000) {
  return waitFor(
    `delivery ${id} to be ${status}`,
    async () => {
      const row = await delivery(db, id);
      return row.status === status ? row : undefined;
    },
    timeoutMs,
  );
}

// --- the suite, once per dialect ------------------------------------------------------------------

for (const dialect of dialects) {
  describe(`Dispatcher on ${dialect.name}`, () => {
    let db: Database;
    let cleanup: (() => Promise<void>) | undefined;
    const dispatchers: Dispatcher[] = [];

    function dispatcher(options: Partial<DispatcherOptions> = {}): Dispatcher {
      const d = new Dispatcher({
        database: db,
        secretBox,
        logger,
        version: '9.9.9-test',
        payloadSettings: { region: 'us-east-1', eventSource: 'bucketbell:s3' },
        pollIntervalMs: 20,
        random: () => 0.5,
        ...options,
      });
      dispatchers.push(d);
      d.start();
      return d;
    }

    before(async () => {
      ({ database: db, cleanup } = await dialect.open());
    });

    afterEach(async () => {
      for (const d of dispatchers.splice(0)) await d.stop({ graceMs: 0 });
      for (const r of receivers.splice(0)) await r.close();
      await db.db.deleteFrom('delivery_attempts').execute();
      await db.db.deleteFrom('deliveries').execute();
      await db.db.deleteFrom('events').execute();
      await db.db.deleteFrom('endpoints').execute();
    });

    after(async () => {
      await cleanup?.();
    });

    it('delivers within milliseconds of wake(), signed, with its headers, and records the attempt', async () => {
      const receiver = await startReceiver(ok);
      const secret = 'whsec_test-secret';
      const endpointId = await addEndpoint(db, {
        url: receiver.url,
        secret_ciphertext: secretBox.seal(secret),
        signature_header: 'X-Alarik-Signature-256',
        authorization_ciphertext: secretBox.seal('Bearer s3cr3t-token'),
        headers: JSON.stringify({ 'X-Custom': 'hello', 'X-Api-Key': 'k-123', 'Content-Type': 'text/evil' }),
        consecutive_failures: 3,
      });
      const d = dispatcher({ pollIntervalMs: 60_000 });
      await new Promise((r) => setTimeout(r, 30)); // the first (empty) claim is over; only wake() can find the row
      const eventId = await addEvent(db);
      const id = await addDelivery(db, endpointId, eventId);
      const woken = Date.now();
      d.wake();
      const got = await waitFor('the POST', () => receiver.received[0]);
      assert.ok(got.at - woken < 250, `delivered ${got.at - woken} ms after wake`);

      // Alarik's recipe: hmac.new(secret.encode(), body, hashlib.sha256).hexdigest() on the raw body.
      const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(got.rawBody).digest('hex');
      assert.equal(got.headers['x-alarik-signature-256'], `sha256=${expected}`);
      assert.equal(got.headers['content-type'], 'application/json');
      assert.equal(got.headers['user-agent'], 'bucketbell/9.9.9-test');
      assert.equal(got.headers['x-bucketbell-delivery'], id);
      assert.equal(got.headers['x-bucketbell-event'], 's3:ObjectCreated:Put');
      assert.equal(got.headers['x-bucketbell-attempt'], '1');
      assert.equal(got.headers['authorization'], 'Bearer s3cr3t-token');
      assert.equal(got.headers['x-custom'], 'hello');
      const payload = JSON.parse(got.body) as {
        Records: { eventName: string; s3: { object: { key: string; sequencer: string } } }[];
      };
      assert.equal(payload.Records[0]?.eventName, 'ObjectCreated:Put');
      assert.equal(payload.Records[0]?.s3.object.key, 'photos/red+flower.jpg');

      const row = await waitForStatus(db, id, 'succeeded');
      assert.equal(row.attempts, 1);
      assert.equal(row.last_status_code, 204);
      assert.equal(row.lease_owner, null);
      assert.ok(row.finished_at !== null);
      const [attempt, ...more] = await attemptsOf(db, id);
      assert.equal(more.length, 0);
      assert.equal(attempt?.status_code, 204);
      assert.equal(attempt.error_code, null);
      assert.equal(attempt.request_body, got.body);
      const logged = JSON.parse(attempt.request_headers) as Record<string, string>;
      assert.equal(logged['Authorization'], '***');
      assert.equal(logged['X-Api-Key'], '***');
      // Extra headers are stored sealed, so the attempt log never holds their values in clear either.
      assert.equal(logged['X-Custom'], '***');
      assert.equal(logged['X-Alarik-Signature-256'], `sha256=${expected}`);
      assert.ok(!attempt.request_headers.includes('s3cr3t'));
      const endpoint = await db.db
        .selectFrom('endpoints')
        .selectAll()
        .where('id', '=', endpointId)
        .executeTakeFirstOrThrow();
      assert.equal(endpoint.consecutive_failures, 0);
      // The in-memory report follows once the commit is on disk, a moment after others can read it.
      await waitFor('the success to be counted', () => d.status().totals.succeeded === 1 || undefined);
      assert.ok(d.status().lastSuccessAt !== null);
    });

    it('sends a test delivery’s body verbatim', async () => {
      const receiver = await startReceiver(ok);
      const endpointId = await addEndpoint(db, { url: receiver.url });
      const body = renderTestEvent('photos', 'req-test', Date.now());
      const id = await addDelivery(db, endpointId, null, { kind: 'test', test_body: body });
      dispatcher();
      await waitForStatus(db, id, 'succeeded');
      assert.equal(receiver.received[0]?.body, body);
      assert.equal(receiver.received[0]?.headers['x-bucketbell-event'], 's3:TestEvent');
    });

    it('retries a failing receiver with a stable delivery id until it succeeds', async () => {
      const receiver = await startReceiver((_req, n) =>
        n <= 2 ? { status: 500, body: `failure ${n}` } : { status: 200 },
      );
      const endpointId = await addEndpoint(db, { url: receiver.url });
      const id = await addDelivery(db, endpointId, await addEvent(db));
      const reports: AttemptReport[] = [];
      dispatcher({ onAttempt: (r) => reports.push(r) });
      const row = await waitForStatus(db, id, 'succeeded');
      assert.equal(row.attempts, 3);
      assert.deepEqual(
        receiver.received.map((r) => r.headers['x-bucketbell-delivery']),
        [id, id, id],
      );
      assert.deepEqual(
        receiver.received.map((r) => r.headers['x-bucketbell-attempt']),
        ['1', '2', '3'],
      );
      assert.equal(new Set(receiver.received.map((r) => r.body)).size, 1, 'the same body every time');
      const attempts = await attemptsOf(db, id);
      assert.deepEqual(
        attempts.map((a) => [a.attempt, a.status_code, a.error_code, a.response_body]),
        [
          [1, 500, 'HTTP_STATUS', 'failure 1'],
          [2, 500, 'HTTP_STATUS', 'failure 2'],
          [3, 200, null, ''],
        ],
      );
      await waitFor('three reports', () => reports.length === 3 || undefined);
      assert.deepEqual(
        reports.map((r) => r.outcome),
        ['retrying', 'retrying', 'succeeded'],
      );
      // Backoff: 50 ms, then 100 ms (random 0.5 = no jitter), at least.
      const gaps = receiver.received.slice(1).map((r, i) => r.at - receiver.received[i]!.at);
      assert.ok(gaps[0]! >= 45 && gaps[1]! >= 95, `gaps ${gaps.join(', ')}`);
      const endpoint = await db.db
        .selectFrom('endpoints')
        .selectAll()
        .where('id', '=', endpointId)
        .executeTakeFirstOrThrow();
      assert.equal(endpoint.consecutive_failures, 0);
    });

    it('dead-letters after max_attempts and counts consecutive failures', async () => {
      const receiver = await startReceiver(() => ({ status: 500 }));
      const endpointId = await addEndpoint(db, { url: receiver.url, max_attempts: 3 });
      const id = await addDelivery(db, endpointId, await addEvent(db));
      const d = dispatcher();
      const row = await waitForStatus(db, id, 'dead');
      assert.equal(row.attempts, 3);
      assert.equal(row.last_status_code, 500);
      assert.match(row.last_error ?? '', /^HTTP_STATUS/);
      assert.ok(row.finished_at !== null);
      assert.equal((await attemptsOf(db, id)).length, 3);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(receiver.received.length, 3, 'no attempt after the dead letter');
      const endpoint = await db.db
        .selectFrom('endpoints')
        .selectAll()
        .where('id', '=', endpointId)
        .executeTakeFirstOrThrow();
      // Counts failed deliveries (dead letters), not attempts: 3 failed attempts are 1 failed delivery.
      assert.equal(endpoint.consecutive_failures, 1);
      assert.ok(endpoint.failing_since !== null, 'the run of failures has a start');
      assert.equal(d.status().totals.dead, 1);
      assert.equal(d.status().lastFailure?.deliveryId, id);
    });

    it('records a timeout as TIMEOUT', async () => {
      const receiver = await startReceiver(() => 'hang');
      const endpointId = await addEndpoint(db, { url: receiver.url, timeout_ms: 150, max_attempts: 1 });
      const id = await addDelivery(db, endpointId, await addEvent(db));
      dispatcher();
      await waitForStatus(db, id, 'dead');
      const [attempt] = await attemptsOf(db, id);
      assert.equal(attempt?.error_code, 'TIMEOUT');
      assert.equal(attempt.status_code, null);
      assert.ok(attempt.duration_ms >= 140, String(attempt.duration_ms));
    });

    it('records a refused connection as CONNECTION_ERROR', async () => {
      const receiver = await startReceiver(ok);
      await receiver.close();
      const endpointId = await addEndpoint(db, { url: receiver.url, max_attempts: 1 });
      const id = await addDelivery(db, endpointId, await addEvent(db));
      dispatcher();
      await waitForStatus(db, id, 'dead');
      const [attempt] = await attemptsOf(db, id);
      assert.equal(attempt?.error_code, 'CONNECTION_ERROR');
    });

    it('does not follow a redirect, and counts it as a failure', async () => {
      const receiver = await startReceiver((req) =>
        req.path === '/hook' ? { status: 302, headers: { location: '/landing' } } : { status: 200 },
      );
      const endpointId = await addEndpoint(db, {
        url: receiver.url,
        backoff_initial_ms: 60_000,
        backoff_max_ms: 60_000,
      });
      const id = await addDelivery(db, endpointId, await addEvent(db));
      dispatcher();
      const row = await waitForStatus(db, id, 'retrying');
      assert.equal(row.last_status_code, 302);
      assert.ok(row.next_attempt_at - row.updated_at >= 59_000, 'rescheduled with backoff');
      const [attempt] = await attemptsOf(db, id);
      assert.equal(attempt?.error_code, 'HTTP_STATUS');
      assert.equal(attempt.status_code, 302);
      assert.deepEqual(
        receiver.received.map((r) => r.path),
        ['/hook'],
      );
    });

    it('sends only endpoints of enabled admins (and the YAML file) past the SSRF guard, and retries SSRF_BLOCKED', async () => {
      const receiver = await startReceiver(ok);
      const guarded = new HttpSender({ checkAddress: createAddressGuard({ allowedCidrs: [] }) });
      const trusted = new HttpSender();
      const now = Date.now();
      const users = [
        { name: 'alice', role: 'user', status: 'enabled' },
        { name: 'boss', role: 'admin', status: 'enabled' },
        { name: 'former-boss', role: 'admin', status: 'disabled' },
      ] as const;
      await db.db
        .insertInto('users')
        .values(users.map((u) => ({ ...u, is_root: 0, created_at: now })))
        .execute();
      try {
        const slow = { url: receiver.url, backoff_initial_ms: 60_000, backoff_max_ms: 60_000 };
        const endpoints = {
          user: await addEndpoint(db, { ...slow, owner: 'alice' }),
          missing: await addEndpoint(db, { ...slow, owner: 'nobody' }),
          disabledAdmin: await addEndpoint(db, { ...slow, owner: 'former-boss' }),
          admin: await addEndpoint(db, { ...slow, owner: 'boss' }),
          config: await addEndpoint(db, { ...slow, owner: 'nobody', origin: 'config' }),
        };
        const ids = Object.fromEntries(
          await Promise.all(
            Object.entries(endpoints).map(async ([k, e]) => [
              k,
              await addDelivery(db, e, await addEvent(db)),
            ]),
          ),
        ) as Record<keyof typeof endpoints, string>;
        dispatcher({ sender: guarded, trustedSender: trusted });
        for (const k of ['admin', 'config'] as const) await waitForStatus(db, ids[k], 'succeeded');
        for (const k of ['user', 'missing', 'disabledAdmin'] as const) {
          const row = await waitForStatus(db, ids[k], 'retrying');
          assert.ok(row.next_attempt_at - row.updated_at >= 59_000, 'rescheduled with backoff');
          assert.match(row.last_error ?? '', /^SSRF_BLOCKED: 127\.0\.0\.1 refused: it is a loopback address/);
          const [attempt] = await attemptsOf(db, ids[k]);
          assert.equal(attempt?.error_code, 'SSRF_BLOCKED');
          assert.equal(attempt.status_code, null);
        }
        assert.equal(receiver.received.length, 2, 'only the trusted endpoints were dialled');
      } finally {
        await guarded.destroy();
        await trusted.destroy();
        await db.db
          .deleteFrom('users')
          .where(
            'name',
            'in',
            users.map((u) => u.name),
          )
          .execute();
      }
    });

    it('honours Retry-After, clamped to the endpoint’s bounds', async () => {
      const slow = await startReceiver((_req, n) =>
        n === 1 ? { status: 503, headers: { 'retry-after': '1' } } : { status: 200 },
      );
      const capped = await startReceiver((_req, n) =>
        n === 1 ? { status: 429, headers: { 'retry-after': '3600' } } : { status: 200 },
      );
      const slowId = await addDelivery(
        db,
        await addEndpoint(db, { url: slow.url, backoff_max_ms: 5000 }),
        await addEvent(db),
      );
      const cappedId = await addDelivery(
        db,
        await addEndpoint(db, { url: capped.url, backoff_max_ms: 300 }),
        await addEvent(db),
      );
      dispatcher();
      await waitForStatus(db, cappedId, 'succeeded');
      await waitForStatus(db, slowId, 'succeeded');
      const slowGap = slow.received[1]!.at - slow.received[0]!.at;
      const cappedGap = capped.received[1]!.at - capped.received[0]!.at;
      assert.ok(slowGap >= 950 && slowGap < 2000, `Retry-After: 1 waited ${slowGap} ms`);
      assert.ok(
        cappedGap >= 250 && cappedGap < 900,
        `Retry-After: 3600 capped at 300 ms, waited ${cappedGap} ms`,
      );
    });

    it('does not let a hanging endpoint delay another endpoint', async () => {
      const hanging = await startReceiver(() => 'hang');
      const healthy = await startReceiver(ok);
      const hangingId = await addEndpoint(db, { url: hanging.url, timeout_ms: 10_000, max_in_flight: 2 });
      const healthyId = await addEndpoint(db, { url: healthy.url });
      const past = Date.now() - 60_000;
      for (let i = 0; i < 20; i++) {
        // Older than the healthy endpoint's delivery, so "oldest first" alone would starve it.
        await addDelivery(db, hangingId, await addEvent(db), {
          next_attempt_at: past + i,
          created_at: past + i,
        });
      }
      const healthyDelivery = await addDelivery(db, healthyId, await addEvent(db));
      const started = Date.now();
      const d = dispatcher({ claimBatchSize: 2 });
      await waitForStatus(db, healthyDelivery, 'succeeded');
      assert.ok(Date.now() - started < 1000, `the healthy endpoint waited ${Date.now() - started} ms`);
      await waitFor('two hanging POSTs', () => hanging.received.length >= 2);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(hanging.received.length, 2, 'the hanging endpoint never exceeds max_in_flight');
      assert.equal(d.status().inFlight, 2);
    });

    it('holds, without sending, a claimed delivery whose endpoint was paused before its turn came', async () => {
      const slow = await startReceiver(() => ({ status: 204, delayMs: 1000 }));
      const endpointId = await addEndpoint(db, { url: slow.url, max_in_flight: 1 });
      const first = await addDelivery(db, endpointId, await addEvent(db), {
        next_attempt_at: Date.now() - 10,
      });
      const second = await addDelivery(db, endpointId, await addEvent(db));
      const d = dispatcher();
      await waitFor('the first POST', () => slow.received.length >= 1);
      assert.equal((await delivery(db, second)).status, 'in_flight', 'claimed into the lane');
      assert.equal(d.status().claimed, 1);
      await db.db.updateTable('endpoints').set({ state: 'paused' }).where('id', '=', endpointId).execute();
      await waitForStatus(db, second, 'held');
      // The first POST's outcome is recorded by the next group commit, which may land after the hold.
      const finished = await waitForStatus(db, first, 'succeeded');
      assert.equal(finished.attempts, 1, 'the POST under way finished');
      assert.equal(slow.received.length, 1, 'the held delivery was never sent');
      assert.equal((await delivery(db, second)).attempts, 0);
    });

    it('stop() gives back, held, the claimed deliveries of an endpoint paused meanwhile', async () => {
      const hanging = await startReceiver(() => 'hang');
      const endpointId = await addEndpoint(db, { url: hanging.url, timeout_ms: 10_000, max_in_flight: 1 });
      const first = await addDelivery(db, endpointId, await addEvent(db), {
        next_attempt_at: Date.now() - 10,
      });
      const second = await addDelivery(db, endpointId, await addEvent(db));
      const d = dispatcher();
      await waitFor('the first POST', () => hanging.received.length >= 1);
      await db.db.updateTable('endpoints').set({ state: 'paused' }).where('id', '=', endpointId).execute();
      await d.stop({ graceMs: 0 });
      assert.equal(hanging.received.length, 1);
      const rows = [await delivery(db, first), await delivery(db, second)];
      assert.deepEqual(
        rows.map((r) => [r.status, r.attempts, r.lease_owner]),
        [
          ['held', 0, null],
          ['held', 0, null],
        ],
      );
    });

    it('stop() gives leased rows back without counting an attempt', async () => {
      const hanging = await startReceiver(() => 'hang');
      const endpointId = await addEndpoint(db, { url: hanging.url, timeout_ms: 10_000 });
      const fresh = await addDelivery(db, endpointId, await addEvent(db));
      const retried = await addDelivery(db, endpointId, await addEvent(db), {
        status: 'retrying',
        attempts: 2,
      });
      const d = dispatcher();
      await waitFor('both POSTs', () => hanging.received.length >= 2);
      assert.equal((await delivery(db, fresh)).status, 'in_flight');
      const stopping = Date.now();
      await d.stop({ graceMs: 100 });
      assert.ok(Date.now() - stopping < 1500, `stop took ${Date.now() - stopping} ms`);
      assert.equal(d.status().state, 'stopped');
      const a = await delivery(db, fresh);
      const b = await delivery(db, retried);
      assert.deepEqual([a.status, a.attempts, a.lease_owner, a.lease_until], ['pending', 0, null, null]);
      assert.deepEqual([b.status, b.attempts, b.lease_owner, b.lease_until], ['retrying', 2, null, null]);
      assert.equal((await attemptsOf(db, fresh)).length, 0);
      assert.equal((await attemptsOf(db, retried)).length, 0);
    });

    it('stop() lets a POST in flight finish within the grace period', async () => {
      let release: (() => void) | undefined;
      const gate = new Promise<void>((r) => (release = r));
      const receiver = await startReceiver(() => ({ status: 200 }));
      const endpointId = await addEndpoint(db, { url: receiver.url });
      const id = await addDelivery(db, endpointId, await addEvent(db));
      const real = new HttpSender();
      let sending = false;
      const slowSender = {
        send: async (...args: Parameters<HttpSender['send']>) => {
          sending = true;
          await gate;
          return real.send(...args);
        },
      };
      const d = dispatcher({ sender: slowSender });
      await waitFor('the POST to begin', () => sending || undefined);
      const stopped = d.stop({ graceMs: 2000 });
      setTimeout(() => release?.(), 50);
      await stopped;
      await real.destroy();
      assert.equal((await delivery(db, id)).status, 'succeeded');
    });

    it('re-claims a delivery whose owner crashed (expired lease), and leaves live leases alone', async () => {
      const receiver = await startReceiver(ok);
      const endpointId = await addEndpoint(db, { url: receiver.url });
      const now = Date.now();
      const orphan = await addDelivery(db, endpointId, await addEvent(db), {
        status: 'in_flight',
        lease_owner: 'crashed-process',
        lease_until: now - 1000,
        attempts: 1,
      });
      const alive = await addDelivery(db, endpointId, await addEvent(db), {
        status: 'in_flight',
        lease_owner: 'other-live-process',
        lease_until: now + 60_000,
      });
      dispatcher();
      const row = await waitForStatus(db, orphan, 'succeeded');
      assert.equal(row.attempts, 2);
      assert.equal(receiver.received[0]?.headers['x-bucketbell-attempt'], '2');
      await new Promise((r) => setTimeout(r, 100));
      const other = await delivery(db, alive);
      assert.deepEqual([other.status, other.lease_owner], ['in_flight', 'other-live-process']);
      assert.equal(receiver.received.length, 1);
    });

    it('does not claim deliveries of paused or disabled endpoints', async () => {
      const receiver = await startReceiver(ok);
      const paused = await addEndpoint(db, { url: receiver.url, state: 'paused' });
      const disabled = await addEndpoint(db, { url: receiver.url, state: 'disabled' });
      const a = await addDelivery(db, paused, await addEvent(db));
      const b = await addDelivery(db, disabled, await addEvent(db));
      const d = dispatcher();
      d.wake();
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(receiver.received.length, 0);
      // Not claimed: still waiting (on PostgreSQL the dispatcher also marks them held, see reconcileHolds).
      assert.ok(['pending', 'held'].includes((await delivery(db, a)).status));
      assert.ok(['pending', 'held'].includes((await delivery(db, b)).status));
      await db.db.updateTable('endpoints').set({ state: 'active' }).where('id', '=', paused).execute();
      await waitForStatus(db, a, 'succeeded');
    });

    it('a worker whose lease was taken over records nothing', async () => {
      const receiver = await startReceiver(() => ({ status: 200 }));
      const endpointId = await addEndpoint(db, { url: receiver.url });
      const id = await addDelivery(db, endpointId, await addEvent(db));
      const reports: AttemptReport[] = [];
      const stealingSender = {
        send: async (): Promise<SendResult> => {
          // Meanwhile another worker took the (expired) lease over.
          await db.db.updateTable('deliveries').set({ lease_owner: 'thief' }).where('id', '=', id).execute();
          return { statusCode: 200, durationMs: 1, responseHeaders: {}, responseBody: '' };
        },
      };
      dispatcher({ sender: stealingSender, onAttempt: (r) => reports.push(r) });
      await waitFor('the attempt', () => reports[0]);
      assert.equal(reports[0]?.outcome, 'lost');
      const row = await delivery(db, id);
      assert.deepEqual([row.status, row.lease_owner, row.attempts], ['in_flight', 'thief', 0]);
      assert.equal((await attemptsOf(db, id)).length, 0);
    });

    it('records an unknown payload format as RENDER_ERROR without sending', async () => {
      const receiver = await startReceiver(ok);
      const endpointId = await addEndpoint(db, { url: receiver.url, format: 'nope', max_attempts: 1 });
      const id = await addDelivery(db, endpointId, await addEvent(db));
      dispatcher();
      await waitForStatus(db, id, 'dead');
      const [attempt] = await attemptsOf(db, id);
      assert.equal(attempt?.error_code, 'RENDER_ERROR');
      assert.equal(receiver.received.length, 0);
    });

    it('purges finished deliveries past their retention, with their attempts and orphaned events', async () => {
      const endpointId = await addEndpoint(db);
      const now = Date.now();
      const hour = 3600_000;
      const sharedEvent = await addEvent(db);
      const lonelyEvent = await addEvent(db);
      const oldSucceeded = await addDelivery(db, endpointId, lonelyEvent, {
        status: 'succeeded',
        finished_at: now - 25 * hour,
      });
      const recentSucceeded = await addDelivery(db, endpointId, sharedEvent, {
        status: 'succeeded',
        finished_at: now - hour,
      });
      const oldDead = await addDelivery(db, endpointId, sharedEvent, {
        status: 'dead',
        finished_at: now - 8 * 24 * hour,
      });
      const recentDead = await addDelivery(db, endpointId, await addEvent(db), {
        status: 'dead',
        finished_at: now - 24 * hour,
      });
      for (const id of [oldSucceeded, recentSucceeded, oldDead, recentDead]) {
        await db.db
          .insertInto('delivery_attempts')
          .values({
            delivery_id: id,
            attempt: 1,
            started_at: now,
            duration_ms: 1,
            request_headers: '{}',
            request_body: '{}',
            status_code: 200,
            response_headers: null,
            response_body: null,
            error_code: null,
            error: null,
          })
          .execute();
      }
      const d = dispatcher({ pollIntervalMs: 60_000 });
      const counts = await d.purge();
      assert.deepEqual(counts, { deliveries: 2, attempts: 2, events: 1 });
      const left = await db.db.selectFrom('deliveries').select('id').orderBy('id').execute();
      assert.deepEqual(left.map((r) => r.id).sort(), [recentSucceeded, recentDead].sort());
      const events = await db.db.selectFrom('events').select('id').execute();
      assert.ok(
        events.some((e) => e.id === sharedEvent),
        'an event still referenced stays',
      );
      assert.ok(!events.some((e) => e.id === lonelyEvent), 'an event no longer referenced goes');
      assert.equal((await db.db.selectFrom('delivery_attempts').select('delivery_id').execute()).length, 2);
      assert.equal(d.status().lastPurge?.deliveries, 2);
    });

    it('the purge timer runs by itself', async () => {
      const endpointId = await addEndpoint(db);
      const id = await addDelivery(db, endpointId, await addEvent(db), {
        status: 'succeeded',
        finished_at: Date.now() - 1000,
      });
      dispatcher({ purgeIntervalMs: 20, succeededRetentionMs: 500 });
      await waitFor('the purge', async () =>
        (await db.db.selectFrom('deliveries').select('id').where('id', '=', id).execute()).length === 0
          ? true
          : undefined,
      );
    });

    it('claims at most max_in_flight per endpoint, counting rows already in flight', async () => {
      const limited = await addEndpoint(db, { max_in_flight: 3 });
      for (let i = 0; i < 10; i++) await addDelivery(db, limited, null, { kind: 'test', test_body: '{}' });
      const now = Date.now();
      const first = await claimDueDeliveries(db, { now, owner: 'worker-1', leaseMs: 10_000, limit: 2 });
      const second = await claimDueDeliveries(db, { now, owner: 'worker-2', leaseMs: 10_000, limit: 64 });
      const third = await claimDueDeliveries(db, { now, owner: 'worker-3', leaseMs: 10_000, limit: 64 });
      assert.deepEqual([first.length, second.length, third.length], [2, 1, 0]);
      for (const row of [...first, ...second]) {
        assert.equal(row.status, 'in_flight');
        assert.equal(row.lease_until, now + 10_000 + 2000, 'lease = now + leaseMs + the endpoint timeout');
      }
    });

    it('with prefetch, claims max_in_flight × prefetch per endpoint, leasing each row for the POSTs queued before it', async () => {
      const limited = await addEndpoint(db, { max_in_flight: 2, timeout_ms: 1000 });
      for (let i = 0; i < 10; i++) await addDelivery(db, limited, null, { kind: 'test', test_body: '{}' });
      const now = Date.now();
      const claim = (owner: string, limit: number) =>
        claimDueDeliveries(db, { now, owner, leaseMs: 5000, limit, prefetch: 3 });
      const first = await claim('worker-1', 1);
      const second = await claim('worker-2', 64);
      assert.deepEqual([first.length, second.length, (await claim('worker-3', 64)).length], [1, 5, 0]);
      // Positions 0..5 at 2 POSTs at a time: waves 0, 0, 1, 1, 2, 2.
      assert.deepEqual(
        [...first, ...second].map((r) => (r.lease_until ?? 0) - now),
        [6000, 6000, 7000, 7000, 8000, 8000],
      );
      assert.ok(second.every((r) => r.max_in_flight === 2));
    });

    it('never claims one row twice under concurrent claims', async () => {
      const wide = await addEndpoint(db, { max_in_flight: 1000 });
      for (let i = 0; i < 60; i++) await addDelivery(db, wide, null, { kind: 'test', test_body: '{}' });
      const now = Date.now();
      const claims = await Promise.all(
        [1, 2, 3, 4].map((n) =>
          claimDueDeliveries(db, { now, owner: `worker-${n}`, leaseMs: 10_000, limit: 25 }),
        ),
      );
      const ids = claims.flat().map((r) => r.id);
      assert.equal(new Set(ids).size, ids.length, 'no row claimed twice');
      const rest = await claimDueDeliveries(db, { now, owner: 'worker-5', leaseMs: 10_000, limit: 100 });
      assert.equal(ids.length + rest.length, 60, 'every row claimed exactly once');
    });

    it('reports its status', async () => {
      const d = dispatcher();
      await addDelivery(db, await addEndpoint(db, { state: 'paused' }), null, {
        kind: 'test',
        test_body: '{}',
        status: 'held',
      });
      await new Promise((r) => setTimeout(r, 60));
      const status = d.status();
      assert.equal(status.name, 'delivery-dispatcher');
      assert.equal(status.state, 'running');
      assert.equal(status.held, 1);
      assert.equal(status.inFlight, 0);
      assert.equal(status.lastError, null);
    });
  });
}
