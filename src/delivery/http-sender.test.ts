import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAddressGuard } from './address-guard.ts';
import { parseCidr, type Cidr } from './address-policy.ts';
import { HttpSender } from './http-sender.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function listen(handler: Handler): Promise<{ server: Server; url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handler(req, res, Buffer.concat(chunks).toString('utf8'));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, hits: () => hits };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
  });
}

describe('HttpSender', () => {
  const sender = new HttpSender();
  const servers: Server[] = [];
  let base = '';
  let lastRequest: { headers: IncomingMessage['headers']; body: string; path: string } | undefined;

  before(async () => {
    const s = await listen((req, res, body) => {
      lastRequest = { headers: req.headers, body, path: req.url ?? '' };
      const path = req.url ?? '';
      if (path.startsWith('/ok')) res.writeHead(204).end();
      else if (path.startsWith('/redirect')) res.writeHead(302, { location: '/ok-elsewhere' }).end();
      else if (path.startsWith('/big'))
        res.writeHead(500, { 'content-type': 'text/plain' }).end('x'.repeat(100_000));
      else if (path.startsWith('/hang'))
        return; // never answers
      else if (path.startsWith('/busy')) res.writeHead(503, { 'retry-after': '7' }).end('busy');
      else res.writeHead(404).end('nope');
    });
    servers.push(s.server);
    base = s.url;
  });

  after(async () => {
    await sender.destroy();
    for (const s of servers) await close(s);
  });

  it('POSTs the body and headers, and reports a 2xx without an error code', async () => {
    const result = await sender.send({
      url: `${base}/ok?x=1`,
      headers: { 'content-type': 'application/json', 'x-test': 'yes' },
      body: '{"a":1}',
      timeoutMs: 2000,
    });
    assert.equal(result.statusCode, 204);
    assert.equal(result.errorCode, undefined);
    assert.equal(lastRequest?.path, '/ok?x=1');
    assert.equal(lastRequest.body, '{"a":1}');
    assert.equal(lastRequest.headers['x-test'], 'yes');
  });

  it('does not follow redirects', async () => {
    const result = await sender.send({ url: `${base}/redirect`, headers: {}, body: '{}', timeoutMs: 2000 });
    assert.equal(result.statusCode, 302);
    assert.equal(result.errorCode, 'HTTP_STATUS');
    assert.match(result.error ?? '', /redirect not followed/);
    assert.equal(lastRequest?.path, '/redirect');
  });

  it('keeps only the first 8 KiB of a response body, and the response headers', async () => {
    const result = await sender.send({ url: `${base}/big`, headers: {}, body: '{}', timeoutMs: 2000 });
    assert.equal(result.statusCode, 500);
    assert.equal(result.errorCode, 'HTTP_STATUS');
    assert.equal(result.responseBody?.length, 8192);
    assert.equal(result.responseHeaders?.['content-type'], 'text/plain');
  });

  it('reports Retry-After among the response headers', async () => {
    const result = await sender.send({ url: `${base}/busy`, headers: {}, body: '{}', timeoutMs: 2000 });
    assert.equal(result.responseHeaders?.['retry-after'], '7');
    assert.equal(result.responseBody, 'busy');
  });

  it('reports TIMEOUT when the receiver does not answer in time', async () => {
    const result = await sender.send({ url: `${base}/hang`, headers: {}, body: '{}', timeoutMs: 150 });
    assert.equal(result.errorCode, 'TIMEOUT');
    assert.ok(result.durationMs >= 140 && result.durationMs < 1500, String(result.durationMs));
  });

  it('reports CONNECTION_ERROR when nothing listens', async () => {
    const s = await listen(() => undefined);
    await close(s.server);
    const result = await sender.send({ url: `${s.url}/`, headers: {}, body: '{}', timeoutMs: 2000 });
    assert.equal(result.errorCode, 'CONNECTION_ERROR');
    assert.match(result.error ?? '', /ECONNREFUSED/);
  });

  it('reports INVALID_URL for unparseable or non-http URLs', async () => {
    assert.equal(
      (await sender.send({ url: 'not a url', headers: {}, body: '', timeoutMs: 100 })).errorCode,
      'INVALID_URL',
    );
    assert.equal(
      (await sender.send({ url: 'ftp://x/', headers: {}, body: '', timeoutMs: 100 })).errorCode,
      'INVALID_URL',
    );
  });

  it('reports TLS_ERROR when the handshake fails', async () => {
    // An https URL pointing at a plain-HTTP port: the TLS handshake cannot succeed.
    const result = await sender.send({
      url: base.replace('http:', 'https:') + '/ok',
      headers: {},
      body: '{}',
      timeoutMs: 2000,
    });
    assert.equal(result.errorCode, 'TLS_ERROR', result.error);
  });

  it('lets the caller abort a send', async () => {
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort();
    }, 50);
    const result = await sender.send({
      url: `${base}/hang`,
      headers: {},
      body: '{}',
      timeoutMs: 5000,
      signal: controller.signal,
    });
    assert.equal(result.errorCode, 'CONNECTION_ERROR');
    assert.equal(result.error, 'aborted');
  });
});

