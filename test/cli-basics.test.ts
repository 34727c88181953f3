import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { adminClient, createUser, type CreatedUser } from './support/admin-api.ts';
import { describeRun, runCli, type CliResult } from './support/cli-run.ts';
import { ROOT_PASSWORD, ROOT_USER, startServer, type TestServer } from './support/test-server.ts';

const bin = path.resolve(import.meta.dirname, '../bin/bucketbell.js');

/** The environment of a CLI run: ours without any BUCKETBELL_* setting, plus `overrides`. */
function cliEnv(overrides: Readonly<Record<string, string>> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith('BUCKETBELL_')) env[name] = value;
  }
  return { ...env, ...overrides };
}

/** The connection flags of a CLI run as root against `endpoint`. */
function rootFlags(endpoint: string): string[] {
  return ['--endpoint', endpoint, '--access-key', ROOT_USER, '--secret-key', ROOT_PASSWORD];
}

/** The environment of a CLI run as root against `endpoint`, from BUCKETBELL_* variables alone. */
function rootEnv(endpoint: string): Record<string, string> {
  return cliEnv({
    BUCKETBELL_ENDPOINT: endpoint,
    BUCKETBELL_ACCESS_KEY: ROOT_USER,
    BUCKETBELL_SECRET_KEY: ROOT_PASSWORD,
  });
}

function bucketbell(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  return runCli(process.execPath, [bin, ...args], { env });
}

