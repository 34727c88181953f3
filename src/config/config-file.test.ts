// The YAML configuration file: ${ENV} expansion in values (never in comments) and webhook endpoints,
// in bucketbell's own `endpoints:` list and in s3-orchestrator's `notifications: endpoints:` form.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from './config.ts';
import { ConfigError } from './config-error.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'bucketbell-config-file-test-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;
function load(yaml: string, env: NodeJS.ProcessEnv = {}) {
  files += 1;
  const file = path.join(dir, `config-${files}.yaml`);
  writeFileSync(file, yaml);
  return loadConfig({ ...env, BUCKETBELL_CONFIG: file });
}

function refuses(yaml: string, env: NodeJS.ProcessEnv, key: string, message: RegExp): void {
  assert.throws(
    () => load(yaml, env),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.key, key);
      assert.match(err.message, message);
      return true;
    },
  );
}

describe('${ENV} expansion in the configuration file', () => {
  it('expands values, typed as the expansion reads when unquoted, and leaves comments alone', () => {
    const config = load(
      [
        '# The secret comes from ${HOOK_SECRET}; ${NOT_SET_ANYWHERE} in a comment is fine.',
        'region: ${REGION}',
        'endpoints:',
        '  - name: audit',
        '    url: https://hooks.example.com/${PATH_PART}',
        '    secret: "${HOOK_SECRET}"',
        '    max_retries: ${RETRIES}',
        '    prefix: ${PREFIX:-uploads/}   # a default when unset',
        '    suffix: "$${LITERAL}"',
      ].join('\n'),
      { REGION: 'eu-west-3', PATH_PART: 'storage', HOOK_SECRET: 's3cr3t', RETRIES: '5' },
    );
    assert.equal(config.region, 'eu-west-3');
    const [endpoint] = config.endpoints;
    assert.equal(endpoint?.url, 'https://hooks.example.com/storage');
    assert.equal(endpoint.secret, 's3cr3t');
    assert.equal(endpoint.max_retries, 5);
    assert.equal(endpoint.prefix, 'uploads/');
    assert.equal(endpoint.suffix, '${LITERAL}');
  });

  it('keeps a quoted expansion a string, so a number where text is due still reads as text', () => {
    const config = load('region: "${REGION}"\n', { REGION: '12345' });
    assert.equal(config.region, '12345');
  });

  it('refuses a value naming a variable that is not set, naming it', () => {
    refuses('region: ${MISSING_REGION}\n', {}, 'config', /environment variable MISSING_REGION is not set/);
  });
});

describe('webhook endpoints in the configuration file', () => {
  it("reads s3-orchestrator's file as it is, naming the endpoint after its URL", () => {
    const config = load(
      [
        'notifications:',
        '  endpoints:',
        '    - url: "https://hooks.example.com/storage"',
        '      events:',
        '        - "s3:ObjectCreated:*"',
        '        - "s3:ObjectRemoved:*"',
        '      prefix: "uploads/"          # only deliver data events under this prefix',
        '      secret: "${HOOK_SECRET}"',
        '      timeout: 5s',
        '      max_retries: 5',
      ].join('\n'),
      { HOOK_SECRET: 'orchestrated' },
    );
    assert.equal(config.endpoints.length, 1);
    const [endpoint] = config.endpoints;
    assert.match(endpoint?.name ?? '', /^url-[0-9a-f]{12}$/);
    assert.deepEqual(
      [
        endpoint?.url,
        endpoint?.events,
        endpoint?.prefix,
        endpoint?.secret,
        endpoint?.timeout,
        endpoint?.max_retries,
      ],
      [
        'https://hooks.example.com/storage',
        ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
        'uploads/',
        'orchestrated',
        '5s',
        5,
      ],
    );
    // The derived name is stable: the same URL gets the same name at every start.
    const again = load('notifications:\n  endpoints:\n    - url: https://hooks.example.com/storage\n');
    assert.equal(again.endpoints[0]?.name, endpoint?.name);
  });

  it('merges both lists, and refuses two endpoints with one name or one unnamed URL', () => {
    const config = load(
      [
        'endpoints:',
        '  - name: a',
        '    url: https://a.example.com/',
        'notifications:',
        '  endpoints:',
        '    - url: https://b.example.com/',
      ].join('\n'),
    );
    assert.deepEqual(
      config.endpoints.map((e) => e.url),
      ['https://a.example.com/', 'https://b.example.com/'],
    );
    refuses(
      'endpoints:\n  - url: https://same.example.com/\n  - url: https://same.example.com/\n',
      {},
      'endpoints.1.name',
      /two endpoints have the URL https:\/\/same\.example\.com\/; give them names/,
    );
    refuses(
      'endpoints:\n  - {name: x, url: "https://a.example.com/"}\n  - {name: x, url: "https://b.example.com/"}\n',
      {},
      'endpoints.1.name',
      /two endpoints are named x/,
    );
  });

  it('reads max_in_flight (default 16, 1 to 64)', () => {
    const config = load(
      'endpoints:\n  - {name: a, url: "https://a.example.com/"}\n  - {name: b, url: "https://b.example.com/", max_in_flight: 2}\n',
    );
    assert.deepEqual(
      config.endpoints.map((e) => e.max_in_flight),
      [16, 2],
    );
    refuses(
      'endpoints:\n  - {name: c, url: "https://c.example.com/", max_in_flight: 0}\n',
      {},
      'endpoints.0.max_in_flight',
      /1/,
    );
  });

  it('refuses unknown keys in the notifications block', () => {
    refuses('notifications:\n  drainer_interval: 5s\n', {}, 'notifications', /drainer_interval/);
  });
});
