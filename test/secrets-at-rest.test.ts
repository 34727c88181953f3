import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, ListBucketsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { adminClient, createUser, type CreatedUser } from './support/admin-api.ts';
import { queryServerDb } from './support/inspect-db.ts';
import {
  persistentStorage,
  ROOT_PASSWORD,
  startServer,
  type PersistentStorage,
  type TestServer,
} from './support/test-server.ts';
import { expectedSignature, WebhookReceiver, type ReceivedRequest } from './support/webhook-receiver.ts';
import { dumpServerDb, openSealed } from './support/sealed-values.ts';

const BUCKET = 'sealed-bucket';
const BASIC_USER = 'hook-user';
const BASIC_PASSWORD = 'basic-password-7f3Kq9-never-stored';
const BASIC_VALUE = `Basic ${Buffer.from(`${BASIC_USER}:${BASIC_PASSWORD}`).toString('base64')}`;

function authorizationOf(request: ReceivedRequest): string | undefined {
  return request.headers['authorization'];
}

describe('secrets at rest (invariant 5)', () => {
  let storage: PersistentStorage;
  let server: TestServer;
  let receiver: WebhookReceiver;
  let alice: CreatedUser;
  /** Alice's second key, made before the restart. */
  let laptop: { accessKeyId: string; secretAccessKey: string };
  let signingSecret: string;
  let masterKey: Buffer;
  let logs = '';

  const settings = {
    BUCKETBELL_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    BUCKETBELL_DELIVERY_POLL_INTERVAL: '50ms',
  };
  /** Everything secret the server was given or generated; none may be stored or logged in the clear. */
  const secrets = (): string[] => [
    ROOT_PASSWORD,
    alice.secretAccessKey,
    laptop.secretAccessKey,
    signingSecret,
    BASIC_PASSWORD,
    BASIC_VALUE,
  ];

  before(async () => {
    storage = await persistentStorage();
    receiver = await new WebhookReceiver().start();
    server = await startServer({ dataDir: storage.dataDir, databaseUrl: storage.databaseUrl, env: settings });
    alice = await createUser(server, 'alice');
    const key = await adminClient(server).request<{ accessKeyId: string; secretKey: string }>(
      'POST',
      '/users/alice/keys',
      { description: 'laptop' },
    );
    laptop = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretKey };
    const aliceKeys = { accessKeyId: alice.accessKeyId, secretAccessKey: alice.secretAccessKey };
    await server.client(aliceKeys).send(new CreateBucketCommand({ Bucket: BUCKET }));
    const created = await adminClient(server, aliceKeys).request<{ secret: string }>('POST', '/webhooks', {
      bucket: BUCKET,
      url: `${receiver.url}/hook`,
      events: ['s3:ObjectCreated:*'],
      auth: { type: 'basic', username: BASIC_USER, password: BASIC_PASSWORD },
    });
    signingSecret = created.secret;
    masterKey = Buffer.from(
      (await readFile(path.join(storage.dataDir, 'master.key'), 'utf8')).trim(),
      'base64',
    );
  });

  after(async () => {
    await server.stop();
    await receiver.stop();
    await storage.remove();
  });

  it('delivers with the Basic credentials and the signing secret it keeps sealed', async () => {
    await server
      .client({ accessKeyId: alice.accessKeyId, secretAccessKey: alice.secretAccessKey })
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: 'before-restart.txt', Body: 'one' }));
    await receiver.waitFor((r) => r.some((q) => q.body.includes('before-restart.txt')), 30_000);
    const request = receiver.requests.find((q) => q.body.includes('before-restart.txt'))!;
    assert.equal(authorizationOf(request), BASIC_VALUE);
    assert.equal(
      request.headers['x-hub-signature-256'],
      `sha256=${expectedSignature(signingSecret, request.body)}`,
    );
  });

  it('generates the master key into the data folder, readable by its owner only', async () => {
    const info = await stat(path.join(storage.dataDir, 'master.key'));
    assert.equal(info.mode & 0o777, 0o600, `mode ${(info.mode & 0o777).toString(8)}`);
    assert.equal(masterKey.length, 32);
  });

  it('stores access keys, the signing secret and the Authorization value only sealed under the master key', async () => {
    const keys = await queryServerDb(server, 'SELECT access_key_id, secret_ciphertext FROM access_keys');
    const sealedKey = (id: string) => keys.find((k) => k['access_key_id'] === id)?.['secret_ciphertext'];
    assert.equal(openSealed(masterKey, sealedKey(alice.accessKeyId)), alice.secretAccessKey);
    assert.equal(openSealed(masterKey, sealedKey(laptop.accessKeyId)), laptop.secretAccessKey);
    const [endpoint] = await queryServerDb(
      server,
      'SELECT secret_ciphertext, authorization_ciphertext FROM endpoints WHERE owner = $1',
      ['alice'],
    );
    assert.ok(endpoint, 'alice has a webhook endpoint');
    assert.equal(openSealed(masterKey, endpoint['secret_ciphertext']), signingSecret);
    assert.equal(openSealed(masterKey, endpoint['authorization_ciphertext']), BASIC_VALUE);

    // Nowhere in the database, not even in the delivery log, is a secret in the clear.
    const dump = await dumpServerDb(server, 'access_keys');
    assert.ok(
      dump.includes(alice.accessKeyId) && dump.includes('before-restart.txt'),
      'the dump has the data',
    );
    for (const secret of secrets())
      assert.ok(!dump.includes(secret), `the database holds a secret: ${secret}`);
    if (server.databaseUrl === undefined) {
      // Nor in the SQLite files' bytes (the WAL and free pages included).
      for (const file of await readdir(storage.dataDir)) {
        if (!file.startsWith('bucketbell.db')) continue;
        const bytes = await readFile(path.join(storage.dataDir, file));
        for (const secret of secrets())
          assert.ok(!bytes.includes(secret), `${file} holds a secret: ${secret}`);
      }
    }
  });

  it('keeps every key and secret working after a restart on the same data folder', async () => {
    await server.stop();
    logs += server.output();
    server = await startServer({ dataDir: storage.dataDir, databaseUrl: storage.databaseUrl, env: settings });
    const again = Buffer.from(
      (await readFile(path.join(storage.dataDir, 'master.key'), 'utf8')).trim(),
      'base64',
    );
    assert.ok(again.equals(masterKey), 'the master key is kept, not regenerated');

    const aliceKeys = { accessKeyId: alice.accessKeyId, secretAccessKey: alice.secretAccessKey };
    for (const keys of [aliceKeys, laptop]) {
      const { Buckets } = await server.client(keys).send(new ListBucketsCommand({}));
      assert.deepEqual(
        Buckets?.map((b) => b.Name),
        [BUCKET],
      );
      const me = await adminClient(server, keys).request<{ userName: string }>('GET', '/whoami');
      assert.equal(me.userName, 'alice');
    }
    await adminClient(server).request('GET', '/users');

    await server
      .client(aliceKeys)
      .send(new PutObjectCommand({ Bucket: BUCKET, Key: 'after-restart.txt', Body: 'two' }));
    await receiver.waitFor((r) => r.some((q) => q.body.includes('after-restart.txt')), 30_000);
    const request = receiver.requests.find((q) => q.body.includes('after-restart.txt'))!;
    assert.equal(authorizationOf(request), BASIC_VALUE);
    assert.equal(
      request.headers['x-hub-signature-256'],
      `sha256=${expectedSignature(signingSecret, request.body)}`,
    );
  });

  it('refuses to start with a master key other than the one the data was sealed with, changing nothing', async () => {
    await server.stop();
    logs += server.output();
    const other = randomBytes(32).toString('base64');
    await assert.rejects(
      startServer({
        dataDir: storage.dataDir,
        databaseUrl: storage.databaseUrl,
        env: { ...settings, BUCKETBELL_MASTER_KEY: other },
      }),
      (err: Error) => {
        assert.match(err.message, /exited with 1 before serving/);
        assert.match(
          err.message,
          /master key .* is not the one the secrets in this database were encrypted with/,
        );
        assert.ok(!err.message.includes(other), 'the message does not repeat the key');
        return true;
      },
    );
    // With the right key everything still works: the refused start sealed nothing with the wrong one.
    server = await startServer({ dataDir: storage.dataDir, databaseUrl: storage.databaseUrl, env: settings });
    const aliceKeys = { accessKeyId: alice.accessKeyId, secretAccessKey: alice.secretAccessKey };
    await server.client(aliceKeys).send(new ListBucketsCommand({}));
    await server.client().send(new ListBucketsCommand({}));
    await adminClient(server, laptop).request('GET', '/whoami');
  });

  it('never writes a secret or the master key to the logs', () => {
    const output = logs + server.output();
    assert.match(output, /user created/, 'the logs are captured');
    for (const secret of [...secrets(), masterKey.toString('base64')]) {
      assert.ok(!output.includes(secret), `the log holds a secret: ${secret}`);
    }
  });

  it('refuses to start with a malformed BUCKETBELL_MASTER_KEY, saying so, and writes nothing', async () => {
    const malformed = [
      'not-a-key',
      randomBytes(16).toString('base64'),
      randomBytes(32).toString('hex'),
      randomBytes(33).toString('base64'),
    ];
    for (const value of malformed) {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'bucketbell-test-'));
      try {
        await assert.rejects(
          startServer({ dataDir, env: { BUCKETBELL_MASTER_KEY: value } }),
          (err: Error) => {
            assert.match(err.message, /exited with 1 before serving/);
            assert.match(err.message, /BUCKETBELL_MASTER_KEY must be 32 random bytes, base64-encoded/);
            assert.ok(!err.message.includes(value), 'the message does not repeat the key');
            return true;
          },
        );
        await assert.rejects(stat(path.join(dataDir, 'master.key')), { code: 'ENOENT' });
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    }
  });
});
