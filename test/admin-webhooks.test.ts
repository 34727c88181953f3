import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  GetBucketNotificationConfigurationCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AdminApiError, type AdminClient } from '../src/cli/admin-client.ts';
import { adminClient, createUser, type CreatedUser, expectProblem } from './support/admin-api.ts';
import { queryServerDb } from './support/inspect-db.ts';
import { startServer, type TestServer } from './support/test-server.ts';
import { expectedSignature, WebhookReceiver, type ReceivedRequest } from './support/webhook-receiver.ts';

interface Webhook {
  id: string;
  arn: string;
  name: string;
  bucket: string | null;
  owner: string;
  origin: string;
  url: string;
  state: string;
  rules: { id: string; bucket: string; events: string[]; prefix: string; suffix: string }[];
  auth: { type: string };
  headers: Record<string, string>;
  signatureHeader: string;
  hasSecret: boolean;
  previousSecretValidUntil: string | null;
  timeoutMs: number;
  retry: { maxAttempts: number; backoffInitialMs: number; backoffMaxMs: number };
  maxInFlight: number;
}

interface Created {
  webhook: Webhook;
  secret: string;
}

interface Ping {
  deliveryId: string;
  outcome: string;
  statusCode: number | null;
  durationMs: number;
  responseBody: string | null;
  errorCode: string | null;
}

function fieldsOf(err: AdminApiError): string[] {
  return err.fields.map((f) => f.field);
}

function keyOf(request: ReceivedRequest): string {
  return (JSON.parse(request.body) as { Records: { s3: { object: { key: string } } }[] }).Records[0]!.s3
    .object.key;
}