describe('HttpSender with an address guard (the SSRF seam)', () => {
  it('refuses a blocked IP literal before dialling, as SSRF_BLOCKED', async () => {
    const s = await listen((_req, res) => res.writeHead(200).end());
    const checked: string[] = [];
    const guarded = new HttpSender({
      checkAddress: (address) => {
        checked.push(address);
        return address === '127.0.0.1' ? 'loopback' : undefined;
      },
    });
    try {
      const result = await guarded.send({ url: `${s.url}/`, headers: {}, body: '{}', timeoutMs: 2000 });
      assert.equal(result.errorCode, 'SSRF_BLOCKED');
      assert.match(result.error ?? '', /127\.0\.0\.1 refused: loopback/);
      assert.deepEqual(checked, ['127.0.0.1']);
      assert.equal(s.hits(), 0);
    } finally {
      await guarded.destroy();
      await close(s.server);
    }
  });

  it('checks the addresses a name resolves to', async () => {
    const s = await listen((_req, res) => res.writeHead(200).end());
    const port = new URL(s.url).port;
    const guarded = new HttpSender({
      checkAddress: (address) => (address === '127.0.0.1' || address === '::1' ? 'loopback' : undefined),
    });
    try {
      const result = await guarded.send({
        url: `http://localhost:${port}/`,
        headers: {},
        body: '{}',
        timeoutMs: 2000,
      });
      assert.equal(result.errorCode, 'SSRF_BLOCKED', result.error);
      assert.match(result.error ?? '', /localhost resolves to/);
      assert.equal(s.hits(), 0);
    } finally {
      await guarded.destroy();
      await close(s.server);
    }
  });

  it('lets allowed addresses through', async () => {
    const s = await listen((_req, res) => res.writeHead(200).end('fine'));
    const guarded = new HttpSender({ checkAddress: () => undefined });
    try {
      const result = await guarded.send({ url: `${s.url}/`, headers: {}, body: '{}', timeoutMs: 2000 });
      assert.equal(result.statusCode, 200);
      assert.equal(result.responseBody, 'fine');
      const port = new URL(s.url).port;
      const byName = await guarded.send({
        url: `http://localhost:${port}/`,
        headers: {},
        body: '{}',
        timeoutMs: 2000,
      });
      assert.ok(byName.statusCode === 200 || byName.errorCode === 'CONNECTION_ERROR', byName.error);
    } finally {
      await guarded.destroy();
      await close(s.server);
    }
  });
});

