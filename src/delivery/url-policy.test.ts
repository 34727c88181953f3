import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCidr, type Cidr } from './address-policy.ts';
import { checkWebhookUrl, type HostLookup, type WebhookUrlOptions } from './url-policy.ts';

/** A resolver that knows a few names, and fails for the rest like getaddrinfo does. */
const lookup: HostLookup = (hostname) => {
  const table: Record<string, { address: string; family: number }[]> = {
    'hooks.example.com': [{ address: '93.184.216.34', family: 4 }],
    'rebind.example.com': [
      { address: '93.184.216.34', family: 4 },
      { address: '127.0.0.1', family: 4 },
    ],
    'metadata.example.com': [{ address: '169.254.169.254', family: 4 }],
    'v6.example.com': [{ address: 'fd00::1', family: 6 }],
    'mapped.example.com': [{ address: '::ffff:10.0.0.1', family: 6 }],
    'internal.example.com': [{ address: '10.1.2.3', family: 4 }],
    'empty.example.com': [],
  };
  const found = table[hostname];
  if (found === undefined)
    return Promise.reject(
      Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }),
    );
  return Promise.resolve(found);
};

const user: WebhookUrlOptions = { allowPrivate: false, allowedCidrs: [], lookup };
const admin: WebhookUrlOptions = { allowPrivate: true, allowedCidrs: [], lookup };

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  assert.ok(parsed);
  return parsed;
}

