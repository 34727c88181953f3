import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { adminClient, createUser, type CreatedUser, expectProblem } from './support/admin-api.ts';
import { expectS3Error } from './support/s3-errors.ts';
import { BUCKETBELL_BIN as bin, rootCli } from './support/bucketbell-cli.ts';
import { ROOT_USER, startServer, type TestServer } from './support/test-server.ts';

const run = promisify(execFile);

describe('admin API: users, keys, ownership', () => {
  let server: TestServer;
  let alice: CreatedUser;
  let bob: CreatedUser;
  let aliceS3: S3Client;
  let bobS3: S3Client;

  before(async () => {
    // Webhooks in these tests point at loopback, which non-admins may target only when allowed.
    server = await startServer({ env: { BUCKETBELL_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' } });
    alice = await createUser(server, 'alice');
    bob = await createUser(server, 'bob');
    aliceS3 = server.client({ accessKeyId: alice.accessKeyId, secretAccessKey: alice.secretAccessKey });
    bobS3 = server.client({ accessKeyId: bob.accessKeyId, secretAccessKey: bob.secretAccessKey });
  });
  after(() => server.cleanup());

  it('refuses unauthenticated and badly signed requests with 401 problem+json', async () => {
    const res = await fetch(`${server.adminUrl}/api/v1/users`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const problem = (await res.json()) as { code: string; status: number; title: string; detail: string };
    assert.equal(problem.code, 'UNAUTHENTICATED');
    assert.equal(problem.status, 401);
    await expectProblem(
      adminClient(server, { accessKeyId: ROOT_USER, secretAccessKey: 'wrong-secret-key' }).request(
        'GET',
        '/users',
      ),
      401,
      'UNAUTHENTICATED',
    );
    await expectProblem(adminClient(server).request('GET', '/no/such/route'), 404, 'NOT_FOUND');
    await expectProblem(adminClient(server).request('PUT', '/users'), 405, 'METHOD_NOT_ALLOWED');
  });

  it('creates users whose keys work on the S3 API, shows the secret only once, and lists them', async () => {
    const me = await adminClient(server, {
      accessKeyId: alice.accessKeyId,
      secretAccessKey: alice.secretAccessKey,
    }).request<{ userName: string; role: string }>('GET', '/whoami');
    assert.deepEqual(me, { userName: 'alice', accessKeyId: alice.accessKeyId, role: 'user' });
    const shown = await adminClient(server).request<{ user: unknown; accessKeys: Record<string, unknown>[] }>(
      'GET',
      '/users/alice',
    );
    assert.equal(shown.accessKeys.length, 1);
    assert.equal(shown.accessKeys[0]?.['secretKey'], undefined, 'the secret is never returned again');
    assert.ok(!JSON.stringify(shown).includes(alice.secretAccessKey));
    const { users } = await adminClient(server).request<{
      users: { name: string; role: string; isRoot: boolean }[];
    }>('GET', '/users');
    assert.deepEqual(users.map((u) => u.name).sort(), [ROOT_USER, 'alice', 'bob'].sort());
    assert.ok(users.find((u) => u.name === ROOT_USER)?.isRoot);
    await aliceS3.send(new CreateBucketCommand({ Bucket: 'alice-bucket' }));
    await aliceS3.send(new PutObjectCommand({ Bucket: 'alice-bucket', Key: 'secret.txt', Body: 'mine' }));
  });

  it('keeps tenants apart: another user cannot see or touch a bucket, an admin can', async () => {
    await expectS3Error(
      bobS3.send(new ListObjectsV2Command({ Bucket: 'alice-bucket' })),
      'AccessDenied',
      403,
    );
    await expectS3Error(
      bobS3.send(new PutObjectCommand({ Bucket: 'alice-bucket', Key: 'intruder', Body: 'x' })),
      'AccessDenied',
      403,
    );
    const bobsList = await bobS3.send(new ListBucketsCommand({}));
    assert.ok(!(bobsList.Buckets ?? []).some((b) => b.Name === 'alice-bucket'));
    const rootList = await server.client().send(new ListObjectsV2Command({ Bucket: 'alice-bucket' }));
    assert.deepEqual(
      rootList.Contents?.map((c) => c.Key),
      ['secret.txt'],
    );
  });

  it('keeps the admin API for admins', async () => {
    const asAlice = adminClient(server, {
      accessKeyId: alice.accessKeyId,
      secretAccessKey: alice.secretAccessKey,
    });
    await expectProblem(asAlice.request('GET', '/users'), 403, 'FORBIDDEN');
    await expectProblem(
      asAlice.request('POST', '/users', { name: 'mallory', role: 'admin' }),
      403,
      'FORBIDDEN',
    );
    const { users } = await adminClient(server).request<{ users: { name: string }[] }>('GET', '/users');
    assert.ok(!users.some((u) => u.name === 'mallory'));
  });

  it('refuses bad input with problem+json naming the fields, and changes nothing', async () => {
    const bad = await expectProblem(
      adminClient(server).request('POST', '/users', { name: 'x', role: 'emperor', extra: 1 }),
      400,
      'VALIDATION_FAILED',
    );
    const fields = bad.fields.map((f) => f.field).sort();
    assert.ok(fields.includes('body.name'), fields.join());
    assert.ok(fields.includes('body.role'), fields.join());
    await expectProblem(adminClient(server).request('POST', '/users', { name: 'alice' }), 409, 'CONFLICT');
    await expectProblem(
      adminClient(server).request('PATCH', '/users/alice', { status: 'sleeping' }),
      400,
      'VALIDATION_FAILED',
    );
    await expectProblem(adminClient(server).request('DELETE', `/users/${ROOT_USER}`), 409, 'CONFLICT');
    await expectProblem(
      adminClient(server).request('PATCH', `/users/${ROOT_USER}`, { status: 'disabled' }),
      409,
      'CONFLICT',
    );
    await expectProblem(adminClient(server).request('DELETE', '/users/alice'), 409, 'CONFLICT');
    await expectProblem(adminClient(server).request('DELETE', '/users/nobody'), 404, 'NOT_FOUND');
    const res = await fetch(`${server.adminUrl}/api/v1/openapi.json`, { method: 'GET' });
    assert.equal(res.status, 200);
    const { users } = await adminClient(server).request<{ users: { name: string; status: string }[] }>(
      'GET',
      '/users',
    );
    assert.deepEqual(
      users.map((u) => [u.name, u.status]).sort(),
      [
        [ROOT_USER, 'enabled'],
        ['alice', 'enabled'],
        ['bob', 'enabled'],
      ].sort(),
    );
  });

  it('disables a user at once, and enables it again', async () => {
    await adminClient(server).request('PATCH', '/users/bob', { status: 'disabled' });
    await expectS3Error(bobS3.send(new ListBucketsCommand({})), 'InvalidAccessKeyId', 403);
    await adminClient(server).request('PATCH', '/users/bob', { status: 'enabled' });
    await bobS3.send(new ListBucketsCommand({}));
  });

  it('adds and removes access keys', async () => {
    const key = await adminClient(server).request<{ accessKeyId: string; secretKey: string }>(
      'POST',
      '/users/bob/keys',
      { description: 'ci' },
    );
    const second = server.client({ accessKeyId: key.accessKeyId, secretAccessKey: key.secretKey });
    await second.send(new ListBucketsCommand({}));
    const { accessKeys } = await adminClient(server).request<{ accessKeys: { accessKeyId: string }[] }>(
      'GET',
      '/keys',
      undefined,
      { user: 'bob' },
    );
    assert.equal(accessKeys.length, 2);
    await adminClient(server).request('DELETE', `/keys/${key.accessKeyId}`);
    await expectS3Error(second.send(new ListBucketsCommand({})), 'InvalidAccessKeyId', 403);
    await expectProblem(adminClient(server).request('DELETE', `/keys/${ROOT_USER}`), 409, 'CONFLICT');
  });

  it('works from the CLI: user add/ls/show, key add/ls/rm, with tables and --json', async () => {
    const cli = rootCli(server);
    const added = JSON.parse((await cli('user', 'add', 'carol', '--json')).stdout) as {
      user: { name: string };
      accessKey: { accessKeyId: string; secretKey: string };
    };
    assert.equal(added.user.name, 'carol');
    assert.ok(added.accessKey.secretKey.length >= 30);
    const listed = (await cli('user', 'ls')).stdout;
    assert.match(listed, /^NAME\s+ROLE\s+STATUS/m);
    assert.match(listed, /^carol\s+user\s+enabled/m);
    const key = (await cli('key', 'add', 'carol', '--description', 'laptop')).stdout;
    assert.match(key, /Secret key: \S{30,}/);
    const keyId = /Access key: (\S+)/.exec(key)?.[1] ?? '';
    assert.match(
      (await cli('key', 'ls', '--user', 'carol')).stdout,
      new RegExp(`${keyId}\\s+carol\\s+enabled\\s+laptop`),
    );
    await cli('key', 'rm', keyId);
    assert.doesNotMatch((await cli('key', 'ls', '--user', 'carol')).stdout, new RegExp(keyId));
    await cli('user', 'rm', 'carol');
    await assert.rejects(cli('user', 'show', 'carol'), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr ?? '', /NOT_FOUND/);
      return true;
    });
    await assert.rejects(
      run(process.execPath, [bin, 'user', 'ls'], {
        env: { ...process.env, BUCKETBELL_ACCESS_KEY: '', BUCKETBELL_SECRET_KEY: '' },
      }),
      (err: { code?: number }) => {
        assert.equal(err.code, 2);
        return true;
      },
    );
  });

  /** Every access key's status, by id. */
  async function keyStatuses(): Promise<Record<string, string>> {
    const { accessKeys } = await adminClient(server).request<{
      accessKeys: { accessKeyId: string; status: string }[];
    }>('GET', '/keys');
    return Object.fromEntries(accessKeys.map((k) => [k.accessKeyId, k.status]));
  }

  it("disables one access key at once and enables it again; the user's other keys go on", async () => {
    const root = adminClient(server);
    const added = await root.request<{ accessKeyId: string; secretKey: string }>('POST', '/users/bob/keys', {
      description: 'to disable',
    });
    const keys = { accessKeyId: added.accessKeyId, secretAccessKey: added.secretKey };
    const s3 = server.client(keys);
    const admin = adminClient(server, keys);
    // Used once first, so the server has it cached: disabling must still take effect at once.
    await s3.send(new ListBucketsCommand({}));
    await admin.request('GET', '/whoami');

    const disabled = await root.request<{
      accessKey: { accessKeyId: string; userName: string; status: string };
    }>('PATCH', `/keys/${added.accessKeyId}`, { status: 'disabled' });
    assert.deepEqual(
      [disabled.accessKey.accessKeyId, disabled.accessKey.userName, disabled.accessKey.status],
      [added.accessKeyId, 'bob', 'disabled'],
    );
    assert.ok(!JSON.stringify(disabled).includes(added.secretKey), 'the secret is never returned again');
    await expectS3Error(s3.send(new ListBucketsCommand({})), 'InvalidAccessKeyId', 403);
    await expectProblem(admin.request('GET', '/whoami'), 401, 'UNAUTHENTICATED');
    await bobS3.send(new ListBucketsCommand({}));
    assert.equal((await keyStatuses())[added.accessKeyId], 'disabled');
    assert.equal((await keyStatuses())[bob.accessKeyId], 'enabled');

    const enabled = await root.request<{ accessKey: { status: string } }>(
      'PATCH',
      `/keys/${added.accessKeyId}`,
      {
        status: 'enabled',
      },
    );
    assert.equal(enabled.accessKey.status, 'enabled');
    await s3.send(new ListBucketsCommand({}));
    assert.equal((await admin.request<{ userName: string }>('GET', '/whoami')).userName, 'bob');
    await root.request('DELETE', `/keys/${added.accessKeyId}`);
  });

  it('refuses bad key status changes with problem+json, and changes nothing', async () => {
    const root = adminClient(server);
    const erin = await createUser(server, 'erin', 'admin');
    const asErin = adminClient(server, {
      accessKeyId: erin.accessKeyId,
      secretAccessKey: erin.secretAccessKey,
    });
    const asAlice = adminClient(server, {
      accessKeyId: alice.accessKeyId,
      secretAccessKey: alice.secretAccessKey,
    });
    const before = await keyStatuses();
    assert.ok(Object.values(before).every((status) => status === 'enabled'));

    const unknown = await expectProblem(
      root.request('PATCH', '/keys/NOSUCHACCESSKEY', { status: 'disabled' }),
      404,
      'NOT_FOUND',
    );
    assert.match(unknown.message, /NOSUCHACCESSKEY/);
    for (const body of [{ status: 'sleeping' }, {}, { status: true }, { status: 'disabled', extra: 1 }]) {
      const bad = await expectProblem(
        root.request('PATCH', `/keys/${bob.accessKeyId}`, body),
        400,
        'VALIDATION_FAILED',
      );
      assert.ok(
        bad.fields.some((f) => f.field.startsWith('body')),
        `${JSON.stringify(body)}: ${JSON.stringify(bad.fields)}`,
      );
      if ('status' in body && body.status !== 'disabled') {
        assert.ok(
          bad.fields.some((f) => f.field === 'body.status'),
          JSON.stringify(bad.fields),
        );
      }
    }
    const missing = await expectProblem(
      root.request('PATCH', `/keys/${bob.accessKeyId}`, {}),
      400,
      'VALIDATION_FAILED',
    );
    assert.deepEqual(
      missing.fields.map((f) => f.field),
      ['body.status'],
    );
    // Users may not change keys, not even their own.
    await expectProblem(
      asAlice.request('PATCH', `/keys/${bob.accessKeyId}`, { status: 'disabled' }),
      403,
      'FORBIDDEN',
    );
    await expectProblem(
      asAlice.request('PATCH', `/keys/${alice.accessKeyId}`, { status: 'disabled' }),
      403,
      'FORBIDDEN',
    );
    // The root user's own key, like the root user, stays enabled; so does the key a request is signed with.
    await expectProblem(root.request('PATCH', `/keys/${ROOT_USER}`, { status: 'disabled' }), 409, 'CONFLICT');
    await expectProblem(
      asErin.request('PATCH', `/keys/${ROOT_USER}`, { status: 'disabled' }),
      409,
      'CONFLICT',
    );
    await expectProblem(
      asErin.request('PATCH', `/keys/${erin.accessKeyId}`, { status: 'disabled' }),
      409,
      'CONFLICT',
    );

    assert.deepEqual(await keyStatuses(), before);
    await bobS3.send(new ListBucketsCommand({}));
    await aliceS3.send(new ListBucketsCommand({}));
    await asErin.request('GET', '/users');
    await root.request('DELETE', '/users/erin');
  });

  it('refuses to delete a user that still owns a webhook, even one whose bucket is gone', async () => {
    const root = adminClient(server);
    const frank = await createUser(server, 'frank');
    const frankKeys = { accessKeyId: frank.accessKeyId, secretAccessKey: frank.secretAccessKey };
    const frankS3 = server.client(frankKeys);
    const asFrank = adminClient(server, frankKeys);
    await frankS3.send(new CreateBucketCommand({ Bucket: 'frank-bucket' }));
    const { webhook } = await asFrank.request<{ webhook: { id: string } }>('POST', '/webhooks', {
      bucket: 'frank-bucket',
      name: 'frank-hook',
      url: 'http://127.0.0.1:9/hook',
      events: ['s3:ObjectCreated:*'],
    });

    const both = await expectProblem(root.request('DELETE', '/users/frank'), 409, 'CONFLICT');
    assert.match(both.message, /frank-bucket/);
    assert.match(both.message, new RegExp(webhook.id));
    // Without its bucket the webhook is still frank's (it keeps delivering what was queued).
    await frankS3.send(new DeleteBucketCommand({ Bucket: 'frank-bucket' }));
    const orphan = await expectProblem(root.request('DELETE', '/users/frank'), 409, 'CONFLICT');
    assert.ok(
      orphan.message.includes(`1 webhook(s) (${webhook.id} "frank-hook" whose bucket was deleted)`),
      orphan.message,
    );
    assert.doesNotMatch(orphan.message, /bucket\(s\)/);
    // Nothing changed: frank, his key and his webhook are all still there.
    const shown = await root.request<{ accessKeys: { accessKeyId: string; status: string }[] }>(
      'GET',
      '/users/frank',
    );
    assert.deepEqual(
      shown.accessKeys.map((k) => [k.accessKeyId, k.status]),
      [[frank.accessKeyId, 'enabled']],
    );
    await frankS3.send(new ListBucketsCommand({}));
    await asFrank.request('GET', `/webhooks/${webhook.id}`);

    await asFrank.request('DELETE', `/webhooks/${webhook.id}`);
    await root.request('DELETE', '/users/frank');
    await expectProblem(root.request('GET', '/users/frank'), 404, 'NOT_FOUND');
    assert.equal((await keyStatuses())[frank.accessKeyId], undefined, 'its keys went with it');
    await expectS3Error(frankS3.send(new ListBucketsCommand({})), 'InvalidAccessKeyId', 403);

    // A new user of the same name starts with nothing.
    const again = await createUser(server, 'frank');
    const asNewFrank = adminClient(server, {
      accessKeyId: again.accessKeyId,
      secretAccessKey: again.secretAccessKey,
    });
    assert.deepEqual((await asNewFrank.request<{ webhooks: unknown[] }>('GET', '/webhooks')).webhooks, []);
    await root.request('DELETE', '/users/frank');
  });

  it('works from the CLI: key disable and enable, with --help and clear errors', async () => {
    const cli = rootCli(server);
    const helpText = (await cli('key', '--help')).stdout;
    assert.match(helpText, /^\s+disable ACCESS_KEY_ID\s/m);
    assert.match(helpText, /^\s+enable ACCESS_KEY_ID\s/m);
    assert.match((await cli('--help')).stdout, /^\s+key\s.*disable, enable/m);

    const key = (await cli('key', 'add', 'bob', '--description', 'cli')).stdout;
    const keyId = /Access key: (\S+)/.exec(key)?.[1] ?? '';
    const secret = /Secret key: (\S+)/.exec(key)?.[1] ?? '';
    const s3 = server.client({ accessKeyId: keyId, secretAccessKey: secret });
    await s3.send(new ListBucketsCommand({}));

    assert.equal((await cli('key', 'disable', keyId)).stdout.trim(), `Access key ${keyId} disabled.`);
    await expectS3Error(s3.send(new ListBucketsCommand({})), 'InvalidAccessKeyId', 403);
    assert.match(
      (await cli('key', 'ls', '--user', 'bob')).stdout,
      new RegExp(`${keyId}\\s+bob\\s+disabled\\s+cli`),
    );
    const enabled = JSON.parse((await cli('key', 'enable', keyId, '--json')).stdout) as {
      accessKey: { accessKeyId: string; status: string };
    };
    assert.deepEqual(enabled.accessKey, { ...enabled.accessKey, accessKeyId: keyId, status: 'enabled' });
    await s3.send(new ListBucketsCommand({}));

    await assert.rejects(cli('key', 'disable'), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr ?? '', /missing ACCESS_KEY_ID/);
      return true;
    });
    await assert.rejects(
      cli('key', 'disable', 'NOSUCHACCESSKEY'),
      (err: { code?: number; stderr?: string }) => {
        assert.equal(err.code, 1);
        assert.match(err.stderr ?? '', /NOT_FOUND/);
        return true;
      },
    );
    await assert.rejects(cli('key', 'disable', ROOT_USER), (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr ?? '', /CONFLICT/);
      return true;
    });
    assert.equal((await keyStatuses())[ROOT_USER], 'enabled');
    await s3.send(new ListBucketsCommand({}));
    await cli('key', 'rm', keyId);
  });
});
