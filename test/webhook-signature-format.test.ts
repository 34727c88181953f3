// The signature format of an endpoint: `sha256=<hex>` (GitHub, s3-orchestrator) or the bare hex digest
// that Alarik's documented receiver compares with the whole X-Alarik-Signature-256 value.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { AdminApiError, AdminClient } from '../src/cli/admin-client.ts';
import { adminClient, expectProblem } from './support/admin-api.ts';
import { headerValue, isValidAlarikSignature } from './support/alarik-signature.ts';
import { startWithEndpoints, type NotificationSetup } from './support/notification-setup.ts';
import { ROOT_PASSWORD, ROOT_USER, type TestServer } from './support/test-server.ts';
import { expectedSignature, type ReceivedRequest, type WebhookReceiver } from './support/webhook-receiver.ts';

const run = promisify(execFile);
const bin = path.resolve(import.meta.dirname, '../bin/bucketbell.js');

const ALARIK_SECRET = 'alarik-yaml-secret-ünïcode';
const ORCHESTRATOR_SECRET = 'orchestrator-yaml-secret';
const ALARIK_HEADER = 'X-Alarik-Signature-256';
const PREVIOUS_HEADER = 'X-Bucketbell-Signature-Previous-256';

interface Webhook {
  id: string;
  arn: string;
  signatureHeader: string;
  signatureFormat: string;
  updatedAt: string;
}