describe('checkWebhookUrl', () => {
  it('accepts public http and https URLs', async () => {
    assert.deepEqual(await checkWebhookUrl('https://hooks.example.com/x', user), { ok: true });
    assert.deepEqual(await checkWebhookUrl('http://93.184.216.34:8080/x?y=1', user), { ok: true });
    assert.deepEqual(await checkWebhookUrl('http://[2606:4700:4700::1111]/', user), { ok: true });
  });

  it('refuses what is not an http(s) URL', async () => {
    assert.deepEqual(await checkWebhookUrl('not a url', user), {
      ok: false,
      code: 'INVALID_URL',
      reason: 'the URL cannot be parsed',
    });
    for (const url of [
      'ftp://hooks.example.com/',
      'file:///etc/passwd',
      'gopher://x/',
      'javascript:alert(1)',
    ]) {
      const verdict = await checkWebhookUrl(url, admin);
      assert.equal(verdict.ok ? 'ok' : verdict.code, 'UNSUPPORTED_SCHEME', url);
    }
  });

  it('refuses credentials in the URL, for admins too', async () => {
    for (const url of ['https://user:pw@hooks.example.com/', 'https://user@hooks.example.com/']) {
      const verdict = await checkWebhookUrl(url, admin);
      assert.equal(verdict.ok ? 'ok' : verdict.code, 'INVALID_URL', url);
      assert.match(verdict.ok ? '' : verdict.reason, /credentials/);
    }
  });

  it('refuses internal addresses in every spelling, naming the class and the address', async () => {
    const cases: readonly (readonly [string, RegExp])[] = [
      ['http://127.0.0.1/', /^127\.0\.0\.1 is a loopback address; only admins may send webhooks there$/],
      ['http://2130706433/', /^127\.0\.0\.1 is a loopback address/],
      ['http://0177.0.0.1/', /^127\.0\.0\.1 is a loopback address/],
      ['http://0x7f.1/', /^127\.0\.0\.1 is a loopback address/],
      ['http://127.1/', /^127\.0\.0\.1 is a loopback address/],
      ['http://127.0.0.1./', /^127\.0\.0\.1 is a loopback address/],
      ['http://[::1]/', /^::1 is a loopback address/],
      ['http://[::ffff:127.0.0.1]/', /^::ffff:7f00:1 is a loopback address \(it embeds IPv4 127\.0\.0\.1\)/],
      ['http://169.254.169.254/latest/meta-data/', /^169\.254\.169\.254 is a link-local address/],
      ['http://10.0.0.1/', /^10\.0\.0\.1 is a private address/],
      ['http://192.168.0.1/', /is a private address/],
      ['http://172.16.5.4/', /is a private address/],
      ['http://100.64.0.1/', /is a CGNAT \(shared address space\) address/],
      ['http://224.0.0.1/', /is a multicast address/],
      ['http://0.0.0.0/', /^0\.0\.0\.0 is an unspecified address/],
      ['http://0/', /^0\.0\.0\.0 is an unspecified address/],
      ['http://[::]/', /^:: is an unspecified address/],
      ['http://[fd00::1]/', /is a unique-local IPv6 address/],
      ['http://[fe80::1]/', /is a link-local address/],
      ['http://[64:ff9b::a00:1]/', /is a private address \(it embeds IPv4 10\.0\.0\.1\)/],
      ['http://[2002:c0a8:101::]/', /is a private address \(it embeds IPv4 192\.168\.1\.1\)/],
      ['http://localhost/', /^localhost is a loopback address/],
      ['http://localhost./', /^localhost is a loopback address/],
      ['http://api.localhost:8080/', /^api\.localhost is a loopback address/],
      [
        'http://metadata.example.com/',
        /^metadata\.example\.com resolves to 169\.254\.169\.254, which is a link-local address; only admins may send webhooks there$/,
      ],
      ['http://rebind.example.com/', /resolves to 127\.0\.0\.1, which is a loopback address/],
      ['http://v6.example.com/', /resolves to fd00::1, which is a unique-local IPv6 address/],
      [
        'http://mapped.example.com/',
        /resolves to ::ffff:10\.0\.0\.1, which is a private address \(it embeds IPv4 10\.0\.0\.1\)/,
      ],
    ];
    for (const [url, reason] of cases) {
      const verdict = await checkWebhookUrl(url, user);
      assert.equal(verdict.ok ? 'ok' : verdict.code, 'SSRF_BLOCKED', url);
      assert.match(verdict.ok ? '' : verdict.reason, reason, url);
    }
  });

  it('lets admins target private addresses without resolving anything', async () => {
    for (const url of [
      'http://127.0.0.1/',
      'http://localhost/',
      'http://169.254.169.254/',
      'http://no.such.name/',
    ]) {
      assert.deepEqual(await checkWebhookUrl(url, admin), { ok: true }, url);
    }
  });

  it('lets allow-listed networks through for everyone', async () => {
    const options = { ...user, allowedCidrs: [cidr('10.0.0.0/8'), cidr('fd00::/8')] };
    assert.deepEqual(await checkWebhookUrl('http://10.9.8.7/', options), { ok: true });
    assert.deepEqual(await checkWebhookUrl('http://internal.example.com/', options), { ok: true });
    assert.deepEqual(await checkWebhookUrl('http://v6.example.com/', options), { ok: true });
    assert.deepEqual(await checkWebhookUrl('http://mapped.example.com/', options), { ok: true });
    const still = await checkWebhookUrl('http://192.168.1.1/', options);
    assert.equal(still.ok ? 'ok' : still.code, 'SSRF_BLOCKED');
    const notLoopback = await checkWebhookUrl('http://localhost/', options);
    assert.equal(notLoopback.ok ? 'ok' : notLoopback.code, 'SSRF_BLOCKED', 'localhost stays closed');
  });

  it('opens localhost names where a loopback network is allow-listed, as it opens the addresses', async () => {
    for (const network of ['127.0.0.0/8', '::1/128']) {
      const options = { ...user, allowedCidrs: [cidr(network)] };
      assert.deepEqual(await checkWebhookUrl('http://localhost:8080/', options), { ok: true }, network);
      assert.deepEqual(await checkWebhookUrl('http://api.localhost./', options), { ok: true }, network);
    }
  });

  it('refuses names that do not resolve, for non-admins', async () => {
    const missing = await checkWebhookUrl('http://no.such.name/', user);
    assert.deepEqual(missing, {
      ok: false,
      code: 'UNRESOLVABLE',
      reason: 'no.such.name cannot be resolved (ENOTFOUND)',
    });
    const empty = await checkWebhookUrl('http://empty.example.com/', user);
    assert.equal(empty.ok ? 'ok' : empty.code, 'UNRESOLVABLE');
  });

  it('uses the system resolver by default', async () => {
    const verdict = await checkWebhookUrl('http://localhost.localdomain.invalid/', {
      allowPrivate: false,
      allowedCidrs: [],
    });
    assert.equal(verdict.ok ? 'ok' : verdict.code, 'UNRESOLVABLE');
  });
});
