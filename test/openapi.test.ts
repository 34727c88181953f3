import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { API_ROUTES } from '../src/admin/routes/api-routes.ts';
import { adminClient, createUser } from './support/admin-api.ts';
import { rawRequest } from './support/raw-request.ts';
import { startServer, type TestServer } from './support/test-server.ts';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

interface JsonSchema {
  readonly type?: string | readonly string[];
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly items?: JsonSchema;
  readonly anyOf?: readonly JsonSchema[];
  readonly additionalProperties?: boolean | JsonSchema;
}

interface Operation {
  readonly operationId: string;
  readonly parameters?: readonly { name: string; in: string; required?: boolean }[];
  readonly requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> };
  readonly responses: Record<string, { content?: Record<string, { schema: JsonSchema }> }>;
}

interface OpenApiDocument {
  readonly openapi: string;
  readonly paths: Record<string, Record<string, Operation>>;
  readonly components: Record<string, Record<string, unknown>>;
}

/** A documented path with its `{name}` parameters filled in, e.g. `/api/v1/webhooks/no-such-id`. */
function concrete(path: string): string {
  return path.replace(/\{\w+\}/g, 'no-such-id');
}

function operations(doc: OpenApiDocument): { method: string; path: string; op: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
  );
}

/** Every `$ref` in the document, with where it was found. */
function refsOf(value: unknown, at: string, out: { ref: string; at: string }[] = []): typeof out {
  if (Array.isArray(value)) value.forEach((item, i) => refsOf(item, `${at}/${i}`, out));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') out.push({ ref: item, at });
      else refsOf(item, `${at}/${key}`, out);
    }
  }
  return out;
}

function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Where a real answer differs from its documented schema: types, required and undocumented properties. */
function mismatches(schema: JsonSchema, value: unknown, at = '$'): string[] {
  if (schema.anyOf !== undefined) {
    return schema.anyOf.some((s) => mismatches(s, value, at).length === 0)
      ? []
      : [`${at}: matches none of anyOf`];
  }
  const types = schema.type === undefined ? [] : [schema.type].flat();
  const actual =
    value === null
      ? 'null'
      : Array.isArray(value)
        ? 'array'
        : Number.isInteger(value)
          ? 'integer'
          : typeof value;
  if (types.length > 0 && !types.includes(actual) && !(actual === 'integer' && types.includes('number'))) {
    return [`${at}: is ${actual}, documented as ${types.join('|')}`];
  }
  const problems: string[] = [];
  if (actual === 'object') {
    const object = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      if (!Object.hasOwn(object, name)) problems.push(`${at}.${name}: documented as required, absent`);
    }
    for (const [name, item] of Object.entries(object)) {
      const sub = schema.properties?.[name];
      if (sub !== undefined) problems.push(...mismatches(sub, item, `${at}.${name}`));
      else if (schema.additionalProperties === false) problems.push(`${at}.${name}: not documented`);
    }
  }
  if (actual === 'array' && schema.items !== undefined) {
    (value as unknown[]).forEach((item, i) =>
      problems.push(...mismatches(schema.items!, item, `${at}[${i}]`)),
    );
  }
  return problems;
}