/** Alarik's receiver: the exact recipe of 004_…txt on the raw body and the whole header value. */
function alarikAccepts(request: ReceivedRequest, secret: string, header = ALARIK_HEADER): boolean {
  return isValidAlarikSignature(
    Buffer.from(request.body, 'utf8'),
    headerValue(request.headers, header) ?? '',
    secret,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('webhook signature format (prefixed sha256=<hex>, or the bare hex for Alarik receivers)', () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  let root: AdminClient;
  let s3: S3Client;
  let configDir: string;
  let setup: NotificationSetup;

  before(async () => {
    setup = await startWithEndpoints({
      endpoints: [
        {
          name: 'alarik',
          secret: '${ALARIK_SECRET}',
          signature_header: ALARIK_HEADER,
          signature_format: 'hex',
        },
        { name: 'orchestrator', secret: '${ORCHESTRATOR_SECRET}', signature_header: 'X-Signature-256' },
      ],
      env: { ALARIK_SECRET, ORCHESTRATOR_SECRET },
      bucketPrefix: 'signature-format',
    });
    ({ server, receiver, configDir } = setup);
    root = adminClient(server);
    s3 = server.client();
  });
  after(() => setup.cleanup());
  beforeEach(() => {
    setup.resetReceiver();
  });

  function cli(args: readonly string[]) {
    const env = {
      ...process.env,
      BUCKETBELL_ENDPOINT: server.adminUrl,
      BUCKETBELL_ACCESS_KEY: ROOT_USER,
      BUCKETBELL_SECRET_KEY: ROOT_PASSWORD,
    };
    return run(process.execPath, [bin, 'webhook', ...args], { env });
  }

  it('signs a YAML endpoint with signature_format hex so that Alarik’s exact receiver accepts it', async () => {
    const bucket = await setup.newBucket();
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: {
          QueueConfigurations: [
            { Id: 'alarik', QueueArn: 'arn:bucketbell:webhook::alarik', Events: ['s3:ObjectCreated:*'] },
          ],
          TopicConfigurations: [
            {
              Id: 'orchestrator',
              TopicArn: 'arn:bucketbell:webhook::orchestrator',
              Events: ['s3:ObjectCreated:*'],
            },
          ],
        },
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'signed/a b.txt', Body: 'hello' }));
    await receiver.waitFor(
      (rs) => ['/alarik', '/orchestrator'].every((p) => rs.filter((r) => r.path === p).length >= 2),
      20_000,
      'a test event and an event record at each endpoint',
    );

    const alarik = receiver.requests.filter((r) => r.path === '/alarik');
    assert.ok(alarik.some((r) => r.body.includes('s3:TestEvent')));
    assert.ok(alarik.some((r) => r.body.startsWith('{"Records"')));
    for (const request of alarik) {
      assert.match(headerValue(request.headers, ALARIK_HEADER) ?? '', /^[0-9a-f]{64}$/);
      assert.ok(
        alarikAccepts(request, ALARIK_SECRET),
        `Alarik's recipe verifies ${request.body.slice(0, 60)}`,
      );
      assert.ok(!alarikAccepts(request, ORCHESTRATOR_SECRET));
      assert.equal(request.headers['x-hub-signature-256'], undefined);
    }

    // The default format is unchanged: s3-orchestrator's X-Signature-256: sha256=<hex>.
    const orchestrator = receiver.requests.filter((r) => r.path === '/orchestrator');
    for (const request of orchestrator) {
      const value = headerValue(request.headers, 'X-Signature-256') ?? '';
      assert.equal(value, `sha256=${expectedSignature(ORCHESTRATOR_SECRET, request.body)}`);
      assert.ok(!alarikAccepts(request, ORCHESTRATOR_SECRET, 'X-Signature-256'), 'sha256= is not bare hex');
    }

    const { webhook } = await root.request<{ webhook: Webhook }>('GET', '/webhooks/alarik');
    assert.equal(webhook.signatureHeader, ALARIK_HEADER);
    assert.equal(webhook.signatureFormat, 'hex');
    const other = await root.request<{ webhook: Webhook }>('GET', '/webhooks/orchestrator');
    assert.equal(other.webhook.signatureFormat, 'prefixed');
  });

  it('creates an Alarik-format webhook through the admin API; a rotation signs the new secret alone in the header', async () => {
    const bucket = await setup.newBucket();
    const created = await root.request<{ webhook: Webhook; secret: string }>('POST', '/webhooks', {
      bucket,
      url: `${receiver.url}/api-alarik`,
      events: ['s3:ObjectCreated:*'],
      signatureHeader: ALARIK_HEADER,
      signatureFormat: 'hex',
    });
    const { webhook, secret } = created;
    assert.equal(webhook.signatureFormat, 'hex');
    assert.equal(webhook.signatureHeader, ALARIK_HEADER);

    const events = () => receiver.eventRequests().filter((r) => r.path === '/api-alarik');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'first', Body: 'x' }));
    await receiver.waitFor(() => events().length >= 1, 20_000, 'the first event');
    const first = events()[0]!;
    assert.ok(alarikAccepts(first, secret));
    assert.equal(headerValue(first.headers, PREVIOUS_HEADER), undefined);

    // The ping is built as deliveries are: the same format.
    const ping = await root.request<{ outcome: string }>('POST', `/webhooks/${webhook.id}/ping`);
    assert.equal(ping.outcome, 'succeeded');
    const pinged = receiver.requests.filter((r) => r.path === '/api-alarik').at(-1)!;
    assert.ok(pinged.body.includes('s3:TestEvent'));
    assert.ok(alarikAccepts(pinged, secret));

    // During a rotation's overlap the header carries only the new signature (a whole-value comparison
    // still works) and X-Bucketbell-Signature-Previous-256 the old one, in the same bare-hex format.
    const rotated = await root.request<{ secret: string }>('POST', `/webhooks/${webhook.id}/rotate-secret`, {
      overlap: '1h',
    });
    receiver.requests.length = 0;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'rotated', Body: 'x' }));
    await receiver.waitFor(() => events().length >= 1, 20_000, 'the event after the rotation');
    const during = events()[0]!;
    assert.ok(alarikAccepts(during, rotated.secret), 'the header verifies with the new secret');
    assert.ok(!alarikAccepts(during, secret), 'and only with it');
    assert.ok(
      alarikAccepts(during, secret, PREVIOUS_HEADER),
      'the Previous header verifies with the old one',
    );

    // Back to sha256=<hex> with PATCH: the header now lists both signatures of the overlap.
    const patched = await root.request<{ webhook: Webhook }>('PATCH', `/webhooks/${webhook.id}`, {
      signatureFormat: 'prefixed',
    });
    assert.equal(patched.webhook.signatureFormat, 'prefixed');
    receiver.requests.length = 0;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'prefixed', Body: 'x' }));
    await receiver.waitFor(() => events().length >= 1, 20_000, 'the event after the PATCH');
    const prefixed = events()[0]!;
    assert.equal(
      headerValue(prefixed.headers, ALARIK_HEADER),
      `sha256=${expectedSignature(rotated.secret, prefixed.body)},sha256=${expectedSignature(secret, prefixed.body)}`,
    );
    assert.equal(
      headerValue(prefixed.headers, PREVIOUS_HEADER),
      `sha256=${expectedSignature(secret, prefixed.body)}`,
    );
  });

  it('refuses an unknown signature format with 400 VALIDATION_FAILED and changes nothing', async () => {
    const bucket = await setup.newBucket();
    const base = { bucket, url: `${receiver.url}/refused`, events: ['s3:ObjectCreated:*'] };
    for (const signatureFormat of ['base64', 'HEX', 'sha256', '', 42, null]) {
      const err: AdminApiError = await expectProblem(
        root.request('POST', '/webhooks', { ...base, signatureFormat }),
        400,
        'VALIDATION_FAILED',
      );
      assert.deepEqual(
        err.fields.map((f) => f.field),
        ['body.signatureFormat'],
        JSON.stringify(signatureFormat),
      );
    }
    const { webhooks } = await root.request<{ webhooks: Webhook[] }>('GET', '/webhooks', undefined, {
      bucket,
    });
    assert.deepEqual(webhooks, [], 'no webhook was created');

    const { webhook } = await root.request<{ webhook: Webhook }>('POST', '/webhooks', {
      ...base,
      signatureFormat: 'hex',
    });
    await sleep(5); // an update would move updatedAt
    const err = await expectProblem(
      root.request('PATCH', `/webhooks/${webhook.id}`, { signatureFormat: 'bare', name: 'renamed' }),
      400,
      'VALIDATION_FAILED',
    );
    assert.match(err.fields.find((f) => f.field === 'body.signatureFormat')?.message ?? '', /prefixed|hex/);
    const after = await root.request<{ webhook: Webhook & { name: string } }>(
      'GET',
      `/webhooks/${webhook.id}`,
    );
    assert.equal(after.webhook.signatureFormat, 'hex');
    assert.notEqual(after.webhook.name, 'renamed');
    assert.equal(after.webhook.updatedAt, webhook.updatedAt);

    // A YAML endpoint is changed in the file, not through the API.
    await expectProblem(
      root.request('PATCH', '/webhooks/alarik', { signatureFormat: 'prefixed' }),
      409,
      'CONFLICT',
    );
  });

  it('sets the format from the CLI with --signature-format, and shows it', async () => {
    const bucket = await setup.newBucket();
    const help = (await run(process.execPath, [bin, 'webhook', '--help'])).stdout;
    assert.match(help, /--signature-format F\s+prefixed: the header is sha256=<hex>/);
    const added = JSON.parse(
      (
        await cli([
          'add',
          '--bucket',
          bucket,
          '--url',
          `${receiver.url}/cli-alarik`,
          '--event',
          's3:ObjectCreated:Put',
          '--signature-header',
          ALARIK_HEADER,
          '--signature-format',
          'hex',
          '--json',
        ])
      ).stdout,
    ) as { webhook: Webhook; secret: string };
    assert.equal(added.webhook.signatureFormat, 'hex');
    const shown = (await cli(['show', added.webhook.id])).stdout;
    assert.match(shown, /Signature header:\s+X-Alarik-Signature-256: <hex>$/m);

    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'from-cli', Body: 'x' }));
    await receiver.waitFor((rs) =>
      rs.some((r) => r.path === '/cli-alarik' && r.body.startsWith('{"Records"')),
    );
    const event = receiver.eventRequests().find((r) => r.path === '/cli-alarik')!;
    assert.ok(alarikAccepts(event, added.secret));

    await assert.rejects(
      cli(['update', added.webhook.id, '--signature-format', 'base64']),
      (err: { code?: number; stderr?: string }) => {
        assert.equal(err.code, 1, err.stderr);
        assert.match(err.stderr ?? '', /VALIDATION_FAILED/);
        assert.match(err.stderr ?? '', /signatureFormat/);
        return true;
      },
    );
    assert.equal(
      (JSON.parse((await cli(['show', added.webhook.id, '--json'])).stdout) as Webhook).signatureFormat,
      'hex',
    );
    const updated = JSON.parse(
      (await cli(['update', added.webhook.id, '--signature-format', 'prefixed', '--json'])).stdout,
    ) as Webhook;
    assert.equal(updated.signatureFormat, 'prefixed');
    assert.match(
      (await cli(['show', added.webhook.id])).stdout,
      /Signature header:\s+X-Alarik-Signature-256: sha256=<hex>$/m,
    );
  });

  it('refuses a YAML file with an unknown signature_format at start, leaving the running endpoints alone', async () => {
    const bad = path.join(configDir, 'bad.yaml');
    await writeFile(
      bad,
      [
        'endpoints:',
        '  - name: alarik',
        `    url: ${receiver.url}/alarik`,
        '    signature_format: base64',
        '',
      ].join('\n'),
    );
    await assert.rejects(
      run(
        process.execPath,
        [
          bin,
          'serve',
          '--config',
          bad,
          '--data-dir',
          server.dataDir,
          '--address',
          '127.0.0.1:0',
          '--admin-address',
          '127.0.0.1:0',
        ],
        { env: { ...process.env, BUCKETBELL_DATABASE_URL: server.databaseUrl ?? '' }, timeout: 60_000 },
      ),
      (err: { code?: number; stderr?: string }) => {
        assert.equal(err.code, 2, err.stderr);
        assert.match(err.stderr ?? '', /invalid setting endpoints\.0\.signature_format: .*prefixed .*hex/);
        return true;
      },
    );
    const { webhook } = await root.request<{ webhook: Webhook }>('GET', '/webhooks/alarik');
    assert.equal(webhook.signatureFormat, 'hex');
  });
});
