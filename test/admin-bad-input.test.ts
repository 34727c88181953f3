import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { AdminClient } from '../src/cli/admin-client.ts';
import { adminClient } from './support/admin-api.ts';
import { rawRequest, sendExact, type RawRequest, type RawResponse } from './support/raw-request.ts';
import { startServer, type TestServer } from './support/test-server.ts';

const JSON_TYPE = { 'content-type': 'application/json' };

interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly errors?: readonly { readonly field: string; readonly message: string }[];
}

/** Asserts a problem+json answer with this status and code (and, if given, a failing field); returns it. */
function expectProblemResponse(res: RawResponse, status: number, code: string, field?: string): Problem {
  const what = `${status} ${code} ${field ?? ''}, got ${res.status} ${res.body}`;
  assert.equal(res.status, status, what);
  assert.equal(res.headers['content-type'], 'application/problem+json', what);
  const problem = JSON.parse(res.body) as Problem;
  assert.equal(problem.status, status, what);
  assert.equal(problem.code, code, what);
  assert.ok(problem.title !== '' && problem.detail !== '', what);
  if (field !== undefined) {
    assert.ok(
      (problem.errors ?? []).some((e) => e.field === field),
      `${what}: errors name ${field}: ${JSON.stringify(problem.errors)}`,
    );
  }
  return problem;
}

/** Bytes sent on a fresh connection, and whatever comes back until the server closes it. */
function sendRaw(baseUrl: string, bytes: string): Promise<string> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.end(bytes));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('utf8')));
    socket.on('end', () => {
      resolve(answer);
    });
    socket.on('error', reject);
  });
}

function problemOfRaw(answer: string): { status: number; type: string; problem: Problem } {
  const [head = '', body = ''] = answer.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  const type = /^content-type: (.*)$/im.exec(head)?.[1] ?? '';
  return { status, type, problem: JSON.parse(body) as Problem };
}

