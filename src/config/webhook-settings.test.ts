// The SSRF guard's settings: webhook_allowed_cidrs and webhook_ca_file, from YAML and the environment.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from './config.ts';
import { ConfigError } from './config-error.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'bucketbell-config-test-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function yamlFile(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function refuses(env: NodeJS.ProcessEnv, key: string, message: RegExp): void {
  assert.throws(
    () => loadConfig(env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.key, key);
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('webhook_allowed_cidrs', () => {
  it('is empty by default', () => {
    assert.deepEqual(loadConfig({}).webhookAllowedCidrs, []);
  });

  it('reads a YAML list, and a comma-separated environment variable that wins', () => {
    const file = yamlFile(
      'cidrs.yaml',
      'webhook_allowed_cidrs: ["10.20.0.0/16", "fd00:1::/48", "192.168.1.5"]\n',
    );
    assert.deepEqual(loadConfig({ BUCKETBELL_CONFIG: file }).webhookAllowedCidrs, [
      '10.20.0.0/16',
      'fd00:1::/48',
      '192.168.1.5',
    ]);
    assert.deepEqual(
      loadConfig({ BUCKETBELL_CONFIG: file, BUCKETBELL_WEBHOOK_ALLOWED_CIDRS: ' 127.0.0.0/8 , ::1/128,' })
        .webhookAllowedCidrs,
      ['127.0.0.0/8', '::1/128'],
    );
  });

  it('refuses what is not a network', () => {
    for (const bad of [
      '10.0.0.0/33',
      'fd00::/129',
      'example.com',
      '10.0.0/8',
      '10.0.0.0/8/1',
      'fe80::1%eth0',
      '10.0.0.0/x',
    ]) {
      refuses({ BUCKETBELL_WEBHOOK_ALLOWED_CIDRS: bad }, 'webhook_allowed_cidrs', /is not a network/);
    }
    const file = yamlFile('bad-cidrs.yaml', 'webhook_allowed_cidrs: "10.0.0.0/8"\n');
    refuses({ BUCKETBELL_CONFIG: file }, 'webhook_allowed_cidrs', /expected array/);
  });
});

describe('webhook_ca_file', () => {
  it('is unset by default', () => {
    assert.equal(loadConfig({}).webhookCa, undefined);
  });

  it('refuses a file that cannot be read, or holds no certificate', () => {
    refuses(
      { BUCKETBELL_WEBHOOK_CA_FILE: path.join(dir, 'missing.pem') },
      'webhook_ca_file',
      /cannot read .*missing\.pem/,
    );
    const empty = yamlFile('empty.pem', 'not a certificate\n');
    refuses({ BUCKETBELL_WEBHOOK_CA_FILE: empty }, 'webhook_ca_file', /holds no PEM certificate/);
    const broken = yamlFile('broken.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    refuses({ BUCKETBELL_WEBHOOK_CA_FILE: broken }, 'webhook_ca_file', /broken certificate/);
  });

  it('reads a PEM bundle, from YAML or the environment', (t) => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'pipe' });
    } catch {
      t.skip('the openssl CLI is not installed');
      return;
    }
    const pem = path.join(dir, 'ca.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        path.join(dir, 'ca.key'),
        '-out',
        pem,
        '-days',
        '1',
        '-subj',
        '/CN=test CA',
      ],
      { stdio: 'pipe' },
    );
    const fromEnv = loadConfig({ BUCKETBELL_WEBHOOK_CA_FILE: pem }).webhookCa;
    assert.match(fromEnv ?? '', /^-----BEGIN CERTIFICATE-----/);
    const file = yamlFile('ca.yaml', `webhook_ca_file: ${pem}\n`);
    assert.equal(loadConfig({ BUCKETBELL_CONFIG: file }).webhookCa, fromEnv);
  });
});
