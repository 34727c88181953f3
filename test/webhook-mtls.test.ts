// Per-endpoint client certificates (mTLS): a webhook presents its certificate to an https receiver
// that requires one; the key is stored encrypted and never shown.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { AdminApiError, type AdminClient } from '../src/cli/admin-client.ts';
import { adminClient } from './support/admin-api.ts';
import { queryServerDb } from './support/inspect-db.ts';
import { ROOT_PASSWORD, ROOT_USER, startServer, type TestServer } from './support/test-server.ts';

const run = promisify(execFile);
const bin = path.resolve(import.meta.dirname, '../bin/bucketbell.js');

interface ClientCertificateView {
  subject: string;
  issuer: string;
  validTo: string;
  fingerprint256: string;
}

interface Webhook {
  id: string;
  url: string;
  clientCertificate: ClientCertificateView | null;
}

interface Ping {
  outcome: string;
  statusCode: number | null;
  errorCode: string | null;
  error: string | null;
}

interface Pems {
  readonly dir: string;
  readonly caFile: string;
  readonly serverKey: string;
  readonly serverPem: string;
  readonly clientKeyFile: string;
  readonly clientPemFile: string;
  readonly clientKey: string;
  readonly clientPem: string;
  /** A key of no certificate here. */
  readonly strayKey: string;
}