describe('HttpSender with the SSRF guard of non-admin endpoints', () => {
  const cidr = (text: string): Cidr => parseCidr(text) ?? assert.fail(text);

  it('refuses a DNS name that resolves to loopback at dial time, before connecting', async () => {
    const s = await listen((_req, res) => res.writeHead(200).end());
    const port = new URL(s.url).port;
    const guarded = new HttpSender({ checkAddress: createAddressGuard({ allowedCidrs: [] }) });
    try {
      const result = await guarded.send({
        url: `http://localhost:${port}/`,
        headers: {},
        body: '{}',
        timeoutMs: 2000,
      });
      assert.equal(result.errorCode, 'SSRF_BLOCKED', result.error);
      assert.match(
        result.error ?? '',
        /^localhost resolves to (127\.0\.0\.1|::1), refused: it is a loopback address; only admins may send webhooks there$/,
      );
      assert.equal(s.hits(), 0);
    } finally {
      await guarded.destroy();
      await close(s.server);
    }
  });

  it('refuses loopback literals in every spelling', async () => {
    const s = await listen((_req, res) => res.writeHead(200).end());
    const port = new URL(s.url).port;
    const guarded = new HttpSender({ checkAddress: createAddressGuard({ allowedCidrs: [] }) });
    try {
      for (const host of [
        '127.0.0.1',
        '2130706433',
        '0177.0.0.1',
        '0x7f.1',
        '127.1',
        '[::ffff:127.0.0.1]',
        '[::1]',
      ]) {
        const result = await guarded.send({
          url: `http://${host}:${port}/`,
          headers: {},
          body: '{}',
          timeoutMs: 2000,
        });
        assert.equal(result.errorCode, 'SSRF_BLOCKED', `${host}: ${result.error ?? ''}`);
        assert.match(result.error ?? '', /refused: it is a loopback address/);
      }
      assert.equal(s.hits(), 0);
    } finally {
      await guarded.destroy();
      await close(s.server);
    }
  });

  it('lets an allow-listed network through', async () => {
    const s = await listen((_req, res) => res.writeHead(200).end('fine'));
    const guarded = new HttpSender({
      checkAddress: createAddressGuard({ allowedCidrs: [cidr('127.0.0.0/8')] }),
    });
    try {
      const result = await guarded.send({ url: `${s.url}/`, headers: {}, body: '{}', timeoutMs: 2000 });
      assert.equal(result.statusCode, 200, result.error);
      assert.equal(s.hits(), 1);
    } finally {
      await guarded.destroy();
      await close(s.server);
    }
  });
});

interface Certificates {
  /** A CA, and a certificate for 127.0.0.1 and localhost that it signed. */
  readonly caPem: string;
  readonly leafKey: string;
  readonly leafPem: string;
  /** A certificate the CA signed for another name only. */
  readonly otherNameKey: string;
  readonly otherNamePem: string;
  /** A self-signed certificate for 127.0.0.1 and localhost (its own CA). */
  readonly selfSignedKey: string;
  readonly selfSignedPem: string;
  /** A client certificate (extendedKeyUsage clientAuth) that the CA signed. */
  readonly clientKey: string;
  readonly clientPem: string;
}