/** An address where nothing listens (a port that was free a moment ago). */
async function deadEndpoint(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

describe('CLI: connection flags, the environment, and --json', () => {
  let server: TestServer;
  let alice: CreatedUser;
  let dead: string;
  let webhookId: string;

  before(async () => {
    server = await startServer();
    alice = await createUser(server, 'cli-alice');
    dead = await deadEndpoint();
    await server.client().send(new CreateBucketCommand({ Bucket: 'cli-basics' }));
    const created = await adminClient(server).request<{ webhook: { id: string } }>('POST', '/webhooks', {
      bucket: 'cli-basics',
      url: 'http://127.0.0.1:9/hook',
      events: ['s3:ObjectCreated:*'],
    });
    webhookId = created.webhook.id;
  });
  after(() => server.cleanup());

  it('--endpoint, --access-key and --secret-key work without any environment', async () => {
    const args = ['user', 'ls', ...rootFlags(server.adminUrl)];
    const result = await bucketbell(args, cliEnv());
    assert.equal(result.code, 0, describeRun('bucketbell', args, result));
    assert.match(result.stdout, /^NAME\s+ROLE/m);
    assert.match(result.stdout, /^cli-alice\s+user/m);
  });

  it('the flags override the environment, each of them', async () => {
    const rightEnv = rootEnv(server.adminUrl);
    // Every setting of the environment is wrong; the flags are right.
    const wrongEnv = cliEnv({
      BUCKETBELL_ENDPOINT: dead,
      BUCKETBELL_ACCESS_KEY: 'no-such-key',
      BUCKETBELL_SECRET_KEY: 'no-such-secret',
    });
    const args = ['user', 'ls', ...rootFlags(server.adminUrl)];
    const good = await bucketbell(args, wrongEnv);
    assert.equal(good.code, 0, describeRun('bucketbell', args, good));
    assert.match(good.stdout, /^cli-alice\s+user/m);

    // The environment is right; one flag at a time is what the command uses.
    const endpoint = await bucketbell(['user', 'ls', '--endpoint', dead], rightEnv);
    assert.equal(endpoint.code, 1, describeRun('bucketbell', ['user', 'ls'], endpoint));
    assert.ok(endpoint.stderr.includes(`cannot reach the admin API at ${dead}`), endpoint.stderr);
    const key = await bucketbell(
      ['user', 'ls', '--access-key', alice.accessKeyId, '--secret-key', alice.secretAccessKey],
      rightEnv,
    );
    assert.equal(key.code, 1, describeRun('bucketbell', ['user', 'ls'], key));
    assert.match(key.stderr, /\(FORBIDDEN\)/, 'alice, from the flags, is no admin');
    const secret = await bucketbell(['user', 'ls', '--secret-key', 'wrong-secret'], rightEnv);
    assert.equal(secret.code, 1, describeRun('bucketbell', ['user', 'ls'], secret));
    assert.match(secret.stderr, /\(UNAUTHENTICATED\)/);
  });

  it('a missing credential or a bad endpoint is a clear message and exit code 2, and nothing is sent', async () => {
    const cases: { args: string[]; env: Record<string, string>; message: RegExp }[] = [
      {
        args: ['user', 'ls', '--endpoint', server.adminUrl],
        env: cliEnv(),
        message: /missing an access key \(--access-key or BUCKETBELL_ACCESS_KEY\) and a secret key/,
      },
      {
        args: ['user', 'add', 'cli-nobody', '--endpoint', server.adminUrl, '--access-key', ROOT_USER],
        env: cliEnv(),
        message: /bucketbell user add: missing a secret key \(--secret-key or BUCKETBELL_SECRET_KEY\)/,
      },
      {
        args: ['webhook', 'ls', '--secret-key', ROOT_PASSWORD],
        env: cliEnv({ BUCKETBELL_ENDPOINT: server.adminUrl }),
        message: /missing an access key/,
      },
      {
        args: ['user', 'ls', ...rootFlags('not-a-url')],
        env: cliEnv(),
        message:
          /--endpoint "not-a-url" is not the admin address as an http\(s\) URL, e.g. http:\/\/127\.0\.0\.1:9001/,
      },
      {
        args: ['user', 'ls'],
        env: rootEnv('ftp://127.0.0.1:9001'),
        message: /BUCKETBELL_ENDPOINT "ftp:\/\/127\.0\.0\.1:9001" is not the admin address/,
      },
    ];
    for (const { args, env, message } of cases) {
      const result = await bucketbell(args, env);
      assert.equal(result.code, 2, describeRun('bucketbell', args, result));
      assert.match(result.stderr, message, describeRun('bucketbell', args, result));
      assert.equal(result.stdout, '');
    }
    const { users } = await adminClient(server).request<{ users: { name: string }[] }>('GET', '/users');
    assert.ok(!users.some((u) => u.name === 'cli-nobody'), 'nothing was created');
  });

  it('--json prints JSON that parses, for user ls and webhook ls', async () => {
    const env = rootEnv(server.adminUrl);
    const users = await bucketbell(['user', 'ls', '--json'], env);
    assert.equal(users.code, 0, describeRun('bucketbell', ['user', 'ls', '--json'], users));
    const userList = JSON.parse(users.stdout) as { name: string; role: string; isRoot: boolean }[];
    assert.ok(Array.isArray(userList));
    assert.deepEqual(
      userList.map((u) => [u.name, u.role, u.isRoot]).sort(),
      [
        [ROOT_USER, 'admin', true],
        ['cli-alice', 'user', false],
      ].sort(),
    );
    const webhooks = await bucketbell(['webhook', 'ls', '--json'], env);
    assert.equal(webhooks.code, 0, describeRun('bucketbell', ['webhook', 'ls', '--json'], webhooks));
    const list = JSON.parse(webhooks.stdout) as { id: string; bucket: string }[];
    assert.ok(Array.isArray(list));
    assert.deepEqual(
      list.map((w) => [w.id, w.bucket]),
      [[webhookId, 'cli-basics']],
    );
    const filtered = await bucketbell(['webhook', 'ls', '--bucket', 'no-such-bucket', '--json'], env);
    assert.equal(filtered.code, 0, describeRun('bucketbell', ['webhook', 'ls'], filtered));
    assert.deepEqual(JSON.parse(filtered.stdout), []);
  });
});
