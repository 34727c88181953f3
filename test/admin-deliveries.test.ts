import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AdminClient } from '../src/cli/admin-client.ts';
import { adminClient, createUser, type CreatedUser, expectProblem } from './support/admin-api.ts';
import { startServer, type TestServer } from './support/test-server.ts';
import { WebhookReceiver, type ReceivedRequest } from './support/webhook-receiver.ts';
import type { AttemptView, DeliveryView } from '../src/admin/delivery-views.ts';
import { rootCli } from './support/bucketbell-cli.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Page {
  deliveries: DeliveryView[];
  nextCursor: string | null;
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

describe('admin API: deliveries log and resend', () => {
  let server: TestServer;
  let s3: S3Client;
  let root: AdminClient;
  let rx: WebhookReceiver;
  let hook: string;
  let alice: CreatedUser;
  let bob: CreatedUser;
  const BUCKET = 'logged';

  async function log(
    query: Record<string, string | undefined> = {},
    id = hook,
    client = root,
  ): Promise<Page> {
    return client.request<Page>('GET', `/endpoints/${id}/deliveries`, undefined, query);
  }

  async function put(key: string, client = s3, bucket = BUCKET): Promise<void> {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));
  }

  /** The delivery of `key` once it has reached `status`. */
  async function settled(key: string, status: string, id = hook): Promise<DeliveryView> {
    return eventually(`${key} to be ${status}`, async () => {
      const found = (await log({ limit: '500' }, id)).deliveries.find((d) => d.key === key);
      return found?.status === status ? found : undefined;
    });
  }

  before(async () => {
    rx = await new WebhookReceiver().start();
    server = await startServer({
      env: { BUCKETBELL_DELIVERY_POLL_INTERVAL: '50ms', BUCKETBELL_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' },
    });
    s3 = server.client();
    root = adminClient(server);
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const created = await root.request<{ webhook: { id: string } }>('POST', '/webhooks', {
      bucket: BUCKET,
      url: `${rx.url}/log`,
      events: ['s3:ObjectCreated:*'],
      auth: { type: 'bearer', token: 's3cr3t-token' },
      headers: { 'X-Api-Key': 'k-123', 'X-Custom': 'hello' },
      retry: { maxAttempts: 2, backoffInitial: '100ms', backoffMax: '200ms' },
      timeout: '2s',
      maxInFlight: 1,
    });
    hook = created.webhook.id;
    // These tests make dead letters on purpose; auto-disable has its own test file.
    await root.request('PATCH', `/endpoints/${hook}`, { autoDisableFailures: 0 });
  });
  after(async () => {
    await server.cleanup();
    await rx.stop();
  });
  beforeEach(() => {
    rx.script.length = 0;
    rx.defaultReply = { status: 200, body: 'ok' };
  });

  it('logs every delivery newest first, with event, object, status, attempts and the last outcome', async () => {
    const ping = await root.request<{ deliveryId: string }>('POST', `/webhooks/${hook}/ping`);
    for (const key of ['k1', 'k2', 'k3']) await put(key);
    await settled('k3', 'succeeded');
    rx.defaultReply = { status: 500, body: 'broken' };
    for (const key of ['k4', 'k5']) await put(key);
    await settled('k5', 'dead');
    await settled('k4', 'dead');

    const { deliveries, nextCursor } = await log();
    assert.equal(nextCursor, null);
    assert.deepEqual(
      deliveries.map((d) => d.key ?? d.eventName),
      ['k5', 'k4', 'k3', 'k2', 'k1', 's3:TestEvent'],
    );
    const [k5, , k3] = deliveries;
    assert.equal(k3?.status, 'succeeded');
    assert.equal(k3.eventName, 's3:ObjectCreated:Put');
    assert.equal(k3.bucket, BUCKET);
    assert.equal(k3.kind, 'event');
    assert.equal(k3.endpointId, hook);
    assert.equal(k3.attempts, 1);
    assert.equal(k3.lastStatusCode, 200);
    assert.equal(typeof k3.lastDurationMs, 'number');
    assert.equal(k3.lastError, null);
    assert.equal(k3.nextAttemptAt, null);
    assert.ok(k3.finishedAt !== null && Date.parse(k3.finishedAt) >= Date.parse(k3.createdAt));
    assert.equal(k5?.status, 'dead');
    assert.equal(k5.attempts, 2);
    assert.equal(k5.lastStatusCode, 500);
    assert.match(k5.lastError ?? '', /HTTP_STATUS/);
    const test = deliveries.at(-1)!;
    assert.equal(test.id, ping.deliveryId);
    assert.equal(test.kind, 'test');
    assert.equal(test.bucket, BUCKET);
    assert.equal(test.key, null);

    const viaWebhook = await root.request<Page>('GET', `/webhooks/${hook}/deliveries`);
    assert.deepEqual(viaWebhook, { deliveries, nextCursor: null });
  });

  it('filters by status and by creation time, and pages with an opaque cursor', async () => {
    const all = (await log()).deliveries;
    assert.deepEqual(
      (await log({ status: 'dead' })).deliveries.map((d) => d.key),
      ['k5', 'k4'],
    );
    assert.deepEqual(
      (await log({ status: 'succeeded,dead' })).deliveries.map((d) => d.id),
      all.map((d) => d.id),
    );
    assert.deepEqual((await log({ status: 'held' })).deliveries, []);
    const k3 = all.find((d) => d.key === 'k3')!;
    const from = (await log({ from: k3.createdAt })).deliveries;
    assert.deepEqual(
      from.map((d) => d.id),
      all.filter((d) => d.createdAt >= k3.createdAt).map((d) => d.id),
    );
    assert.ok(from.some((d) => d.key === 'k3') && from.some((d) => d.key === 'k5'));
    const to = (await log({ to: k3.createdAt })).deliveries;
    assert.deepEqual(
      to.map((d) => d.id),
      all.filter((d) => d.createdAt < k3.createdAt).map((d) => d.id),
    );
    const day = k3.createdAt.slice(0, 10);
    assert.equal((await log({ from: day })).deliveries.length, all.length, 'a bare date is midnight UTC');
    assert.equal(
      (await log({ from: '2000-01-01T00:00:00Z', to: '2000-01-02T00:00:00+02:00' })).deliveries.length,
      0,
    );

    const paged: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await log({ limit: '2', cursor });
      assert.ok(page.deliveries.length <= 2);
      paged.push(...page.deliveries.map((d) => d.id));
      cursor = page.nextCursor ?? undefined;
      pages += 1;
    } while (cursor !== undefined);
    assert.deepEqual(
      paged,
      all.map((d) => d.id),
    );
    assert.equal(pages, 3);
    const dead = await log({ status: 'dead', limit: '1' });
    assert.equal(dead.deliveries[0]?.key, 'k5');
    const next = await log({ status: 'dead', limit: '1', cursor: dead.nextCursor ?? '' });
    assert.equal(next.deliveries[0]?.key, 'k4', 'the cursor keeps to the filter');
  });

  it('shows each attempt: request headers with secrets masked and body, response status, headers, body', async () => {
    const k1 = await settled('k1', 'succeeded');
    const { delivery, attempts } = await root.request<{ delivery: DeliveryView; attempts: AttemptView[] }>(
      'GET',
      `/deliveries/${k1.id}`,
    );
    assert.deepEqual(delivery, k1);
    assert.equal(attempts.length, 1);
    const [a] = attempts;
    assert.equal(a?.attempt, 1);
    assert.equal(a.request.headers['Authorization'], '***');
    assert.equal(a.request.headers['X-Api-Key'], '***');
    assert.equal(
      a.request.headers['X-Custom'],
      '***',
      'extra headers are stored sealed: the log keeps only their names',
    );
    assert.equal(a.request.headers['X-Bucketbell-Delivery'], k1.id);
    assert.equal(a.request.headers['X-Bucketbell-Attempt'], '1');
    assert.match(a.request.headers['X-Hub-Signature-256'] ?? '', /^sha256=[0-9a-f]{64}$/);
    assert.equal(keyOf({ body: a.request.body } as ReceivedRequest), 'k1');
    assert.equal(a.request.bodyTruncated, false);
    assert.equal(a.response?.statusCode, 200);
    assert.equal(a.response.body, 'ok');
    assert.equal(a.response.headers['content-type'], 'text/plain');
    assert.equal(a.errorCode, null);
    // The receiver got the real values; the log never shows them.
    const received = rx.requests.find((r) => r.headers['x-bucketbell-delivery'] === k1.id)!;
    assert.equal(received.headers['authorization'], 'Bearer s3cr3t-token');
    assert.equal(received.headers['x-api-key'], 'k-123');
    const text = JSON.stringify(await root.request('GET', `/deliveries/${k1.id}`));
    assert.ok(!text.includes('s3cr3t-token') && !text.includes('k-123') && !text.includes('hello'));

    const k5 = await settled('k5', 'dead');
    const dead = await root.request<{ attempts: AttemptView[] }>('GET', `/deliveries/${k5.id}`);
    assert.deepEqual(
      dead.attempts.map((x) => [x.attempt, x.response?.statusCode, x.response?.body, x.errorCode]),
      [
        [1, 500, 'broken', 'HTTP_STATUS'],
        [2, 500, 'broken', 'HTTP_STATUS'],
      ],
    );
  });

  it('resends one delivery as a new attempt of the same delivery, with a whole retry budget', async () => {
    const k4 = await settled('k4', 'dead');
    rx.script.push({ status: 503 });
    const { delivery } = await root.request<{ delivery: DeliveryView }>(
      'POST',
      `/deliveries/${k4.id}/resend`,
    );
    assert.equal(delivery.id, k4.id);
    assert.equal(delivery.status, 'pending');
    assert.ok(delivery.nextAttemptAt !== null);
    const done = await settled('k4', 'succeeded');
    assert.equal(done.attempts, 4, 'attempts 3 (503) and 4 (200): the budget of 2 started again');
    const got = rx.requests.filter((r) => r.headers['x-bucketbell-delivery'] === k4.id);
    assert.deepEqual(
      got.map((r) => r.headers['x-bucketbell-attempt']),
      ['1', '2', '3', '4'],
    );
    const { attempts } = await root.request<{ attempts: AttemptView[] }>('GET', `/deliveries/${k4.id}`);
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.response?.statusCode]),
      [
        [1, 500],
        [2, 500],
        [3, 503],
        [4, 200],
      ],
    );

    // A succeeded delivery may be replayed too.
    const k1 = await settled('k1', 'succeeded');
    await root.request('POST', `/deliveries/${k1.id}/resend`);
    await rx.waitFor((rs) =>
      rs.some(
        (r) => r.headers['x-bucketbell-delivery'] === k1.id && r.headers['x-bucketbell-attempt'] === '2',
      ),
    );
    assert.equal((await settled('k1', 'succeeded')).attempts, 2);
  });

  it('refuses to resend a delivery whose POST is under way (409)', async () => {
    rx.script.push({ status: 200, delayMs: 1500 });
    await put('slow');
    await rx.waitFor((rs) => rs.some((r) => r.body.includes('"slow"')));
    const slow = (await log()).deliveries.find((d) => d.key === 'slow')!;
    assert.equal(slow.status, 'in_flight');
    await expectProblem(root.request('POST', `/deliveries/${slow.id}/resend`), 409, 'CONFLICT');
    const done = await settled('slow', 'succeeded');
    assert.equal(done.attempts, 1);
  });

  it('replays every dead delivery of a time range once the receiver is fixed: nothing is lost', async () => {
    rx.defaultReply = { status: 500 };
    for (const key of ['d1', 'd2', 'd3']) await put(key);
    for (const key of ['d1', 'd2', 'd3']) await settled(key, 'dead');
    rx.defaultReply = { status: 200, body: 'ok' };
    const d1 = await settled('d1', 'dead');
    const before = rx.requests.length;
    const { count } = await root.request<{ count: number }>('POST', `/endpoints/${hook}/resend`, {
      status: 'dead',
      from: d1.createdAt,
    });
    assert.equal(count, 3);
    for (const key of ['d1', 'd2', 'd3']) assert.equal((await settled(key, 'succeeded')).attempts, 3);
    const replayed = rx.requests.slice(before);
    assert.deepEqual(replayed.map(keyOf), ['d1', 'd2', 'd3'], 'replayed oldest first');
    assert.ok(replayed.every((r) => r.headers['x-bucketbell-attempt'] === '3'));
    // k5 (older than the range) is still dead; without a range the rest goes too.
    assert.deepEqual(
      (await log({ status: 'dead' })).deliveries.map((d) => d.key),
      ['k5'],
    );
    // The webhook path is an alias of the endpoint path: same body, same answer.
    const rest = await root.request<{ count: number }>('POST', `/webhooks/${hook}/resend`, {});
    assert.equal(rest.count, 1, 'status defaults to dead');
    await settled('k5', 'succeeded');
    assert.deepEqual((await log({ status: 'dead' })).deliveries, []);
  });

  it('keeps deliveries to their owner: another user gets 403 and nothing changes', async () => {
    const asAlice = adminClient(server, {
      accessKeyId: alice.accessKeyId,
      secretAccessKey: alice.secretAccessKey,
    });
    const asBob = adminClient(server, { accessKeyId: bob.accessKeyId, secretAccessKey: bob.secretAccessKey });
    const aliceS3 = server.client({ accessKeyId: alice.accessKeyId, secretAccessKey: alice.secretAccessKey });
    await aliceS3.send(new CreateBucketCommand({ Bucket: 'alice-bucket' }));
    const created = await asAlice.request<{ webhook: { id: string } }>('POST', '/webhooks', {
      bucket: 'alice-bucket',
      url: `${rx.url}/alice`,
      events: ['s3:ObjectCreated:*'],
    });
    const aliceHook = created.webhook.id;
    await put('private', aliceS3, 'alice-bucket');
    const mine = await settled('private', 'succeeded', aliceHook);
    assert.equal((await log({}, aliceHook, asAlice)).deliveries.length, 1);
    assert.equal((await log({}, aliceHook, root)).deliveries.length, 1, 'an admin sees every endpoint');

    const attempts = rx.requests.length;
    await expectProblem(log({}, aliceHook, asBob), 403, 'FORBIDDEN');
    await expectProblem(asBob.request('GET', `/webhooks/${aliceHook}/deliveries`), 403, 'FORBIDDEN');
    await expectProblem(asBob.request('GET', `/endpoints/${aliceHook}`), 403, 'FORBIDDEN');
    await expectProblem(asBob.request('GET', `/deliveries/${mine.id}`), 403, 'FORBIDDEN');
    await expectProblem(asBob.request('POST', `/deliveries/${mine.id}/resend`), 403, 'FORBIDDEN');
    await expectProblem(
      asBob.request('POST', `/endpoints/${aliceHook}/resend`, { status: 'succeeded' }),
      403,
      'FORBIDDEN',
    );
    await expectProblem(
      asBob.request('POST', `/webhooks/${aliceHook}/resend`, { status: 'succeeded' }),
      403,
      'FORBIDDEN',
    );
    await expectProblem(asBob.request('POST', `/endpoints/${aliceHook}/enable`), 403, 'FORBIDDEN');
    await expectProblem(
      asBob.request('PATCH', `/endpoints/${aliceHook}`, { autoDisableFailures: 0 }),
      403,
      'FORBIDDEN',
    );
    await expectProblem(log({}, hook, asAlice), 403, 'FORBIDDEN');
    await sleep(200);
    assert.equal(rx.requests.length, attempts, 'nothing was resent');
    assert.deepEqual(await settled('private', 'succeeded', aliceHook), mine);
    const { endpoint } = await asAlice.request<{ endpoint: { autoDisableFailures: number; owner: string } }>(
      'GET',
      `/endpoints/${aliceHook}`,
    );
    assert.equal(endpoint.autoDisableFailures, 5);
    assert.equal(endpoint.owner, 'alice');
  });

  it('refuses bad input with problem+json naming the field, and changes nothing', async () => {
    const before = await log();
    const fields = async (promise: Promise<unknown>, status = 400, code = 'VALIDATION_FAILED') =>
      (await expectProblem(promise, status, code)).fields.map((f) => f.field);
    assert.ok((await fields(log({ status: 'lost' }))).some((f) => f.startsWith('query.status')));
    assert.deepEqual(await fields(log({ from: 'yesterday' })), ['query.from']);
    assert.deepEqual(await fields(log({ to: '2025-13-45T00:00:00Z' })), ['query.to']);
    assert.deepEqual(
      await fields(log({ from: '2025-01-31T12:00:00' })),
      ['query.from'],
      'a time needs a zone',
    );
    assert.deepEqual(await fields(log({ from: '2025-02-01', to: '2025-01-01' })), ['query.from']);
    assert.deepEqual(await fields(log({ limit: '501' })), ['query.limit']);
    assert.deepEqual(await fields(log({ limit: '0' })), ['query.limit']);
    assert.deepEqual(await fields(log({ limit: 'many' })), ['query.limit']);
    assert.deepEqual(await fields(log({ cursor: 'not-a-cursor' })), ['query.cursor']);
    assert.deepEqual(await fields(log({ cursor: Buffer.from('{"a":1}').toString('base64url') })), [
      'query.cursor',
    ]);
    await expectProblem(log({}, 'no-such-endpoint'), 404, 'NOT_FOUND');
    await expectProblem(root.request('GET', '/deliveries/no-such-delivery'), 404, 'NOT_FOUND');
    await expectProblem(root.request('POST', '/deliveries/no-such-delivery/resend'), 404, 'NOT_FOUND');
    await expectProblem(root.request('POST', '/endpoints/no-such-endpoint/resend', {}), 404, 'NOT_FOUND');
    await expectProblem(root.request('POST', '/webhooks/no-such-endpoint/resend', {}), 404, 'NOT_FOUND');
    await expectProblem(root.request('POST', '/endpoints/no-such-endpoint/enable'), 404, 'NOT_FOUND');
    await expectProblem(root.request('GET', '/endpoints/no-such-endpoint'), 404, 'NOT_FOUND');
    assert.deepEqual(
      await fields(root.request('POST', `/endpoints/${hook}/resend`, { status: 'in_flight' })),
      ['body.status'],
    );
    assert.deepEqual(
      await fields(root.request('POST', `/endpoints/${hook}/resend`, { status: 'dead', from: 'soon' })),
      ['body.from'],
    );
    assert.deepEqual(
      await fields(root.request('POST', `/endpoints/${hook}/resend`, { statuses: ['dead'] })),
      ['body'],
    );
    assert.deepEqual(
      await fields(root.request('POST', `/webhooks/${hook}/resend`, { status: 'in_flight' })),
      ['body.status'],
    );
    assert.deepEqual(
      await fields(
        root.request('POST', `/webhooks/${hook}/resend`, { from: '2025-02-01', to: '2025-01-01' }),
      ),
      ['body.from'],
    );
    assert.deepEqual(await fields(root.request('PATCH', `/endpoints/${hook}`, { autoDisableFailures: -1 })), [
      'body.autoDisableFailures',
    ]);
    assert.deepEqual(
      await fields(root.request('PATCH', `/endpoints/${hook}`, { autoDisableAfter: 'a while' })),
      ['body.autoDisableAfter'],
    );
    assert.deepEqual(await fields(root.request('PATCH', `/endpoints/${hook}`, {})), ['body']);
    assert.deepEqual(await log(), before);
    const { endpoint } = await root.request<{
      endpoint: { autoDisableFailures: number; autoDisableAfterMs: number | null };
    }>('GET', `/endpoints/${hook}`);
    assert.equal(endpoint.autoDisableFailures, 0);
    assert.equal(endpoint.autoDisableAfterMs, null);
  });

  it('works from the CLI: deliveries ls, show, resend (one and bulk), with tables and --json', async () => {
    const cli = rootCli(server);
    const table = (await cli('deliveries', 'ls', '--webhook', hook, '--limit', '3')).stdout;
    assert.match(table, /^ID\s+STATUS\s+EVENT\s+BUCKET\s+KEY\s+ATTEMPTS/m);
    assert.match(table, /More: add --cursor \S+/);
    const listed = JSON.parse(
      (await cli('deliveries', 'ls', '--webhook', hook, '--status', 'succeeded', '--since', '1h', '--json'))
        .stdout,
    ) as Page;
    assert.ok(listed.deliveries.length >= 5);
    assert.ok(listed.deliveries.every((d) => d.status === 'succeeded'));
    const d2 = listed.deliveries.find((d) => d.key === 'd2')!;
    assert.match(
      table + (await cli('deliveries', 'ls', '--webhook', hook)).stdout,
      new RegExp(`^${d2.id}\\s+succeeded\\s+s3:ObjectCreated:Put\\s+${BUCKET}\\s+d2\\s+3`, 'm'),
    );
    const shown = (await cli('deliveries', 'show', d2.id)).stdout;
    assert.match(shown, /^ATTEMPT\s+STARTED\s+MS\s+STATUS\s+ERROR/m);
    assert.match(shown, /^1\s+\S+\s+\d+\s+500\s+HTTP_STATUS/m);
    assert.match(shown, /^3\s+\S+\s+\d+\s+200\s+-$/m);
    const verbose = (await cli('deliveries', 'show', d2.id, '--verbose')).stdout;
    assert.match(verbose, /^Authorization: \*\*\*$/m);
    assert.ok(!verbose.includes('s3cr3t-token'));

    const resent = (await cli('deliveries', 'resend', d2.id)).stdout;
    assert.match(resent, new RegExp(`Delivery ${d2.id} queued again \\(pending\\)`));
    await rx.waitFor((rs) =>
      rs.some(
        (r) => r.headers['x-bucketbell-delivery'] === d2.id && r.headers['x-bucketbell-attempt'] === '4',
      ),
    );

    rx.defaultReply = { status: 500 };
    await put('cli-dead');
    await settled('cli-dead', 'dead');
    rx.defaultReply = { status: 200, body: 'ok' };
    const bulk = JSON.parse(
      (await cli('deliveries', 'resend', '--webhook', hook, '--status', 'dead', '--since', '10m', '--json'))
        .stdout,
    ) as { count: number };
    assert.equal(bulk.count, 1);
    await settled('cli-dead', 'succeeded');
    await assert.rejects(cli('deliveries', 'ls'), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr ?? '', /--webhook/);
      return true;
    });
    await assert.rejects(
      cli('deliveries', 'ls', '--webhook', hook, '--status', 'lost'),
      (err: { code?: number; stderr?: string }) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr ?? '', /VALIDATION_FAILED[\s\S]*query\.status/);
        return true;
      },
    );
  });
});