/** Made with the openssl CLI, as src/delivery/http-sender.test.ts does (node:crypto cannot issue them). */
function makePems(): Pems {
  const dir = mkdtempSync(path.join(tmpdir(), 'bucketbell-mtls-e2e-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = (args: string) => execFileSync('openssl', args.split(' '), { cwd: dir, stdio: 'pipe' });
  openssl(
    'req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=bucketbell-test-CA',
  );
  openssl('req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost');
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  openssl(
    'x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext',
  );
  openssl('req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=bucketbell-client');
  writeFileSync(file('client.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  openssl(
    'x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext',
  );
  openssl('genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out stray.key');
  const read = (name: string) => readFileSync(file(name), 'utf8');
  return {
    dir,
    caFile: file('ca.pem'),
    serverKey: read('server.key'),
    serverPem: read('server.pem'),
    clientKeyFile: file('client.key'),
    clientPemFile: file('client.pem'),
    clientKey: read('client.key'),
    clientPem: read('client.pem'),
    strayKey: read('stray.key'),
  };
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

interface Received {
  readonly body: string;
  readonly clientCn: string;
}

/** An https receiver on 127.0.0.1 that refuses every connection without a client certificate of the CA. */
async function startMtlsReceiver(pems: Pems): Promise<{ server: Server; url: string; requests: Received[] }> {
  const requests: Received[] = [];
  const server = createServer(
    {
      key: pems.serverKey,
      cert: pems.serverPem,
      ca: readFileSync(pems.caFile, 'utf8'),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const socket: unknown = req.socket;
        const peer = (socket as TLSSocket).getPeerCertificate();
        requests.push({ body: Buffer.concat(chunks).toString('utf8'), clientCn: String(peer.subject.CN) });
        res.writeHead(200, { 'content-type': 'text/plain' }).end('hello client');
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, requests };
}

async function expectValidationFailure(promise: Promise<unknown>, field: string): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof AdminApiError, String(err));
    assert.equal(err.status, 400, `${err.code}: ${err.message}`);
    assert.equal(err.code, 'VALIDATION_FAILED', err.message);
    assert.deepEqual(
      err.fields.map((f) => f.field),
      [field],
    );
    assert.ok(!err.message.includes('PRIVATE KEY'), err.message);
    return;
  }
  assert.fail(`expected 400 VALIDATION_FAILED on ${field}`);
}

describe(
  'webhooks with a client certificate (mTLS)',
  { skip: hasOpenssl() ? false : 'no openssl CLI' },
  () => {
    let pems: Pems;
    let receiver: Awaited<ReturnType<typeof startMtlsReceiver>>;
    let server: TestServer;
    let root: AdminClient;
    const bucket = 'mtls-hooks';
    let webhookId = '';

    before(async () => {
      pems = makePems();
      receiver = await startMtlsReceiver(pems);
      server = await startServer({ env: { BUCKETBELL_WEBHOOK_CA_FILE: pems.caFile } });
      root = adminClient(server);
      await server.client().send(new CreateBucketCommand({ Bucket: bucket }));
    });
    after(async () => {
      await server.cleanup();
      receiver.server.closeAllConnections();
      await new Promise<void>((resolve) => {
        receiver.server.close(() => {
          resolve();
        });
      });
      rmSync(pems.dir, { recursive: true, force: true });
    });

    function assertNoKey(value: unknown): void {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      assert.ok(!text.includes('PRIVATE KEY'), 'a private key was shown');
      for (const key of [pems.clientKey, pems.strayKey]) {
        // Any line of the base64 body of a key is enough to count as a leak.
        const line = key.split('\n')[3] ?? '';
        assert.ok(line.length > 20 && !text.includes(line), 'a private key was shown');
      }
    }

    const ping = (id: string) => root.request<Ping>('POST', `/webhooks/${id}/ping`);
    const show = async (id: string) =>
      (await root.request<{ webhook: Webhook }>('GET', `/webhooks/${id}`)).webhook;

    it('creates a webhook with a client certificate: the view describes it, never the key', async () => {
      const created = await root.request<{ webhook: Webhook; secret: string }>('POST', '/webhooks', {
        bucket,
        url: receiver.url,
        events: ['s3:ObjectCreated:*'],
        clientCertificate: { certificate: pems.clientPem, privateKey: pems.clientKey },
      });
      webhookId = created.webhook.id;
      const x509 = new X509Certificate(pems.clientPem);
      assert.deepEqual(created.webhook.clientCertificate, {
        subject: 'CN=bucketbell-client',
        issuer: 'CN=bucketbell-test-CA',
        validTo: x509.validToDate.toISOString(),
        fingerprint256: x509.fingerprint256,
      });
      assertNoKey(created);
      const { webhooks } = await root.request<{ webhooks: Webhook[] }>('GET', '/webhooks', undefined, {
        bucket,
      });
      assert.deepEqual(webhooks[0]?.clientCertificate, created.webhook.clientCertificate);
      assertNoKey(webhooks);
      // Stored: the certificate in the clear, the key sealed under the master key.
      const [row] = await queryServerDb(
        server,
        'select client_certificate, client_key_ciphertext from endpoints where id = $1',
        [webhookId],
      );
      assert.match(String(row?.['client_certificate']), /-----BEGIN CERTIFICATE-----/);
      assert.match(String(row?.['client_key_ciphertext']), /^v1:/);
      assertNoKey(String(row?.['client_key_ciphertext']));
    });

    it('presents the certificate: the ping succeeds and the events arrive', async () => {
      const answer = await ping(webhookId);
      assert.equal(answer.outcome, 'succeeded', `${answer.errorCode ?? ''} ${answer.error ?? ''}`);
      assert.equal(answer.statusCode, 200);
      assert.equal(receiver.requests.at(-1)?.clientCn, 'bucketbell-client');
      await server.client().send(new PutObjectCommand({ Bucket: bucket, Key: 'a.txt', Body: 'hello' }));
      const deadline = Date.now() + 10_000;
      while (!receiver.requests.some((r) => r.body.startsWith('{"Records"')) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      const event = receiver.requests.find((r) => r.body.startsWith('{"Records"'));
      assert.ok(event !== undefined, 'the PUT event did not arrive');
      assert.equal(event.clientCn, 'bucketbell-client');
      assert.match(event.body, /"key":"a\.txt"/);
    });

    it('refuses a broken certificate or a key of another certificate with 400, changing nothing', async () => {
      const before = await show(webhookId);
      const patch = (clientCertificate: unknown) =>
        root.request('PATCH', `/webhooks/${webhookId}`, { clientCertificate });
      await expectValidationFailure(
        patch({ certificate: 'not a certificate', privateKey: pems.clientKey }),
        'body.clientCertificate.certificate',
      );
      await expectValidationFailure(
        patch({
          certificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
          privateKey: pems.clientKey,
        }),
        'body.clientCertificate.certificate',
      );
      await expectValidationFailure(
        patch({ certificate: pems.clientPem, privateKey: 'garbage' }),
        'body.clientCertificate.privateKey',
      );
      await expectValidationFailure(
        patch({ certificate: pems.clientPem, privateKey: pems.strayKey }),
        'body.clientCertificate.privateKey',
      );
      await expectValidationFailure(
        patch({ certificate: pems.clientPem }),
        'body.clientCertificate.privateKey',
      );
      assert.deepEqual(await show(webhookId), before);
      // Nor is a webhook created with a mismatched key.
      const count = async () =>
        (await root.request<{ webhooks: Webhook[] }>('GET', '/webhooks', undefined, { bucket })).webhooks
          .length;
      const webhooksBefore = await count();
      await expectValidationFailure(
        root.request('POST', '/webhooks', {
          bucket,
          url: receiver.url,
          events: ['s3:ObjectRemoved:*'],
          clientCertificate: { certificate: pems.clientPem, privateKey: pems.strayKey },
        }),
        'body.clientCertificate.privateKey',
      );
      assert.equal(await count(), webhooksBefore);
      assert.equal((await ping(webhookId)).outcome, 'succeeded');
    });

    it('removing the certificate makes the next ping fail; the CLI sets it again', async () => {
      const removed = await root.request<{ webhook: Webhook }>('PATCH', `/webhooks/${webhookId}`, {
        clientCertificate: null,
      });
      assert.equal(removed.webhook.clientCertificate, null);
      const [row] = await queryServerDb(
        server,
        'select client_certificate, client_key_ciphertext from endpoints where id = $1',
        [webhookId],
      );
      assert.equal(row?.['client_certificate'], null);
      assert.equal(row?.['client_key_ciphertext'], null);
      const failed = await ping(webhookId);
      assert.equal(failed.outcome, 'failed');
      assert.equal(failed.statusCode, null);
      assert.equal(failed.errorCode, 'TLS_ERROR', failed.error ?? '');

      const env = {
        ...process.env,
        BUCKETBELL_ENDPOINT: server.adminUrl,
        BUCKETBELL_ACCESS_KEY: ROOT_USER,
        BUCKETBELL_SECRET_KEY: ROOT_PASSWORD,
      };
      const cli = (args: readonly string[]) => run(process.execPath, [bin, 'webhook', ...args], { env });
      await cli([
        'update',
        webhookId,
        '--client-cert',
        pems.clientPemFile,
        '--client-key',
        pems.clientKeyFile,
      ]);
      const shown = await cli(['show', webhookId]);
      assert.match(shown.stdout, /Client certificate:\s+CN=bucketbell-client \(issuer CN=bucketbell-test-CA/);
      assertNoKey(shown.stdout);
      assert.equal((await ping(webhookId)).outcome, 'succeeded');
      await cli(['update', webhookId, '--no-client-cert']);
      assert.equal((await show(webhookId)).clientCertificate, null);
      assert.equal((await ping(webhookId)).errorCode, 'TLS_ERROR');
    });

    it('never logs the key', () => {
      assertNoKey(server.output());
    });
  },
);