function configurationIdOf(request: ReceivedRequest): string {
  return (JSON.parse(request.body) as { Records: { s3: { configurationId: string } }[] }).Records[0]!.s3
    .configurationId;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('admin API: webhooks', () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  let root: AdminClient;
  let alice: CreatedUser;
  let bob: CreatedUser;
  let asAlice: AdminClient;
  let asBob: AdminClient;
  let s3: S3Client;
  let aliceS3: S3Client;
  let counter = 0;
  /** Every secret and credential this suite handed to the server: none may show up in a response or a log. */
  const secrets: string[] = [];

  before(async () => {
    receiver = await new WebhookReceiver().start();
    // Users may reach the receiver on 127.0.0.1 only because the operator allows it.
    server = await startServer({ env: { BUCKETBELL_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' } });
    root = adminClient(server);
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    asAlice = adminClient(server, alice);
    asBob = adminClient(server, bob);
    s3 = server.client();
    aliceS3 = server.client(alice);
  });
  after(async () => {
    await server.cleanup();
    await receiver.stop();
  });
  beforeEach(() => {
    receiver.requests.length = 0;
    receiver.script.length = 0;
    receiver.defaultReply = { status: 200, body: 'ok' };
  });

  async function newBucket(client: S3Client = s3): Promise<string> {
    counter += 1;
    const bucket = `hooks-${counter}`;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    return bucket;
  }

  async function addWebhook(
    bucket: string,
    extra: Record<string, unknown> = {},
    as: AdminClient = root,
  ): Promise<Created> {
    const created = await as.request<Created>('POST', '/webhooks', {
      bucket,
      url: `${receiver.url}/hook`,
      events: ['s3:ObjectCreated:*'],
      ...extra,
    });
    secrets.push(created.secret);
    return created;
  }

  async function deliveriesOf(
    id: string,
  ): Promise<{ status: string; kind: string; last_error: string | null }[]> {
    return (await queryServerDb(
      server,
      'select status, kind, last_error from deliveries where endpoint_id = $1 order by created_at',
      [id],
    )) as { status: string; kind: string; last_error: string | null }[];
  }

  function assertNoSecrets(value: unknown): void {
    const text = JSON.stringify(value);
    for (const secret of secrets) assert.ok(!text.includes(secret), `a secret leaked: ${secret}`);
  }

  it('creates an endpoint and its rule together: 201, the secret once, and it is in GET ?notification', async () => {
    const bucket = await newBucket();
    const { webhook, secret } = await addWebhook(bucket, { name: 'orders', prefix: 'in/', suffix: '.json' });
    assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.match(webhook.id, /^wh_[0-9a-f]{20}$/);
    assert.equal(webhook.arn, `arn:bucketbell:webhook::${webhook.id}`);
    assert.equal(webhook.name, 'orders');
    assert.equal(webhook.bucket, bucket);
    assert.equal(webhook.state, 'active');
    assert.equal(webhook.origin, 'api');
    assert.equal(webhook.hasSecret, true);
    assert.equal(webhook.signatureHeader, 'X-Hub-Signature-256');
    assert.equal(webhook.maxInFlight, 16, 'the default in-flight limit');
    assert.deepEqual(webhook.rules, [
      { id: webhook.id, bucket, events: ['s3:ObjectCreated:*'], prefix: 'in/', suffix: '.json' },
    ]);
    const config = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.deepEqual(
      config.QueueConfigurations?.map((q) => ({ id: q.Id, arn: q.QueueArn, events: q.Events })),
      [{ id: webhook.id, arn: webhook.arn, events: ['s3:ObjectCreated:*'] }],
    );
    assert.deepEqual(config.QueueConfigurations?.[0]?.Filter?.Key?.FilterRules, [
      { Name: 'Prefix', Value: 'in/' },
      { Name: 'Suffix', Value: '.json' },
    ]);
    // The secret is never shown again.
    const shown = await root.request<{ webhook: Record<string, unknown> }>('GET', `/webhooks/${webhook.id}`);
    assert.equal(shown.webhook['secret'], undefined);
    const { webhooks } = await root.request<{ webhooks: Webhook[] }>('GET', '/webhooks', undefined, {
      bucket,
    });
    assert.deepEqual(
      webhooks.map((w) => w.id),
      [webhook.id],
    );
    assertNoSecrets([shown, webhooks]);
  });

  it('delivers the bucket events it matches, signed with the exact recipe', async () => {
    const bucket = await newBucket();
    const { webhook, secret } = await addWebhook(bucket, { prefix: 'in/' });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'out/skip.txt', Body: 'no' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/a.txt', Body: 'yes' }));
    await receiver.waitFor((r) => r.some((x) => x.body.startsWith('{"Records"')));
    await sleep(300);
    const events = receiver.eventRequests();
    assert.equal(events.length, 1);
    const request = events[0]!;
    assert.equal(request.path, '/hook');
    assert.equal(keyOf(request), 'in/a.txt');
    assert.equal(configurationIdOf(request), webhook.id);
    assert.equal(request.headers['x-hub-signature-256'], `sha256=${expectedSignature(secret, request.body)}`);
    assert.equal(request.headers['x-bucketbell-signature-previous-256'], undefined);
  });

  it('sends Basic, Bearer and custom Authorization values and extra headers, and never returns them', async () => {
    const cases = [
      {
        auth: { type: 'basic', username: 'hook-user', password: 'p4ss-w0rd-basic' },
        expected: `Basic ${Buffer.from('hook-user:p4ss-w0rd-basic').toString('base64')}`,
        type: 'basic',
      },
      {
        auth: { type: 'bearer', token: 'bearer-token-1234567' },
        expected: 'Bearer bearer-token-1234567',
        type: 'bearer',
      },
      {
        auth: { type: 'header', value: 'Token custom-value-98765' },
        expected: 'Token custom-value-98765',
        type: 'header',
      },
    ];
    for (const { auth, expected, type } of cases) {
      secrets.push(expected, ...Object.values(auth).filter((v) => v !== auth.type && v !== 'hook-user'));
      const bucket = await newBucket();
      const { webhook } = await addWebhook(bucket, {
        auth,
        headers: { 'X-Tenant': 'acme', 'X-Api-Key': 'extra-api-key-5555' },
      });
      secrets.push('extra-api-key-5555');
      assert.deepEqual(webhook.auth, { type });
      assert.deepEqual(webhook.headers, { 'X-Tenant': 'acme', 'X-Api-Key': '***' });
      receiver.requests.length = 0;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k', Body: 'x' }));
      await receiver.waitFor((r) => r.length >= 1);
      const request = receiver.requests[0]!;
      assert.equal(request.headers['authorization'], expected);
      assert.equal(request.headers['x-tenant'], 'acme');
      assert.equal(request.headers['x-api-key'], 'extra-api-key-5555');
      const ping = await root.request<Ping>('POST', `/webhooks/${webhook.id}/ping`);
      assert.equal(receiver.requests.at(-1)?.headers['authorization'], expected);
      assertNoSecrets([
        webhook,
        ping,
        await root.request('GET', `/webhooks/${webhook.id}`),
        await root.request('GET', '/webhooks'),
      ]);
    }
    // Removing the Authorization value stops sending it.
    const bucket = await newBucket();
    const { webhook } = await addWebhook(bucket, { auth: { type: 'bearer', token: 'short-lived-token-1' } });
    secrets.push('short-lived-token-1');
    const { webhook: updated } = await root.request<{ webhook: Webhook }>(
      'PATCH',
      `/webhooks/${webhook.id}`,
      {
        auth: { type: 'none' },
      },
    );
    assert.deepEqual(updated.auth, { type: 'none' });
    receiver.requests.length = 0;
    await root.request('POST', `/webhooks/${webhook.id}/ping`);
    assert.equal(receiver.requests[0]?.headers['authorization'], undefined);
  });

  it('rotates the secret: both signatures during the overlap, each verifying with its own secret', async () => {
    const bucket = await newBucket();
    const { webhook, secret: oldSecret } = await addWebhook(bucket);
    const rotated = await root.request<{
      webhook: Webhook;
      secret: string;
      previousSecretValidUntil: string;
    }>('POST', `/webhooks/${webhook.id}/rotate-secret`, {});
    secrets.push(rotated.secret);
    assert.match(rotated.secret, /^whsec_/);
    assert.notEqual(rotated.secret, oldSecret);
    const until = Date.parse(rotated.previousSecretValidUntil);
    assert.ok(Math.abs(until - (Date.now() + 86_400_000)) < 60_000, rotated.previousSecretValidUntil);
    assert.equal(rotated.webhook.previousSecretValidUntil, rotated.previousSecretValidUntil);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'rotated', Body: 'x' }));
    await receiver.waitFor((r) => r.length >= 1);
    const request = receiver.requests[0]!;
    const newSignature = `sha256=${expectedSignature(rotated.secret, request.body)}`;
    const oldSignature = `sha256=${expectedSignature(oldSecret, request.body)}`;
    assert.equal(request.headers['x-hub-signature-256'], `${newSignature},${oldSignature}`);
    assert.equal(request.headers['x-bucketbell-signature-previous-256'], oldSignature);
    // Without an overlap the old secret stops signing at once.
    const again = await root.request<{ secret: string; previousSecretValidUntil: string | null }>(
      'POST',
      `/webhooks/${webhook.id}/rotate-secret`,
      { overlap: 0 },
    );
    secrets.push(again.secret);
    assert.equal(again.previousSecretValidUntil, null);
    receiver.requests.length = 0;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'rotated-again', Body: 'x' }));
    await receiver.waitFor((r) => r.length >= 1);
    const last = receiver.requests[0]!;
    assert.equal(last.headers['x-hub-signature-256'], `sha256=${expectedSignature(again.secret, last.body)}`);
    assert.equal(last.headers['x-bucketbell-signature-previous-256'], undefined);
    assertNoSecrets(await root.request('GET', `/webhooks/${webhook.id}`));
  });

  it('pauses: nothing is delivered and deliveries are held; resume sends them all in order', async () => {
    const bucket = await newBucket();
    const { webhook } = await addWebhook(bucket, { maxInFlight: 1 });
    // A delivery already waiting when the webhook is paused is held too.
    receiver.defaultReply = { status: 200, body: 'ok', delayMs: 400 };
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k0', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'k1', Body: 'x' }));
    await receiver.waitFor((r) => r.length >= 1);
    const paused = await root.request<{ webhook: Webhook; held: number }>(
      'POST',
      `/webhooks/${webhook.id}/pause`,
    );
    assert.equal(paused.webhook.state, 'paused');
    // k1 waits behind k0: held at once, or (already claimed by the dispatcher) when its turn comes.
    assert.ok(paused.held <= 1);
    for (let waited = 0; (await deliveriesOf(webhook.id))[1]?.status !== 'held'; waited += 20) {
      assert.ok(waited < 5000, 'k1 was held within 5 s');
      await sleep(20);
    }
    receiver.defaultReply = { status: 200, body: 'ok' };
    for (let i = 2; i <= 6; i += 1) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `k${i}`, Body: 'x' }));
      await sleep(3);
    }
    await sleep(1500);
    assert.deepEqual(receiver.eventRequests().map(keyOf), ['k0'], 'nothing is delivered while paused');
    const rows = await deliveriesOf(webhook.id);
    assert.deepEqual(
      rows.map((r) => r.status),
      ['succeeded', 'held', 'held', 'held', 'held', 'held', 'held'],
    );
    const resumed = await root.request<{ webhook: Webhook; released: number; discarded: number }>(
      'POST',
      `/webhooks/${webhook.id}/resume`,
    );
    assert.equal(resumed.webhook.state, 'active');
    assert.equal(resumed.released, 6);
    assert.equal(resumed.discarded, 0);
    await receiver.waitFor((r) => r.filter((x) => x.body.startsWith('{"Records"')).length >= 7);
    assert.deepEqual(receiver.eventRequests().map(keyOf), ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
  });

  it('resumes with discardHeld: held deliveries are dead-lettered, not sent', async () => {
    const bucket = await newBucket();
    const { webhook } = await addWebhook(bucket);
    await root.request('POST', `/webhooks/${webhook.id}/pause`);
    for (const key of ['a', 'b', 'c'])
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }));
    const resumed = await root.request<{ released: number; discarded: number }>(
      'POST',
      `/webhooks/${webhook.id}/resume`,
      { discardHeld: true },
    );
    assert.deepEqual(resumed, { ...resumed, released: 0, discarded: 3 });
    const rows = await deliveriesOf(webhook.id);
    assert.deepEqual(
      rows.map((r) => [r.status, r.last_error]),
      [
        ['dead', 'discarded on resume'],
        ['dead', 'discarded on resume'],
        ['dead', 'discarded on resume'],
      ],
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'after', Body: 'x' }));
    await receiver.waitFor((r) => r.length >= 1);
    await sleep(200);
    assert.deepEqual(receiver.eventRequests().map(keyOf), ['after']);
  });

  it("pings: an s3:TestEvent through the delivery path, returning the receiver's status and body", async () => {
    const bucket = await newBucket();
    const { webhook, secret } = await addWebhook(bucket, { headers: { 'X-Env': 'test' } });
    receiver.script.push({ status: 202, body: 'pong from receiver' });
    const ping = await root.request<Ping>('POST', `/webhooks/${webhook.id}/ping`);
    assert.equal(ping.outcome, 'succeeded');
    assert.equal(ping.statusCode, 202);
    assert.equal(ping.responseBody, 'pong from receiver');
    assert.equal(ping.errorCode, null);
    assert.ok(ping.durationMs >= 0);
    const request = receiver.requests[0]!;
    const body = JSON.parse(request.body) as { Event: string; Bucket: string; Service: string };
    assert.equal(body.Event, 's3:TestEvent');
    assert.equal(body.Bucket, bucket);
    assert.equal(request.headers['x-bucketbell-event'], 's3:TestEvent');
    assert.equal(request.headers['x-bucketbell-delivery'], ping.deliveryId);
    assert.equal(request.headers['x-env'], 'test');
    assert.equal(request.headers['x-hub-signature-256'], `sha256=${expectedSignature(secret, request.body)}`);
    const [delivery] = await queryServerDb(
      server,
      'select kind, status, attempts from deliveries where id = $1',
      [ping.deliveryId],
    );
    assert.deepEqual(
      { ...delivery, attempts: Number(delivery?.['attempts']) },
      { kind: 'test', status: 'succeeded', attempts: 1 },
    );
    const attempts = await queryServerDb(
      server,
      'select status_code, response_body, request_headers from delivery_attempts where delivery_id = $1',
      [ping.deliveryId],
    );
    assert.equal(attempts.length, 1);
    assert.equal(Number(attempts[0]?.['status_code']), 202);
    // A failing receiver: the outcome says so, and nothing is retried.
    receiver.script.push({ status: 503, body: 'down for maintenance' });
    const failed = await root.request<Ping>('POST', `/webhooks/${webhook.id}/ping`);
    assert.deepEqual(
      {
        outcome: failed.outcome,
        statusCode: failed.statusCode,
        errorCode: failed.errorCode,
        body: failed.responseBody,
      },
      { outcome: 'failed', statusCode: 503, errorCode: 'HTTP_STATUS', body: 'down for maintenance' },
    );
    // A paused webhook can still be pinged.
    await root.request('POST', `/webhooks/${webhook.id}/pause`);
    const whilePaused = await root.request<Ping>('POST', `/webhooks/${webhook.id}/ping`);
    assert.equal(whilePaused.statusCode, 200);
    await sleep(300);
    assert.equal(receiver.requests.length, 3, 'a failed ping is not retried');
  });

  it('updates fields and the rule; a new URL goes through the SSRF check again', async () => {
    const bucket = await newBucket(aliceS3);
    const { webhook } = await addWebhook(bucket, {}, asAlice);
    const { webhook: updated } = await asAlice.request<{ webhook: Webhook }>(
      'PATCH',
      `/webhooks/${webhook.id}`,
      {
        name: 'renamed',
        url: `${receiver.url}/v2`,
        events: ['s3:ObjectRemoved:*'],
        prefix: 'logs/',
        timeout: '5s',
        retry: { maxAttempts: 3, backoffInitial: '1s', backoffMax: '1m' },
        signatureHeader: 'X-Signature-256',
      },
    );
    assert.equal(updated.name, 'renamed');
    assert.equal(updated.url, `${receiver.url}/v2`);
    assert.equal(updated.timeoutMs, 5000);
    assert.deepEqual(updated.retry, { maxAttempts: 3, backoffInitialMs: 1000, backoffMaxMs: 60_000 });
    assert.equal(updated.signatureHeader, 'X-Signature-256');
    assert.deepEqual(updated.rules[0], {
      id: webhook.id,
      bucket,
      events: ['s3:ObjectRemoved:*'],
      prefix: 'logs/',
      suffix: '',
    });
    const config = await aliceS3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.deepEqual(config.QueueConfigurations?.[0]?.Events, ['s3:ObjectRemoved:*']);
    // A user may not point a webhook at a private or metadata address; nothing changes.
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://10.1.2.3/hook',
      // Loopback, but not the allow-listed 127.0.0.1/32 (so localhost, which may be 127.0.0.1, is open).
      'http://[::1]:9/x',
      'http://127.0.0.2:9/x',
    ]) {
      const refused = await expectProblem(
        asAlice.request('PATCH', `/webhooks/${webhook.id}`, { url }),
        422,
        'SSRF_BLOCKED',
      );
      assert.match(refused.message, /address|loopback/);
    }
    await expectProblem(
      asAlice.request('POST', '/webhooks', {
        bucket,
        url: 'http://169.254.169.254/',
        events: ['s3:ObjectCreated:*'],
      }),
      422,
      'SSRF_BLOCKED',
    );
    const { webhook: after } = await asAlice.request<{ webhook: Webhook }>('GET', `/webhooks/${webhook.id}`);
    assert.equal(after.url, `${receiver.url}/v2`);
    // An admin may.
    const { webhook: adminOwned } = await addWebhook(bucket, {
      url: 'http://10.1.2.3/hook',
      events: ['s3:ObjectCreated:Put'],
    });
    assert.equal(adminOwned.url, 'http://10.1.2.3/hook');
    await root.request('DELETE', `/webhooks/${adminOwned.id}`);
  });

  it('deletes a webhook: its rule goes, waiting deliveries are dead-lettered, the dispatcher carries on', async () => {
    const bucket = await newBucket();
    const { webhook: doomed } = await addWebhook(bucket, { events: ['s3:ObjectCreated:*'], prefix: 'a/' });
    const { webhook: kept } = await addWebhook(bucket, { url: `${receiver.url}/kept`, prefix: 'b/' });
    await root.request('POST', `/webhooks/${doomed.id}/pause`);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/1', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/2', Body: 'x' }));
    const deleted = await root.request<{ id: string; deadLettered: number }>(
      'DELETE',
      `/webhooks/${doomed.id}`,
    );
    assert.deepEqual(deleted, { id: doomed.id, deadLettered: 2 });
    const rows = await deliveriesOf(doomed.id);
    assert.deepEqual(
      rows.map((r) => [r.status, r.last_error]),
      [
        ['dead', 'webhook deleted'],
        ['dead', 'webhook deleted'],
      ],
    );
    await expectProblem(root.request('GET', `/webhooks/${doomed.id}`), 404, 'NOT_FOUND');
    await expectProblem(root.request('DELETE', `/webhooks/${doomed.id}`), 404, 'NOT_FOUND');
    const config = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.deepEqual(
      config.QueueConfigurations?.map((q) => q.Id),
      [kept.id],
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/3', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'b/1', Body: 'x' }));
    await receiver.waitFor((r) => r.some((x) => x.path === '/kept'));
    await sleep(200);
    assert.deepEqual(receiver.eventRequests().map(keyOf), ['b/1']);
  });

  it("keeps tenants apart: a user cannot see or change another user's webhooks (403) or hook its bucket", async () => {
    const aliceBucket = await newBucket(aliceS3);
    const { webhook } = await addWebhook(aliceBucket, { name: 'alice-hook' }, asAlice);
    assert.equal(webhook.owner, 'alice');
    const before = await asAlice.request<{ webhook: Webhook }>('GET', `/webhooks/${webhook.id}`);
    const path = `/webhooks/${webhook.id}`;
    await expectProblem(asBob.request('GET', path), 403, 'FORBIDDEN');
    await expectProblem(asBob.request('PATCH', path, { url: `${receiver.url}/bob` }), 403, 'FORBIDDEN');
    await expectProblem(asBob.request('DELETE', path), 403, 'FORBIDDEN');
    await expectProblem(asBob.request('POST', `${path}/pause`), 403, 'FORBIDDEN');
    await expectProblem(asBob.request('POST', `${path}/resume`, {}), 403, 'FORBIDDEN');
    await expectProblem(asBob.request('POST', `${path}/rotate-secret`, {}), 403, 'FORBIDDEN');
    await expectProblem(asBob.request('POST', `${path}/ping`), 403, 'FORBIDDEN');
    await expectProblem(
      asBob.request('POST', '/webhooks', {
        bucket: aliceBucket,
        url: `${receiver.url}/bob`,
        events: ['s3:ObjectCreated:*'],
      }),
      403,
      'FORBIDDEN',
    );
    await expectProblem(asBob.request('GET', '/webhooks/wh_does_not_exist'), 404, 'NOT_FOUND');
    const bobs = await asBob.request<{ webhooks: Webhook[] }>('GET', '/webhooks');
    assert.ok(!bobs.webhooks.some((w) => w.id === webhook.id));
    const bobsForBucket = await asBob.request<{ webhooks: Webhook[] }>('GET', '/webhooks', undefined, {
      bucket: aliceBucket,
    });
    assert.deepEqual(bobsForBucket.webhooks, []);
    assert.equal(receiver.requests.length, 0, 'no ping went out');
    const after = await asAlice.request<{ webhook: Webhook }>('GET', `/webhooks/${webhook.id}`);
    assert.deepEqual(after, before, 'nothing changed');
    const config = await aliceS3.send(new GetBucketNotificationConfigurationCommand({ Bucket: aliceBucket }));
    assert.equal(config.QueueConfigurations?.length, 1);
    // Alice sees only hers; an admin sees every webhook and may manage hers.
    const alices = await asAlice.request<{ webhooks: Webhook[] }>('GET', '/webhooks');
    assert.ok(alices.webhooks.length > 0 && alices.webhooks.every((w) => w.owner === 'alice'));
    const all = await root.request<{ webhooks: Webhook[] }>('GET', '/webhooks');
    assert.ok(all.webhooks.some((w) => w.id === webhook.id));
    assert.ok(all.webhooks.some((w) => w.owner !== 'alice'));
    const ping = await root.request<Ping>('POST', `${path}/ping`);
    assert.equal(ping.outcome, 'succeeded');
  });

  it('refuses bad input to every operation with problem+json 400 naming the fields, and changes nothing', async () => {
    const bucket = await newBucket();
    const { webhook } = await addWebhook(bucket, { prefix: 'x/' });
    const listBefore = await root.request<{ webhooks: Webhook[] }>('GET', '/webhooks');
    const create = async (body: Record<string, unknown>, fields: string[]) => {
      const err = await expectProblem(root.request('POST', '/webhooks', body), 400, 'VALIDATION_FAILED');
      for (const field of fields)
        assert.ok(fieldsOf(err).includes(field), `${field} in ${fieldsOf(err).join()}`);
      return err;
    };
    const base = { bucket, url: `${receiver.url}/hook`, events: ['s3:ObjectCreated:*'] };
    await create({ url: 'http://x/' }, ['body.bucket', 'body.events']);
    await create({ ...base, events: [] }, ['body.events']);
    await create({ ...base, events: ['s3:ObjectCreated:Nope'] }, ['body.events.0']);
    await create({ ...base, events: ['s3:Object*'] }, ['body.events.0']);
    const slack = await create({ ...base, kind: 'slack' }, ['body.kind']);
    assert.match(slack.fields.find((f) => f.field === 'body.kind')?.message ?? '', /not supported yet/);
    await create({ ...base, format: 'cloudevents' }, ['body.format']);
    await create({ ...base, url: 'ftp://example.com/x' }, ['body.url']);
    await create({ ...base, url: 'not a url' }, ['body.url']);
    await create({ ...base, auth: { type: 'digest', value: 'x' } }, ['body.auth.type']);
    await create({ ...base, auth: { type: 'basic', username: 'a:b', password: 'c' } }, [
      'body.auth.username',
    ]);
    await create({ ...base, auth: { type: 'header', value: 'x\r\nInjected: 1' } }, ['body.auth.value']);
    await create(
      {
        ...base,
        headers: {
          Host: 'evil',
          'Content-Length': '1',
          Connection: 'close',
          'Transfer-Encoding': 'chunked',
          Authorization: 'x',
          'X-Bucketbell-Delivery': 'forged',
          'Bad Name': 'x',
          'X-Split': 'a\nb',
        },
      },
      [
        'body.headers.Host',
        'body.headers.Content-Length',
        'body.headers.Connection',
        'body.headers.Transfer-Encoding',
        'body.headers.Authorization',
        'body.headers.X-Bucketbell-Delivery',
        'body.headers.Bad Name',
        'body.headers.X-Split',
      ],
    );
    await create({ ...base, headers: { 'X-Hub-Signature-256': 'forged' } }, [
      'body.headers.X-Hub-Signature-256',
    ]);
    await create({ ...base, signatureHeader: 'Content-Type' }, ['body.signatureHeader']);
    await create({ ...base, timeout: 'forever' }, ['body.timeout']);
    await create({ ...base, timeout: '1h' }, ['body.timeout']);
    await create({ ...base, retry: { maxAttempts: 0, backoffInitial: '1m', backoffMax: '1s' } }, [
      'body.retry.maxAttempts',
    ]);
    await create({ ...base, retry: { backoffInitial: '1m', backoffMax: '1s' } }, ['body.retry.backoffMax']);
    await create({ ...base, maxInFlight: 0, surprise: true }, ['body.maxInFlight', 'body']);
    await expectProblem(
      root.request('POST', '/webhooks', { ...base, bucket: 'no-such-bucket' }),
      404,
      'NOT_FOUND',
    );
    const duplicate = await expectProblem(
      root.request('POST', '/webhooks', { ...base, ruleId: webhook.id }),
      409,
      'CONFLICT',
    );
    assert.deepEqual(fieldsOf(duplicate), ['body.ruleId']);
    const raw = await fetch(`${server.adminUrl}/api/v1/webhooks`, { method: 'POST', body: '{' });
    assert.equal(raw.status, 401, 'unsigned requests are refused before anything else');
    assert.equal(raw.headers.get('content-type'), 'application/problem+json');

    const path = `/webhooks/${webhook.id}`;
    const patch = async (body: Record<string, unknown>, fields: string[]) => {
      const err = await expectProblem(root.request('PATCH', path, body), 400, 'VALIDATION_FAILED');
      for (const field of fields)
        assert.ok(fieldsOf(err).includes(field), `${field} in ${fieldsOf(err).join()}`);
    };
    await patch({}, ['body']);
    await patch({ events: ['nope'] }, ['body.events.0']);
    await patch({ bucket: 'other' }, ['body']);
    await patch({ headers: { Host: 'x' } }, ['body.headers.Host']);
    await patch({ timeout: -5 }, ['body.timeout']);
    await patch({ retry: { backoffMax: '1ms' } }, ['body.retry.backoffMax']);
    await patch({ url: 'gopher://x' }, ['body.url']);
    await patch({ name: '' }, ['body.name']);
    const rotate = await expectProblem(
      root.request('POST', `${path}/rotate-secret`, { overlap: 'a while' }),
      400,
      'VALIDATION_FAILED',
    );
    assert.deepEqual(fieldsOf(rotate), ['body.overlap']);
    const resume = await expectProblem(
      root.request('POST', `${path}/resume`, { discardHeld: 'yes' }),
      400,
      'VALIDATION_FAILED',
    );
    assert.deepEqual(fieldsOf(resume), ['body.discardHeld']);
    const list = await expectProblem(
      root.request('GET', '/webhooks', undefined, { bucket: 'x'.repeat(100) }),
      400,
      'VALIDATION_FAILED',
    );
    assert.deepEqual(fieldsOf(list), ['query.bucket']);
    await expectProblem(root.request('POST', '/webhooks/wh_nope/ping'), 404, 'NOT_FOUND');
    await expectProblem(root.request('POST', '/webhooks/wh_nope/pause'), 404, 'NOT_FOUND');
    await expectProblem(root.request('PUT', path), 405, 'METHOD_NOT_ALLOWED');

    const listAfter = await root.request<{ webhooks: Webhook[] }>('GET', '/webhooks');
    assert.deepEqual(listAfter, listBefore, 'nothing changed');
    const config = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.equal(config.QueueConfigurations?.length, 1);
  });

  it('keeps secrets and Authorization values out of the logs', () => {
    const output = server.output();
    assert.ok(output.includes('webhook created'));
    for (const secret of secrets) assert.ok(!output.includes(secret), `the log holds a secret: ${secret}`);
  });
});