/** Made at test time with the openssl CLI (node:crypto cannot issue certificates). */
function makeCertificates(dir: string): Certificates {
  const file = (name: string) => path.join(dir, name);
  const openssl = (args: string) => execFileSync('openssl', args.split(' '), { cwd: dir, stdio: 'pipe' });
  const names = 'subjectAltName=IP:127.0.0.1,DNS:localhost';
  openssl(
    'req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=bucketbell-test-CA',
  );
  openssl('req -newkey rsa:2048 -nodes -keyout leaf.key -out leaf.csr -subj /CN=localhost');
  writeFileSync(file('leaf.ext'), `${names}\nbasicConstraints=CA:FALSE\n`);
  openssl(
    'x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 2 -extfile leaf.ext',
  );
  openssl('req -newkey rsa:2048 -nodes -keyout other.key -out other.csr -subj /CN=hooks.example.com');
  writeFileSync(file('other.ext'), 'subjectAltName=DNS:hooks.example.com\n');
  openssl(
    'x509 -req -in other.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out other.pem -days 2 -extfile other.ext',
  );
  openssl(
    `req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.pem -days 2 -subj /CN=localhost -addext ${names}`,
  );
  openssl('req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=bucketbell-client');
  writeFileSync(file('client.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  openssl(
    'x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext',
  );
  const read = (name: string) => readFileSync(file(name), 'utf8');
  return {
    caPem: read('ca.pem'),
    leafKey: read('leaf.key'),
    leafPem: read('leaf.pem'),
    otherNameKey: read('other.key'),
    otherNamePem: read('other.pem'),
    selfSignedKey: read('self.key'),
    selfSignedPem: read('self.pem'),
    clientKey: read('client.key'),
    clientPem: read('client.pem'),
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

async function listenHttps(
  key: string,
  cert: string,
  clientCa?: string,
): Promise<{ server: Server; url: string }> {
  const mtls = clientCa === undefined ? {} : { requestCert: true, rejectUnauthorized: true, ca: clientCa };
  const server = createHttpsServer({ key, cert, ...mtls }, (req, res) => {
    const socket: unknown = req.socket;
    const peer = (socket as TLSSocket).getPeerCertificate();
    res.writeHead(200).end(clientCa === undefined ? 'secure' : `client ${String(peer.subject.CN)}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook` };
}

describe(
  'HttpSender TLS verification',
  { skip: hasOpenssl() ? false : 'the openssl CLI is not installed' },
  () => {
    let dir = '';
    let certs: Certificates;
    const servers: Server[] = [];
    let signedUrl = '';
    let selfSignedUrl = '';
    let otherNameUrl = '';
    const post = (sender: HttpSender, url: string) =>
      sender.send({ url, headers: {}, body: '{}', timeoutMs: 5000 });

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'bucketbell-tls-'));
      certs = makeCertificates(dir);
      const signed = await listenHttps(certs.leafKey, certs.leafPem);
      const selfSigned = await listenHttps(certs.selfSignedKey, certs.selfSignedPem);
      const otherName = await listenHttps(certs.otherNameKey, certs.otherNamePem);
      servers.push(signed.server, selfSigned.server, otherName.server);
      otherNameUrl = otherName.url;
      signedUrl = signed.url;
      selfSignedUrl = selfSigned.url;
    });

    after(async () => {
      for (const server of servers) await close(server);
      rmSync(dir, { recursive: true, force: true });
    });

    it('fails a self-signed certificate, or one from an unknown CA, with TLS_ERROR', async () => {
      const sender = new HttpSender();
      try {
        const selfSigned = await post(sender, selfSignedUrl);
        assert.equal(selfSigned.errorCode, 'TLS_ERROR', selfSigned.error);
        assert.equal(selfSigned.statusCode, undefined);
        assert.match(selfSigned.error ?? '', /self.signed/i);
        const unknownCa = await post(sender, signedUrl);
        assert.equal(unknownCa.errorCode, 'TLS_ERROR', unknownCa.error);
        assert.match(unknownCa.error ?? '', /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify/i);
      } finally {
        await sender.destroy();
      }
    });

    it('succeeds once the CA is trusted (extraCa), with and without the guard', async () => {
      const bundle = `${certs.caPem}\n${certs.selfSignedPem}`;
      const trusted = new HttpSender({ extraCa: bundle });
      const guarded = new HttpSender({
        extraCa: bundle,
        checkAddress: createAddressGuard({ allowedCidrs: [parseCidr('127.0.0.1') ?? assert.fail()] }),
      });
      try {
        for (const sender of [trusted, guarded]) {
          for (const url of [signedUrl, selfSignedUrl]) {
            const result = await post(sender, url);
            assert.equal(result.statusCode, 200, result.error);
            assert.equal(result.responseBody, 'secure');
          }
        }
      } finally {
        await trusted.destroy();
        await guarded.destroy();
      }
    });

    it('trusting one CA trusts nothing else, and host names are still checked', async () => {
      const sender = new HttpSender({ extraCa: certs.caPem });
      try {
        // Trusting one CA does not trust every certificate.
        const other = await post(sender, selfSignedUrl);
        assert.equal(other.errorCode, 'TLS_ERROR', other.error);
        // Signed by the trusted CA, but for hooks.example.com, not 127.0.0.1.
        const wrongName = await post(sender, otherNameUrl);
        assert.equal(wrongName.errorCode, 'TLS_ERROR', wrongName.error);
        assert.match(wrongName.error ?? '', /ERR_TLS_CERT_ALTNAME_INVALID/);
      } finally {
        await sender.destroy();
      }
    });
  },
);

describe(
  'HttpSender client certificates (mTLS)',
  { skip: hasOpenssl() ? false : 'the openssl CLI is not installed' },
  () => {
    let dir = '';
    let certs: Certificates;
    let server: Server | undefined;
    let url = '';
    const post = (sender: HttpSender, clientCertificate?: { cert: string; key: string }) =>
      sender.send({ url, headers: {}, body: '{}', timeoutMs: 5000, clientCertificate });

    before(async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'bucketbell-mtls-'));
      certs = makeCertificates(dir);
      // Trusts client certificates of the test CA only, and refuses connections without one.
      const s = await listenHttps(certs.leafKey, certs.leafPem, certs.caPem);
      server = s.server;
      url = s.url;
    });

    after(async () => {
      if (server !== undefined) await close(server);
      rmSync(dir, { recursive: true, force: true });
    });

    it('fails without a client certificate, and succeeds with the right one (guarded or not)', async () => {
      const trusted = new HttpSender({ extraCa: certs.caPem });
      const guarded = new HttpSender({
        extraCa: certs.caPem,
        checkAddress: createAddressGuard({ allowedCidrs: [parseCidr('127.0.0.1') ?? assert.fail()] }),
      });
      try {
        for (const sender of [trusted, guarded]) {
          // TLS 1.3: the server checks the client's certificate after the client's handshake is done, so
          // the refusal arrives as the alert "certificate required" on the first read: TLS_ERROR.
          const without = await post(sender);
          assert.equal(without.statusCode, undefined);
          assert.equal(without.errorCode, 'TLS_ERROR', without.error);
          assert.match(without.error ?? '', /CERTIFICATE_REQUIRED|certificate required/i);

          const withCert = await post(sender, { cert: certs.clientPem, key: certs.clientKey });
          assert.equal(withCert.statusCode, 200, withCert.error);
          assert.equal(withCert.responseBody, 'client bucketbell-client');

          // The certificate stays with its own connections: a request without one is still refused.
          const againWithout = await post(sender);
          assert.equal(againWithout.errorCode, 'TLS_ERROR', againWithout.error);
          const again = await post(sender, { cert: certs.clientPem, key: certs.clientKey });
          assert.equal(again.statusCode, 200, again.error);
        }
      } finally {
        await trusted.destroy();
        await guarded.destroy();
      }
    });

    it('fails a client certificate the receiver does not trust', async () => {
      const sender = new HttpSender({ extraCa: certs.caPem });
      try {
        // Self-signed: not issued by the CA the receiver trusts for clients. A Node receiver checks the
        // certificate after the handshake and just closes the connection, without a TLS alert, so all
        // the sender sees is the close (nginx answers 400 instead: HTTP_STATUS). Either way it fails.
        const result = await post(sender, { cert: certs.selfSignedPem, key: certs.selfSignedKey });
        assert.equal(result.statusCode, undefined);
        assert.equal(result.errorCode, 'CONNECTION_ERROR', result.error);
        assert.match(result.error ?? '', /other side closed/);
      } finally {
        await sender.destroy();
      }
    });

    it('reports a key that does not match its certificate as TLS_ERROR, without the key', async () => {
      const sender = new HttpSender({ extraCa: certs.caPem });
      try {
        const result = await post(sender, { cert: certs.clientPem, key: certs.leafKey });
        assert.equal(result.errorCode, 'TLS_ERROR', result.error);
        assert.match(result.error ?? '', /client certificate or key cannot be used/);
        assert.ok(!(result.error ?? '').includes('PRIVATE KEY'), result.error);
      } finally {
        await sender.destroy();
      }
    });

    it('still checks the receiver: the client certificate does not replace a trusted CA', async () => {
      const sender = new HttpSender();
      try {
        const result = await post(sender, { cert: certs.clientPem, key: certs.clientKey });
        assert.equal(result.errorCode, 'TLS_ERROR', result.error);
        // The receiver sends its chain up to the CA, which nothing here trusts.
        assert.match(result.error ?? '', /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
      } finally {
        await sender.destroy();
      }
    });
  },
);
