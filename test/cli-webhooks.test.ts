import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  GetBucketNotificationConfigurationCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { createUser, type CreatedUser } from './support/admin-api.ts';
import { ROOT_PASSWORD, ROOT_USER, startServer, type TestServer } from './support/test-server.ts';
import { expectedSignature, WebhookReceiver } from './support/webhook-receiver.ts';

const run = promisify(execFile);
const bin = path.resolve(import.meta.dirname, '../bin/bucketbell.js');

interface Webhook {
  id: string;
  name: string;
  url: string;
  state: string;
  auth: { type: string };
  headers: Record<string, string>;
  timeoutMs: number;
  retry: { maxAttempts: number };
  rules: { id: string; events: string[]; prefix: string; suffix: string }[];
}

describe('CLI: bucketbell webhook', () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  let alice: CreatedUser;

  before(async () => {
    receiver = await new WebhookReceiver().start();
    server = await startServer({ env: { BUCKETBELL_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' } });
    alice = await createUser(server, 'alice');
    await server.client().send(new CreateBucketCommand({ Bucket: 'cli-hooks' }));
    await server.client(alice).send(new CreateBucketCommand({ Bucket: 'alice-hooks' }));
  });
  after(async () => {
    await server.cleanup();
    await receiver.stop();
  });

  function cli(
    args: readonly string[],
    keys: { accessKeyId: string; secretAccessKey: string } = {
      accessKeyId: ROOT_USER,
      secretAccessKey: ROOT_PASSWORD,
    },
  ) {
    const env = {
      ...process.env,
      BUCKETBELL_ENDPOINT: server.adminUrl,
      BUCKETBELL_ACCESS_KEY: keys.accessKeyId,
      BUCKETBELL_SECRET_KEY: keys.secretAccessKey,
    };
    return run(process.execPath, [bin, 'webhook', ...args], { env });
  }

  async function expectFailure(promise: Promise<unknown>, code: number, stderr: RegExp): Promise<void> {
    await assert.rejects(promise, (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, code, err.stderr);
      assert.match(err.stderr ?? '', stderr);
      return true;
    });
  }

  it('adds a webhook, prints the secret once, and lists and shows it without secrets', async () => {
    const added = await cli([
      'add',
      '--bucket',
      'cli-hooks',
      '--url',
      `${receiver.url}/cli`,
      '--event',
      's3:ObjectCreated:*',
      '--event',
      's3:ObjectRemoved:Delete',
      '--prefix',
      'docs/',
      '--name',
      'docs hook',
      '--auth-header',
      'Bearer cli-secret-token',
      '--header',
      'X-Team: storage',
      '--timeout',
      '5s',
      '--max-attempts',
      '3',
    ]);
    const id = /Webhook (wh_[0-9a-f]+) added to bucket cli-hooks/.exec(added.stdout)?.[1] ?? '';
    assert.ok(id !== '', added.stdout);
    const secret = /Signing secret: (whsec_\S+)/.exec(added.stdout)?.[1] ?? '';
    assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.match(added.stdout, /shown only now/);

    const listed = (await cli(['ls'])).stdout;
    assert.match(listed, /^ID\s+NAME\s+BUCKET\s+STATE\s+EVENTS\s+URL/m);
    assert.match(
      listed,
      new RegExp(
        `^${id}\\s+docs hook\\s+cli-hooks\\s+active\\s+s3:ObjectCreated:\\*,s3:ObjectRemoved:Delete \\(prefix=docs/\\)`,
        'm',
      ),
    );
    const shown = (await cli(['show', id])).stdout;
    assert.match(shown, /Auth:\s+bearer/);
    assert.match(shown, /X-Team: storage/);
    assert.match(shown, /Timeout:\s+5000 ms/);
    const json = JSON.parse((await cli(['show', id, '--json'])).stdout) as Webhook;
    assert.equal(json.auth.type, 'bearer');
    assert.equal(json.retry.maxAttempts, 3);
    assert.deepEqual(json.rules[0]?.events, ['s3:ObjectCreated:*', 's3:ObjectRemoved:Delete']);
    for (const text of [listed, shown, JSON.stringify(json), (await cli(['ls', '--json'])).stdout]) {
      assert.ok(!text.includes(secret));
      assert.ok(!text.includes('cli-secret-token'));
    }

    const config = await server
      .client()
      .send(new GetBucketNotificationConfigurationCommand({ Bucket: 'cli-hooks' }));
    assert.equal(config.QueueConfigurations?.[0]?.QueueArn, `arn:bucketbell:webhook::${id}`);
    await server.client().send(new PutObjectCommand({ Bucket: 'cli-hooks', Key: 'docs/a.md', Body: '# a' }));
    await receiver.waitFor((r) => r.some((x) => x.path === '/cli'));
    const request = receiver.requests.find((x) => x.path === '/cli')!;
    assert.equal(request.headers['authorization'], 'Bearer cli-secret-token');
    assert.equal(request.headers['x-team'], 'storage');
    assert.equal(request.headers['x-hub-signature-256'], `sha256=${expectedSignature(secret, request.body)}`);
  });

  it('updates, pauses, resumes, rotates, pings and removes', async () => {
    const added = JSON.parse(
      (
        await cli([
          'add',
          '--bucket',
          'cli-hooks',
          '--url',
          `${receiver.url}/second`,
          '--event',
          's3:ObjectCreated:Put',
          '--suffix',
          '.csv',
          '--basic-auth',
          'loader:s3cr3t-pass',
          '--json',
        ])
      ).stdout,
    ) as { webhook: Webhook; secret: string };
    const { id } = added.webhook;
    assert.equal(added.webhook.auth.type, 'basic');
    assert.match(added.secret, /^whsec_/);

    const updated = JSON.parse(
      (await cli(['update', id, '--name', 'csv loader', '--suffix', '.tsv', '--no-auth', '--json'])).stdout,
    ) as Webhook;
    assert.equal(updated.name, 'csv loader');
    assert.equal(updated.rules[0]?.suffix, '.tsv');
    assert.equal(updated.auth.type, 'none');

    assert.match(
      (await cli(['pause', id])).stdout,
      new RegExp(`Webhook ${id} paused; 0 waiting deliveries held`),
    );
    await server.client().send(new PutObjectCommand({ Bucket: 'cli-hooks', Key: 'a.tsv', Body: 'x' }));
    assert.match((await cli(['show', id])).stdout, /State:\s+paused \(paused by bucketbell-root\)/);
    assert.match(
      (await cli(['resume', id])).stdout,
      new RegExp(`Webhook ${id} resumed; 1 held deliveries released`),
    );
    await receiver.waitFor((r) => r.some((x) => x.path === '/second'));

    await cli(['pause', id]);
    await server.client().send(new PutObjectCommand({ Bucket: 'cli-hooks', Key: 'b.tsv', Body: 'x' }));
    assert.match((await cli(['resume', id, '--discard-held'])).stdout, /1 held deliveries discarded/);

    const rotated = (await cli(['rotate-secret', id, '--overlap', '1h'])).stdout;
    assert.match(rotated, /the old one signs too until \d{4}-/);
    const newSecret = /Signing secret: (whsec_\S+)/.exec(rotated)?.[1] ?? '';
    assert.notEqual(newSecret, added.secret);

    receiver.script.push({ status: 201, body: 'hello from the receiver' });
    const ping = (await cli(['ping', id])).stdout;
    assert.match(ping, /Ping succeeded: HTTP 201 in \d+ ms/);
    assert.match(ping, /hello from the receiver/);
    const pinged = receiver.requests.at(-1)!;
    assert.equal(
      String(pinged.headers['x-hub-signature-256']).split(',')[0],
      `sha256=${expectedSignature(newSecret, pinged.body)}`,
    );
    receiver.script.push({ status: 500, body: 'boom' });
    const failed = JSON.parse((await cli(['ping', id, '--json'])).stdout) as {
      outcome: string;
      statusCode: number;
    };
    assert.deepEqual([failed.outcome, failed.statusCode], ['failed', 500]);

    assert.match((await cli(['rm', id])).stdout, new RegExp(`Webhook ${id} deleted`));
    await expectFailure(cli(['show', id]), 1, /NOT_FOUND/);
  });

  it('reports usage mistakes (exit 2) and API refusals (exit 1) with the failing fields', async () => {
    await expectFailure(
      cli(['add', '--url', 'http://example.com/', '--event', 's3:ObjectCreated:*']),
      2,
      /missing --bucket/,
    );
    await expectFailure(
      cli(['add', '--bucket', 'cli-hooks', '--url', 'http://example.com/']),
      2,
      /missing --event/,
    );
    await expectFailure(cli(['add', '--bucket', 'cli-hooks', '--bogus']), 2, /bogus/);
    await expectFailure(cli(['frob']), 2, /unknown subcommand 'frob'/);
    await expectFailure(cli(['update', 'wh_x']), 2, /nothing to change/);
    await expectFailure(
      cli([
        'add',
        '--bucket',
        'cli-hooks',
        '--url',
        `${receiver.url}/x`,
        '--event',
        's3:Nope',
        '--header',
        'Host: evil',
      ]),
      1,
      /VALIDATION_FAILED[\s\S]*body\.events\.0[\s\S]*body\.headers\.Host/,
    );
    // Tenants: alice cannot hook the root's bucket, nor see its webhooks; she can add to her own.
    await expectFailure(
      cli(
        ['add', '--bucket', 'cli-hooks', '--url', `${receiver.url}/x`, '--event', 's3:ObjectCreated:*'],
        alice,
      ),
      1,
      /FORBIDDEN/,
    );
    await expectFailure(
      cli(
        [
          'add',
          '--bucket',
          'alice-hooks',
          '--url',
          'http://169.254.169.254/',
          '--event',
          's3:ObjectCreated:*',
        ],
        alice,
      ),
      1,
      /SSRF_BLOCKED/,
    );
    const own = (
      await cli(
        ['add', '--bucket', 'alice-hooks', '--url', `${receiver.url}/alice`, '--event', 's3:ObjectCreated:*'],
        alice,
      )
    ).stdout;
    assert.match(own, /added to bucket alice-hooks/);
    const listed = JSON.parse((await cli(['ls', '--json'], alice)).stdout) as Webhook[];
    assert.deepEqual(
      listed.map((w) => w.url),
      [`${receiver.url}/alice`],
    );
    const help = (await run(process.execPath, [bin, 'webhook', '--help'])).stdout;
    for (const command of ['add', 'ls', 'show', 'update', 'rm', 'pause', 'resume', 'rotate-secret', 'ping'])
      assert.match(help, new RegExp(`^\\s+${command}\\s`, 'm'));
  });
});
