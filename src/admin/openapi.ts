import { z } from 'zod';
import { API_ERROR_CODES } from './api-error.ts';
import type { ApiRoute } from './api-route.ts';
import { API_PREFIX } from './api-router.ts';

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'code', 'detail'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string', enum: Object.keys(API_ERROR_CODES) },
    detail: { type: 'string' },
    instance: { type: 'string' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'message'],
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};

/** Where the document is served, without authentication. */
export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;

/**
 * A JSON Schema of what a zod schema accepts (`input`: parameters and bodies, before defaults and
 * transforms) or produces (`output`: responses).
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    unrepresentable: 'any',
    io,
  }) as Record<string, unknown>;
  delete out['$schema'];
  return out;
}

const errorResponse = {
  description: 'An error',
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
};

/** The document's own entry: served to anyone, no signature needed. */
const openApiOperation = {
  operationId: 'getOpenApi',
  summary: 'This OpenAPI 3.1 document',
  tags: ['meta'],
  security: [],
  responses: {
    '200': {
      description: 'OK',
      content: { 'application/json': { schema: { type: 'object', required: ['openapi', 'paths'] } } },
    },
    default: errorResponse,
  },
};

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
export function buildOpenApi(routes: readonly ApiRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ['path', route.params],
      ['query', route.query],
    ] as const) {
      if (schema === undefined) continue;
      const object = jsonSchema(schema, 'input') as {
        properties?: Record<string, unknown>;
        required?: string[];
      };
      for (const [name, property] of Object.entries(object.properties ?? {})) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || (object.required ?? []).includes(name),
          schema: property,
        });
      }
    }
    const status = String(route.status ?? 200);
    (paths[`${API_PREFIX}${route.path}`] ??= {})[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      ...(route.access === 'admin' ? { description: 'Admins only.' } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body === undefined
        ? {}
        : {
            requestBody: {
              // The router reads an empty body as {}: the body is required only when {} is not valid.
              required: !route.body.safeParse({}).success,
              content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
            },
          }),
      responses: {
        [status]:
          status === '204'
            ? { description: 'Done' }
            : {
                description: 'OK',
                content: { 'application/json': { schema: jsonSchema(route.response, 'output') } },
              },
        default: errorResponse,
      },
      security: [{ sigv4: [] }],
    };
  }
  paths[OPENAPI_PATH] = { get: openApiOperation };
  return {
    openapi: '3.1.0',
    info: { title: 'bucketbell admin API', version },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: { Problem: problemSchema },
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'AWS Signature Version 4 (service s3) with an access key id and secret key.',
        },
      },
    },
  };
}
