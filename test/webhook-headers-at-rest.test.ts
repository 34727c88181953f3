import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { AdminClient } from '../src/cli/admin-client.ts';
import { adminClient } from './support/admin-api.ts';
import { queryServerDb, writeServerDb } from './support/inspect-db.ts';
import {
  persistentStorage,
  startServer,
  type PersistentStorage,
  type TestServer,
} from './support/test-server.ts';
import { WebhookReceiver, type ReceivedRequest } from './support/webhook-receiver.ts';
import { dumpServerDb, openSealed } from './support/sealed-values.ts';

const BUCKET = 'header-bucket';
const API_KEY = 'hdr-api-key-Zq81vX-never-stored';
const TENANT = 'hdr-tenant-Kp42-never-stored';
const NEW_API_KEY = 'hdr-api-key-rotated-Wm73';
const LEGACY_VALUE = 'hdr-legacy-value-Ju55-from-before-sealing';

interface Webhook {
  id: string;
  headers: Record<string, string>;
}

interface Attempt {
  request: { headers: Record<string, string> };
}

describe("webhooks' extra headers at rest", () => {
  let storage: PersistentStorage;
  let server: TestServer;
  let receiver: WebhookReceiver;
  let root: AdminClient;
  let s3: S3Client;
  let masterKey: Buffer;
  let hook: string;
  const settings = {
    BUCKETBELL_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    BUCKETBELL_DELIVERY_POLL_INTERVAL: '50ms',
  };

  async function start(): Promise<void> {
    server = await startServer({ dataDir: storage.dataDir, databaseUrl: storage.databaseUrl, env: settings });
    root = adminClient(server);
    s3 = server.client();
  }

  /** PUTs `key` and returns the POST the receiver got for it. */
  async function deliver(key: string): Promise<ReceivedRequest> {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' }));
    const of = (r: ReceivedRequest) => r.body.includes(`"key":"${key}"`);
    await receiver.waitFor((rs) => rs.some(of), 30_000, `the delivery of ${key}`);
    return receiver.requests.find(of)!;
  }

  async function endpointRow(): Promise<Record<string, unknown>> {
    const [row] = await queryServerDb(
      server,
      'SELECT headers, headers_ciphertext FROM endpoints WHERE id = $1',
      [hook],
    );
    assert.ok(row, 'the webhook has an endpoint row');
    return row;
  }

  async function assertNotInDatabase(values: readonly string[]): Promise<void> {
    const dump = await dumpServerDb(server, 'endpoints');
    assert.ok(dump.includes(hook), 'the dump has the data');
    for (const value of values) assert.ok(!dump.includes(value), `the database holds ${value} in the clear`);
  }

  before(async () => {
    storage = await persistentStorage();
    receiver = await new WebhookReceiver().start();
    await start();
    masterKey = Buffer.from(
      (await readFile(path.join(storage.dataDir, 'master.key'), 'utf8')).trim(),
      'base64',
    );
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  after(async () => {
    await server.stop();
    await receiver.stop();
    await storage.remove();
  });

  it('stores them only sealed under the master key, and every delivery carries them', async () => {
    const { webhook } = await root.request<{ webhook: Webhook }>('POST', '/webhooks', {
      bucket: BUCKET,
      url: `${receiver.url}/hook`,
      events: ['s3:ObjectCreated:*'],
      headers: { 'X-Api-Key': API_KEY, 'X-Tenant': TENANT },
    });
    hook = webhook.id;
    assert.deepEqual(webhook.headers, { 'X-Api-Key': '***', 'X-Tenant': TENANT }, 'shown as before');

    const request = await deliver('first.txt');
    assert.equal(request.headers['x-api-key'], API_KEY);
    assert.equal(request.headers['x-tenant'], TENANT);

    const row = await endpointRow();
    assert.equal(row['headers'], '{}');
    assert.deepEqual(JSON.parse(openSealed(masterKey, row['headers_ciphertext'])), {
      'X-Api-Key': API_KEY,
      'X-Tenant': TENANT,
    });
    // Nowhere in the database (the attempt log included) is a header value in the clear.
    await assertNotInDatabase([API_KEY, TENANT]);
    if (server.databaseUrl === undefined) {
      // Nor in the SQLite files' bytes (the WAL and free pages included).
      for (const file of await readdir(storage.dataDir)) {
        if (!file.startsWith('bucketbell.db')) continue;
        const bytes = await readFile(path.join(storage.dataDir, file));
        for (const value of [API_KEY, TENANT]) assert.ok(!bytes.includes(value), `${file} holds ${value}`);
      }
    }
    // The attempt log names the extra headers but shows none of their values.
    const [delivery] = (
      await root.request<{ deliveries: { id: string }[] }>('GET', `/webhooks/${hook}/deliveries`)
    ).deliveries;
    const { attempts } = await root.request<{ attempts: Attempt[] }>('GET', `/deliveries/${delivery!.id}`);
    assert.equal(attempts[0]?.request.headers['X-Api-Key'], '***');
    assert.equal(attempts[0]?.request.headers['X-Tenant'], '***');
  });

  it('seals a new set on PATCH, keeps the set through other changes, and sends what is stored', async () => {
    const { webhook } = await root.request<{ webhook: Webhook }>('PATCH', `/webhooks/${hook}`, {
      headers: { 'X-Api-Key': NEW_API_KEY },
    });
    assert.deepEqual(webhook.headers, { 'X-Api-Key': '***' });
    const request = await deliver('patched.txt');
    assert.equal(request.headers['x-api-key'], NEW_API_KEY);
    assert.equal(request.headers['x-tenant'], undefined, 'the PATCH replaced the whole set');
    assert.deepEqual(JSON.parse(openSealed(masterKey, (await endpointRow())['headers_ciphertext'])), {
      'X-Api-Key': NEW_API_KEY,
    });

    await root.request('PATCH', `/webhooks/${hook}`, { name: 'renamed', timeout: '5s' });
    assert.equal((await deliver('renamed.txt')).headers['x-api-key'], NEW_API_KEY);
    await assertNotInDatabase([NEW_API_KEY]);

    // An empty set stores nothing, sealed or not.
    await root.request('PATCH', `/webhooks/${hook}`, { headers: {} });
    assert.deepEqual({ ...(await endpointRow()) }, { headers: '{}', headers_ciphertext: null });
    assert.equal((await deliver('no-headers.txt')).headers['x-api-key'], undefined);
  });

  it('seals, at the next start, headers a release before the sealing stored in the clear', async () => {
    await server.stop();
    await writeServerDb(
      storage,
      'UPDATE endpoints SET headers = $1, headers_ciphertext = NULL WHERE id = $2',
      [JSON.stringify({ 'X-Legacy': LEGACY_VALUE }), hook],
    );
    await start();
    assert.match(server.output(), /sealed extra headers stored in the clear/);
    const row = await endpointRow();
    assert.equal(row['headers'], '{}');
    assert.deepEqual(JSON.parse(openSealed(masterKey, row['headers_ciphertext'])), {
      'X-Legacy': LEGACY_VALUE,
    });
    assert.equal((await deliver('after-upgrade.txt')).headers['x-legacy'], LEGACY_VALUE);
    const { webhook } = await root.request<{ webhook: Webhook }>('GET', `/webhooks/${hook}`);
    assert.deepEqual(webhook.headers, { 'X-Legacy': LEGACY_VALUE });
    await assertNotInDatabase([LEGACY_VALUE]);
  });
});