describe('admin API: malformed and hostile input is a 4xx problem, never a 500, and changes nothing', () => {
  let server: TestServer;
  let root: AdminClient;
  let webhookId: string;

  /** Everything the API can show: users, keys, webhooks, the webhook's endpoint and deliveries. */
  async function state(): Promise<string> {
    return JSON.stringify([
      await root.request('GET', '/users'),
      await root.request('GET', '/keys'),
      await root.request('GET', '/webhooks'),
      await root.request('GET', `/endpoints/${webhookId}`),
      await root.request('GET', `/webhooks/${webhookId}/deliveries`),
    ]);
  }

  /** The error lines the server logged so far (an unmapped error is logged at level error). */
  function errorLogLines(): string[] {
    return server
      .output()
      .split('\n')
      .filter((line) => /"level":(50|60)/.test(line));
  }

  /** Sends each request and checks its problem; then that the state is as before and nothing was logged as an error. */
  async function refusesAll(
    cases: readonly (RawRequest & { status: number; code: string; field?: string })[],
  ): Promise<void> {
    const before = await state();
    for (const { status, code, field, ...spec } of cases) {
      const res = await rawRequest(server.adminUrl, spec);
      expectProblemResponse(res, status, code, field);
    }
    assert.equal(await state(), before, 'nothing changed');
    assert.deepEqual(errorLogLines(), [], 'no request failed with an internal error');
  }

  before(async () => {
    server = await startServer();
    root = adminClient(server);
    await server.client().send(new CreateBucketCommand({ Bucket: 'bad-input' }));
    const created = await root.request<{ webhook: { id: string } }>('POST', '/webhooks', {
      bucket: 'bad-input',
      url: 'http://127.0.0.1:9/hook',
      events: ['s3:ObjectCreated:*'],
      name: 'kept',
    });
    webhookId = created.webhook.id;
    await root.request('POST', '/users', { name: 'bad-input-user' });
  });
  after(() => server.cleanup());

  it('refuses malformed percent-encoding and NUL in a path parameter with 400 naming it', async () => {
    await refusesAll([
      {
        method: 'GET',
        path: '/api/v1/webhooks/%E0%A4%A',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'path.id',
      },
      {
        method: 'DELETE',
        path: '/api/v1/webhooks/%E0%A4%A',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'path.id',
      },
      {
        method: 'PATCH',
        path: '/api/v1/webhooks/%FF%FE',
        headers: JSON_TYPE,
        body: '{"name":"changed"}',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'path.id',
      },
      {
        method: 'GET',
        path: '/api/v1/users/50%',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'path.name',
      },
      {
        method: 'DELETE',
        path: '/api/v1/users/%C0%AF',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'path.name',
      },
      {
        method: 'DELETE',
        path: '/api/v1/keys/%ZZ',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'path.accessKeyId',
      },
      {
        method: 'GET',
        path: '/api/v1/deliveries/%ED%A0%80',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'path.id',
      },
      // NUL decodes fine but is no text PostgreSQL can store: refused the same on both databases.
      {
        method: 'GET',
        path: '/api/v1/webhooks/%00',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'path.id',
      },
      {
        method: 'DELETE',
        path: '/api/v1/users/bad%00',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'path.name',
      },
      {
        method: 'GET',
        path: '/api/v1/deliveries/%00',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'path.id',
      },
      {
        method: 'POST',
        path: `/api/v1/endpoints/${webhookId}%00/enable`,
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'path.id',
      },
    ]);
    // A well-formed escape still reaches its resource.
    const res = await rawRequest(server.adminUrl, { method: 'GET', path: `/api/v1/webhooks/${webhookId}` });
    assert.equal(res.status, 200, res.body);
  });

  it('refuses bad query strings with 400 naming the parameter', async () => {
    const deliveries = `/api/v1/webhooks/${webhookId}/deliveries`;
    const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
    await refusesAll([
      {
        method: 'GET',
        path: `${deliveries}?limit=abc`,
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'query.limit',
      },
      {
        method: 'GET',
        path: `${deliveries}?limit=0`,
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'query.limit',
      },
      {
        method: 'GET',
        path: `${deliveries}?limit=1e400`,
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'query.limit',
      },
      {
        method: 'GET',
        path: `${deliveries}?limit=2.5`,
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'query.limit',
      },
      {
        method: 'GET',
        path: `${deliveries}?cursor=garbage`,
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'query.cursor',
      },
      {
        method: 'GET',
        path: `${deliveries}?cursor=${cursorOf([1, '\u0000'])}`,
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'query.cursor',
      },
      {
        method: 'GET',
        path: `${deliveries}?cursor=${cursorOf([1e300, 'x'])}`,
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'query.cursor',
      },
      {
        method: 'GET',
        path: `${deliveries}?status=lost`,
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'query.status.0',
      },
      {
        method: 'GET',
        path: `${deliveries}?from=yesterday`,
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'query.from',
      },
      {
        method: 'GET',
        path: `${deliveries}?from=%E0%A4%A`,
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'query.from',
      },
      {
        method: 'GET',
        path: `${deliveries}?limit=1&limit=2`,
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'query.limit',
      },
      {
        method: 'GET',
        path: '/api/v1/webhooks?bucket=%00',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'query.bucket',
      },
      {
        method: 'GET',
        path: '/api/v1/keys?user=a%00b',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'query.user',
      },
      {
        method: 'GET',
        path: '/api/v1/webhooks?%ZZ=1',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'query',
      },
      { method: 'GET', path: '/api/v1/webhooks?bogus=1', status: 400, code: 'VALIDATION_FAILED' },
    ]);
  });

  it('refuses bodies that are not JSON, not sent as JSON, not the expected shape or with NUL', async () => {
    const patch = `/api/v1/webhooks/${webhookId}`;
    /** A JSON PATCH of the webhook refused with 400 VALIDATION_FAILED naming `field`. */
    const invalidPatch = (body: string, field: string) => ({
      method: 'PATCH',
      path: patch,
      headers: JSON_TYPE,
      body,
      status: 400,
      code: 'VALIDATION_FAILED',
      field,
    });
    await refusesAll([
      {
        method: 'POST',
        path: '/api/v1/users',
        headers: JSON_TYPE,
        body: '{"name": "x"',
        status: 400,
        code: 'MALFORMED_JSON',
      },
      {
        method: 'PATCH',
        path: patch,
        headers: JSON_TYPE,
        body: 'name=changed',
        status: 400,
        code: 'MALFORMED_JSON',
      },
      {
        method: 'PATCH',
        path: patch,
        headers: JSON_TYPE,
        body: Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
        status: 400,
        code: 'MALFORMED_JSON',
      },
      {
        method: 'PATCH',
        path: patch,
        headers: { 'content-type': 'text/plain' },
        body: '{"name":"changed"}',
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      {
        method: 'PATCH',
        path: patch,
        headers: { 'content-type': 'application/jsonp' },
        body: '{"name":"changed"}',
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      {
        method: 'PATCH',
        path: patch,
        body: '{"name":"changed"}',
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
      invalidPatch('null', 'body'),
      invalidPatch('[]', 'body'),
      invalidPatch('"x"', 'body'),
      invalidPatch(`{"name":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, 'body.name'),
      invalidPatch('{"name":"a\\u0000b"}', 'body.name'),
      invalidPatch('{"prefix":"in/\\u0000"}', 'body.prefix'),
      invalidPatch('{"headers":{"X-A\\u0000":"v"}}', 'body.headers'),
      {
        method: 'POST',
        path: '/api/v1/webhooks',
        headers: JSON_TYPE,
        body: JSON.stringify({
          bucket: 'bad-\u0000input',
          url: 'http://127.0.0.1:9/',
          events: ['s3:ObjectCreated:*'],
        }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'body.bucket',
      },
      {
        method: 'POST',
        path: '/api/v1/users/bad-input-user/keys',
        headers: JSON_TYPE,
        body: '{"description":"laptop\\u0000"}',
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'body.description',
      },
      {
        method: 'PATCH',
        path: `/api/v1/endpoints/${webhookId}`,
        headers: JSON_TYPE,
        body: JSON.stringify({ autoDisableAfter: `${'9'.repeat(30)}d` }),
        status: 400,
        code: 'VALIDATION_FAILED',
        field: 'body.autoDisableAfter',
      },
    ]);
  });

  it('refuses a body over 1 MiB with 413, whether its length is declared or it just keeps coming', async () => {
    const before = await state();
    const big = Buffer.alloc(1024 * 1024 + 1, 0x20);
    // Declared: refused from the headers, and the rest of the body is read and dropped so the answer arrives.
    const declared = await sendExact(server.adminUrl, {
      method: 'POST',
      path: '/api/v1/users',
      headers: { ...JSON_TYPE, 'content-length': String(big.length) },
      body: [big],
    });
    expectProblemResponse(declared, 413, 'PAYLOAD_TOO_LARGE');
    // Chunked: refused once 1 MiB has arrived.
    const pieces = Array.from({ length: 24 }, () => Buffer.alloc(64 * 1024, 0x20));
    const chunked = await sendExact(server.adminUrl, {
      method: 'PATCH',
      path: `/api/v1/webhooks/${webhookId}`,
      headers: { ...JSON_TYPE, 'transfer-encoding': 'chunked' },
      body: pieces,
    });
    expectProblemResponse(chunked, 413, 'PAYLOAD_TOO_LARGE');
    assert.equal(await state(), before, 'nothing changed');
    assert.deepEqual(errorLogLines(), []);
  });

  it('answers requests that are not HTTP, or whose headers are too large, with problem+json', async () => {
    const garbage = problemOfRaw(await sendRaw(server.adminUrl, 'HELLO THERE\r\n\r\n'));
    assert.equal(garbage.status, 400);
    assert.equal(garbage.type, 'application/problem+json');
    assert.equal(garbage.problem.code, 'MALFORMED_REQUEST');
    const huge = problemOfRaw(
      await sendRaw(
        server.adminUrl,
        `GET /api/v1/users HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`,
      ),
    );
    assert.equal(huge.status, 431);
    assert.equal(huge.type, 'application/problem+json');
    assert.equal(huge.problem.code, 'HEADERS_TOO_LARGE');
    // The server goes on serving.
    const res = await rawRequest(server.adminUrl, { method: 'GET', path: '/api/v1/whoami' });
    assert.equal(res.status, 200, res.body);
  });

  it('answers other methods on the OpenAPI document with 405 problem+json', async () => {
    const res = await rawRequest(server.adminUrl, {
      method: 'POST',
      path: '/api/v1/openapi.json',
      credentials: false,
    });
    expectProblemResponse(res, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(res.headers['allow'], 'GET');
  });
});
