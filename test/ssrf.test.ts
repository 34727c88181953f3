// The SSRF guard end to end: save-time checks of VK URLs, the dial-time guard for endpoints of
// non-admins, `webhook_allowed_cidrs`, and the settings' validation.
//
// The dial-time test hands an endpoint saved by an admin to a non-admin owner by writing to the
// server's database: that is the DNS-rebinding case (the URL was fine when saved) the guard exists for.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { lookup } from 'node:dns/promises';
import { adminClient, createUser, expectProblem } from './support/admin-api.ts';
import { queryServerDb, writeServerDb } from './support/inspect-db.ts';
import { rawRequest } from './support/raw-request.ts';
import { parseErrorXml } from './support/s3-errors.ts';
import { startServer, type TestServer } from './support/test-server.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

const run = promisify(execFile);
/** Resolves to 127.0.0.1 through /etc/hosts (scripts/install-test-tools.sh adds it). */
const LOOPBACK_NAME = 'loopback.bucketbell.test';
const BIN = path.resolve(import.meta.dirname, '../bin/bucketbell.js');

function vkConfiguration(url: string, event = 's3:ObjectCreated:*'): string {
  return `<NotificationConfiguration><SimpleTopicConfiguration><Id>vk</Id><Url>${url}</Url><Event>${event}</Event></SimpleTopicConfiguration></NotificationConfiguration>`;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('SSRF guard', () => {
  let server: TestServer;
  let s3: S3Client;
  let receiver: WebhookReceiver;
  let counter = 0;

  before(async () => {
    const addresses = await lookup(LOOPBACK_NAME, { all: true }).catch(() => []);
    assert.ok(
      addresses.some((a) => a.address === '127.0.0.1'),
      `${LOOPBACK_NAME} must resolve to 127.0.0.1 for these tests: run scripts/install-test-tools.sh`,
    );
    receiver = await new WebhookReceiver().start();
    server = await startServer({ env: { BUCKETBELL_DELIVERY_POLL_INTERVAL: '50ms' } });
    s3 = server.client();
  });
  after(async () => {
    await server.cleanup();
    await receiver.stop();
  });
  beforeEach(() => {
    receiver.requests.length = 0;
    receiver.vkAnswer = 'correct';
  });

  async function newBucket(): Promise<string> {
    counter += 1;
    const bucket = `ssrf-${counter}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return bucket;
  }

  /** Saves a VK rule as root and returns its endpoint id. */
  async function vkEndpoint(target: TestServer, bucket: string, url: string): Promise<string> {
    const res = await rawRequest(target.s3Url, {
      method: 'PUT',
      path: `/${bucket}?notification`,
      body: vkConfiguration(url),
    });
    assert.equal(res.status, 200, res.body);
    const [row] = await queryServerDb(
      target,
      `select id from endpoints where origin = 'vk' and bucket = $1`,
      [bucket],
    );
    assert.ok(typeof row?.['id'] === 'string');
    return row['id'];
  }

  it('lets an admin (root) save a VK URL on 127.0.0.1, confirms it there, and delivers to it', async () => {
    const bucket = await newBucket();
    await vkEndpoint(server, bucket, `${receiver.url}/vk-admin`);
    assert.ok(
      receiver.requests.some((r) => r.path === '/vk-admin' && r.body.includes('SubscriptionConfirmation')),
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'admin-object', Body: 'x' }));
    await receiver.waitFor((rs) => rs.some((r) => r.path === '/vk-admin' && r.body.includes('admin-object')));
  });

  it('refuses credentials in a VK URL, for admins too, and sends nothing', async () => {
    const bucket = await newBucket();
    const url = receiver.url.replace('http://', 'http://user:secret@') + '/vk-credentials';
    const res = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: `/${bucket}?notification`,
      body: vkConfiguration(url),
    });
    assert.equal(res.status, 400);
    assert.equal(parseErrorXml(res.body).code, 'InvalidArgument');
    assert.match(res.body, /Unable to validate the following destination configurations/);
    assert.match(
      res.body,
      /<ArgumentValue1>The Url is refused \(INVALID_URL\): the URL must not contain credentials/,
    );
    assert.equal(receiver.requests.length, 0);
  });

  it('refuses a VK URL on a private address, in any spelling, from a non-admin, naming the address and its class, and sends nothing', async () => {
    const user = await createUser(server, `ssrf-user-${counter}`);
    const userS3 = server.client({ accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey });
    counter += 1;
    const bucket = `ssrf-user-bucket-${counter}`;
    await userS3.send(new CreateBucketCommand({ Bucket: bucket }));
    const port = new URL(receiver.url).port;
    const spellings: [string, RegExp][] = [
      [`http://127.0.0.1:${port}/x`, /loopback/],
      [`http://2130706433:${port}/x`, /loopback/],
      [`http://0177.0.0.1:${port}/x`, /loopback/],
      [`http://0x7f.1:${port}/x`, /loopback/],
      [`http://[::ffff:127.0.0.1]:${port}/x`, /loopback/],
      [`http://[::1]:${port}/x`, /loopback/],
      [`http://localhost.:${port}/x`, /loopback/],
      [`http://169.254.169.254/latest/meta-data`, /link-local/],
      [`http://10.1.2.3/x`, /private/],
      [`http://192.168.0.1/x`, /private/],
      [`http://100.64.0.1/x`, /CGNAT|cgnat|shared/i],
      [`http://[fd00::1]/x`, /unique-local/],
      [`http://0.0.0.0:${port}/x`, /unspecified/],
      [`http://224.0.0.1/x`, /multicast/],
    ];
    for (const [url, kind] of spellings) {
      const res = await rawRequest(server.s3Url, {
        method: 'PUT',
        path: `/${bucket}?notification`,
        body: vkConfiguration(url),
        credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
      });
      assert.equal(res.status, 400, `${url}: ${res.body}`);
      assert.equal(parseErrorXml(res.body).code, 'InvalidArgument', url);
      assert.match(res.body, /SSRF_BLOCKED/, url);
      assert.match(res.body, kind, url);
    }
    assert.equal(receiver.requests.length, 0, 'no handshake was sent to a refused address');
    const config = await rawRequest(server.s3Url, {
      method: 'GET',
      path: `/${bucket}?notification`,
      credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
    });
    assert.doesNotMatch(config.body, /SimpleTopicConfiguration/);
  });

  it('blocks at dial time a delivery whose endpoint a non-admin owns, records SSRF_BLOCKED and retries it', async () => {
    const bucket = await newBucket();
    const endpointId = await vkEndpoint(server, bucket, `${receiver.url}/vk-handed-over`);
    await writeServerDb(server, 'update endpoints set owner = $1 where id = $2', [
      'not-an-admin',
      endpointId,
    ]);
    receiver.requests.length = 0;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'blocked-object', Body: 'x' }));
    const delivery = await waitFor('the delivery to be retried', async () => {
      const [row] = await queryServerDb(
        server,
        `select id, status, last_error from deliveries where endpoint_id = $1 and kind = 'event'`,
        [endpointId],
      );
      return row?.['status'] === 'retrying' ? row : undefined;
    });
    assert.match(
      String(delivery['last_error']),
      /^SSRF_BLOCKED: 127\.0\.0\.1 refused: it is a loopback address; only admins may send webhooks there$/,
    );
    const attempts = await queryServerDb(
      server,
      'select error_code, status_code from delivery_attempts where delivery_id = $1',
      [String(delivery['id'])],
    );
    assert.deepEqual(
      attempts.map((a) => [a['error_code'], a['status_code']]),
      [['SSRF_BLOCKED', null]],
    );
    assert.ok(!receiver.requests.some((r) => r.body.includes('blocked-object')), 'the event was not sent');
    const metrics = await (await fetch(`${server.adminUrl}/metrics`)).text();
    assert.match(
      metrics,
      /bucketbell_delivery_attempts_total\{outcome="retrying",error_code="SSRF_BLOCKED"\} [1-9]/,
    );
  });

  it('refuses, on the admin API, every private spelling and a DNS name resolving to loopback from a non-admin, creating nothing', async () => {
    const user = await createUser(server, `ssrf-api-user-${counter}`);
    const keys = { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey };
    const api = adminClient(server, keys);
    counter += 1;
    const bucket = `ssrf-api-bucket-${counter}`;
    await server.client(keys).send(new CreateBucketCommand({ Bucket: bucket }));
    const port = new URL(receiver.url).port;
    const spellings: [string, RegExp][] = [
      [`http://${LOOPBACK_NAME}:${port}/x`, /resolves to 127\.0\.0\.1, which is a loopback address/],
      [`http://${LOOPBACK_NAME}.:${port}/x`, /resolves to 127\.0\.0\.1, which is a loopback address/],
      [`http://127.0.0.1:${port}/x`, /loopback/],
      [`http://2130706433:${port}/x`, /loopback/],
      [`http://0177.0.0.1:${port}/x`, /loopback/],
      [`http://0x7f.1:${port}/x`, /loopback/],
      [`http://[::ffff:127.0.0.1]:${port}/x`, /loopback/],
      [`http://[::ffff:7f00:1]:${port}/x`, /loopback/],
      [`http://[::1]:${port}/x`, /loopback/],
      [`http://localhost:${port}/x`, /loopback/],
      [`http://localhost.:${port}/x`, /loopback/],
      ['http://169.254.169.254/latest/meta-data', /link-local/],
      ['http://[fe80::1]/x', /link-local/],
      ['http://10.1.2.3/x', /private/],
      ['http://172.16.0.1/x', /private/],
      ['http://192.168.0.1./x', /private/],
      ['http://100.64.0.1/x', /CGNAT|shared/i],
      ['http://[fd00::1]/x', /unique-local/],
      ['http://0.0.0.0/x', /unspecified/],
      ['http://[::]/x', /unspecified/],
      ['http://224.0.0.1/x', /multicast/],
      ['http://[ff02::1]/x', /multicast/],
    ];
    for (const [url, reason] of spellings) {
      const problem = await expectProblem(
        api.request('POST', '/webhooks', { bucket, url, events: ['s3:ObjectCreated:*'] }),
        422,
        'SSRF_BLOCKED',
      );
      assert.match(problem.message, reason, url);
    }
    const { webhooks } = await api.request<{ webhooks: unknown[] }>('GET', '/webhooks');
    assert.deepEqual(webhooks, [], 'no webhook was created');
    assert.equal(receiver.requests.length, 0, 'nothing was sent');
  });

  it('blocks at dial time a DNS name that resolves to loopback, for a webhook a non-admin owns (rebinding)', async () => {
    const bucket = await newBucket();
    const { webhook } = await adminClient(server).request<{ webhook: { id: string } }>('POST', '/webhooks', {
      bucket,
      url: `http://${LOOPBACK_NAME}:${new URL(receiver.url).port}/rebound`,
      events: ['s3:ObjectCreated:*'],
    });
    // Saved by an admin while the name was fine for its owner; now a non-admin owns it.
    await writeServerDb(server, 'update endpoints set owner = $1 where id = $2', [
      'not-an-admin',
      webhook.id,
    ]);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'rebound-object', Body: 'x' }));
    const delivery = await waitFor('the delivery to be retried', async () => {
      const [row] = await queryServerDb(
        server,
        `select status, last_error from deliveries where endpoint_id = $1 and kind = 'event'`,
        [webhook.id],
      );
      return row?.['status'] === 'retrying' ? row : undefined;
    });
    assert.match(
      String(delivery['last_error']),
      /^SSRF_BLOCKED: loopback\.bucketbell\.test resolves to 127\.0\.0\.1, refused: it is a loopback address/,
    );
    assert.ok(!receiver.requests.some((r) => r.path === '/rebound'), 'nothing reached the receiver');
  });

  describe('with webhook_allowed_cidrs', () => {
    let open: TestServer;
    before(async () => {
      open = await startServer({
        env: {
          BUCKETBELL_DELIVERY_POLL_INTERVAL: '50ms',
          BUCKETBELL_WEBHOOK_ALLOWED_CIDRS: '10.0.0.0/8,127.0.0.0/8',
        },
      });
    });
    after(async () => {
      await open.cleanup();
    });

    it('delivers to an allowed network for a non-admin owner', async () => {
      const client = open.client();
      await client.send(new CreateBucketCommand({ Bucket: 'allowed' }));
      const endpointId = await vkEndpoint(open, 'allowed', `${receiver.url}/vk-allowed`);
      await writeServerDb(open, 'update endpoints set owner = $1 where id = $2', [
        'not-an-admin',
        endpointId,
      ]);
      await client.send(new PutObjectCommand({ Bucket: 'allowed', Key: 'allowed-object', Body: 'x' }));
      await receiver.waitFor((rs) =>
        rs.some((r) => r.path === '/vk-allowed' && r.body.includes('allowed-object')),
      );
    });
  });
});

describe('SSRF guard settings', () => {
  async function refused(env: Record<string, string>, message: RegExp): Promise<void> {
    await assert.rejects(
      run(process.execPath, [BIN, 'serve', '--address', '127.0.0.1:0', '--admin-address', '127.0.0.1:0'], {
        env: { ...process.env, ...env },
        timeout: 15_000,
      }),
      (err: { code?: number; stderr?: string }) => {
        assert.equal(err.code, 2);
        assert.match(err.stderr ?? '', message);
        return true;
      },
    );
  }

  it('refuses a bad CIDR and an unreadable CA file at start', async () => {
    await refused(
      { BUCKETBELL_WEBHOOK_ALLOWED_CIDRS: '10.0.0.0/8,10.0.0.0/33' },
      /invalid setting webhook_allowed_cidrs: "10\.0\.0\.0\/33" is not a network/,
    );
    await refused(
      { BUCKETBELL_WEBHOOK_CA_FILE: '/nonexistent/ca.pem' },
      /invalid setting webhook_ca_file: cannot read \/nonexistent\/ca\.pem/,
    );
  });
});