describe('admin API: the OpenAPI document describes the server that serves it', () => {
  let server: TestServer;
  let doc: OpenApiDocument;

  before(async () => {
    server = await startServer();
    const res = await fetch(`${server.adminUrl}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    doc = (await res.json()) as OpenApiDocument;
  });
  after(() => server.cleanup());

  it('is a valid OpenAPI 3.1 document: schema-valid, every operation answers something, every $ref resolves', async () => {
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
    assert.equal(validator.version, '3.1');

    const ids = operations(doc).map(({ op }) => op.operationId);
    assert.deepEqual(ids.length, new Set(ids).size, `operationIds are unique: ${ids.join(', ')}`);
    for (const { method, path, op } of operations(doc)) {
      assert.ok(Object.keys(op.responses).length > 0, `${method} ${path} has responses`);
      const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
      assert.deepEqual(
        declared.map((p) => p.name).sort(),
        pathParams.sort(),
        `${method} ${path} declares exactly its path parameters`,
      );
      for (const p of declared) assert.equal(p.required, true, `${method} ${path}: path parameter ${p.name}`);
    }
    const refs = refsOf(doc, '#');
    assert.ok(refs.length > 0);
    for (const { ref, at } of refs) {
      assert.notEqual(resolvePointer(doc, ref), undefined, `${ref} (at ${at}) resolves`);
    }
  });

  it('every documented operation exists on the live server, which serves no method it does not document', async () => {
    for (const { method, path } of operations(doc)) {
      // Unsigned: a route that exists answers 401 (the document itself 200), one that does not 404 or 405.
      const res = await rawRequest(server.adminUrl, { method, path: concrete(path), credentials: false });
      assert.ok(
        res.status !== 404 && res.status !== 405,
        `${method} ${path} is served (got ${res.status} ${res.body})`,
      );
      assert.equal(res.status, path === '/api/v1/openapi.json' ? 200 : 401, `${method} ${path}`);
    }
    for (const path of Object.keys(doc.paths)) {
      for (const method of METHODS) {
        if (doc.paths[path]![method.toLowerCase()] !== undefined) continue;
        const res = await rawRequest(server.adminUrl, { method, path: concrete(path), credentials: false });
        assert.equal(res.status, 405, `${method} ${path} is not documented, so not served (${res.body})`);
        assert.equal(res.headers['content-type'], 'application/problem+json');
        assert.equal((JSON.parse(res.body) as { code: string }).code, 'METHOD_NOT_ALLOWED');
      }
    }
  });

  it('every route of the router is documented, under its operationId, and answers on the live server', async () => {
    const documented = new Map(operations(doc).map(({ method, path, op }) => [`${method} ${path}`, op]));
    for (const route of API_ROUTES) {
      const key = `${route.method} /api/v1${route.path}`;
      assert.equal(documented.get(key)?.operationId, route.operationId, `${key} is documented`);
      const res = await rawRequest(server.adminUrl, {
        method: route.method,
        path: concrete(`/api/v1${route.path}`),
        credentials: false,
      });
      assert.equal(res.status, 401, `${key} is served (${res.body})`);
    }
    assert.equal(
      documented.get('GET /api/v1/openapi.json')?.operationId,
      'getOpenApi',
      'the document itself',
    );
    assert.equal(documented.size, API_ROUTES.length + 1, 'the routes and the document itself, nothing else');
  });

  it('marks a request body required exactly when the server refuses an empty one', async () => {
    const withBody = operations(doc).filter(({ op }) => op.requestBody !== undefined);
    assert.ok(withBody.some(({ op }) => op.requestBody?.required === false));
    for (const { method, path, op } of withBody) {
      // Bodies are validated before anything is looked up, so an unknown id is enough, and changes nothing.
      const res = await rawRequest(server.adminUrl, { method, path: concrete(path) });
      const problem = JSON.parse(res.body || '{}') as { code?: string; errors?: { field: string }[] };
      const bodyRefused =
        res.status === 400 &&
        problem.code === 'VALIDATION_FAILED' &&
        (problem.errors ?? []).some((e) => e.field.startsWith('body'));
      assert.equal(
        bodyRefused,
        op.requestBody?.required === true,
        `${method} ${path}: requestBody.required is ${String(op.requestBody?.required)}, an empty body got ${res.status} ${res.body}`,
      );
    }
    const pick = (method: string, path: string) =>
      doc.paths[`/api/v1${path}`]?.[method]?.requestBody?.required;
    assert.equal(pick('post', '/webhooks/{id}/resume'), false);
    assert.equal(pick('post', '/webhooks/{id}/rotate-secret'), false);
    assert.equal(pick('post', '/users/{name}/keys'), false);
    assert.equal(pick('post', '/webhooks'), true);
    assert.equal(pick('post', '/users'), true);
  });

  it('documents responses as the server sends them (the output of the schemas)', async () => {
    const root = adminClient(server);
    const created = await root.request<unknown>('POST', '/users', { name: 'openapi-user' });
    const key = await root.request<unknown>('POST', '/users/openapi-user/keys');
    const alice = await createUser(server, 'openapi-alice');
    const answers: [string, string, unknown][] = [
      ['post', '/users', created],
      ['post', '/users/{name}/keys', key],
      ['get', '/users', await root.request('GET', '/users')],
      ['get', '/users/{name}', await root.request('GET', '/users/openapi-alice')],
      ['get', '/keys', await root.request('GET', '/keys')],
      ['get', '/whoami', await adminClient(server, alice).request('GET', '/whoami')],
      ['get', '/webhooks', await root.request('GET', '/webhooks')],
    ];
    for (const [method, path, answer] of answers) {
      const op = doc.paths[`/api/v1${path}`]?.[method];
      assert.ok(op, `${method} ${path} is documented`);
      const success = Object.entries(op.responses).find(([status]) => status.startsWith('2'));
      const schema = success?.[1].content?.['application/json']?.schema;
      assert.ok(schema, `${method} ${path} documents its answer`);
      // What the server sends is exactly the documented fields (an input schema would leave it open).
      assert.equal(schema.additionalProperties, false, `${method} ${path}: the answer's fields are closed`);
      assert.deepEqual(mismatches(schema, answer), [], `${method} ${path}`);
    }
  });
});
