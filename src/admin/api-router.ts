import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { AuthError } from '../auth/auth-error.ts';
import type { Identity } from '../auth/identity.ts';
import { verifyRequest } from '../auth/sigv4-verify.ts';
import type { AdminServices } from './admin-services.ts';
import { ApiError, problemBody, type FieldProblem } from './api-error.ts';
import type { ApiRoute, HttpMethod } from './api-route.ts';
import {
  decodePathParams,
  discardRest,
  isJsonMediaType,
  nulProblems,
  parseQueryString,
  readBody,
} from './request-input.ts';

export const API_PREFIX = '/api/v1';

interface CompiledRoute {
  readonly route: ApiRoute;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

/** Matches /api/v1 requests to routes, authenticates (SigV4, like MinIO's admin API), validates, runs, renders. */
export class ApiRouter {
  readonly #routes: readonly CompiledRoute[];

  constructor(routes: readonly ApiRoute[]) {
    this.#routes = routes.map((route) => {
      const names: string[] = [];
      const source = route.path
        .replace(/[.*+?^$()|[\]\\]/g, '\\$&')
        .replace(/\{(\w+)\}/g, (_m, name: string) => {
          names.push(name);
          return '([^/]+)';
        });
      return { route, pattern: new RegExp(`^${source}$`), names };
    });
  }

  get routes(): readonly ApiRoute[] {
    return this.#routes.map((r) => r.route);
  }

  async handle(services: AdminServices, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const rawQuery = q === -1 ? '' : url.slice(q + 1);
    res.setHeader('x-request-id', requestId);
    try {
      const { compiled, rawParams } = this.#match(
        req.method ?? 'GET',
        rawPath.slice(API_PREFIX.length) || '/',
      );
      // Like an unknown route, a URL that does not decode to text is refused before authentication.
      const urlProblems: FieldProblem[] = [];
      const params = decodePathParams(rawParams, urlProblems);
      const query = parseQueryString(rawQuery, urlProblems);
      throwProblems(urlProblems);
      const body = await readBody(req);
      const identity = await authenticate(services, req, rawPath, rawQuery, body);
      const { route } = compiled;
      if (route.access === 'admin' && identity.role !== 'admin') {
        throw new ApiError('FORBIDDEN', `${route.operationId} is for admins only.`);
      }
      const problems: FieldProblem[] = [];
      const parsedParams = validate(route.params, params, 'path', problems);
      const parsedQuery = validate(route.query, query, 'query', problems);
      let json: unknown = undefined;
      if (route.body !== undefined) {
        if (body.length === 0) json = {};
        else {
          if (!isJsonMediaType(req.headers['content-type'])) {
            throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json.');
          }
          try {
            json = JSON.parse(body.toString('utf8'));
          } catch {
            throw new ApiError('MALFORMED_JSON', 'The body is not valid JSON.');
          }
          problems.push(...nulProblems(json, 'body'));
        }
      }
      const parsedBody = validate(route.body, json, 'body', problems);
      throwProblems(problems);
      const result = await route.handle({
        params: parsedParams,
        query: parsedQuery,
        body: parsedBody,
        identity,
        services,
        requestId,
        sourceIp: req.socket.remoteAddress ?? '',
      });
      const status = route.status ?? 200;
      if (status === 204) {
        res.writeHead(204);
        res.end();
        return;
      }
      const text = JSON.stringify(result);
      res.writeHead(status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        'cache-control': 'no-store',
      });
      res.end(text);
    } catch (err) {
      const error = toApiError(err, services, requestId);
      const text = JSON.stringify(problemBody(error, rawPath));
      discardRest(req);
      res.writeHead(error.status, {
        'content-type': 'application/problem+json',
        'content-length': Buffer.byteLength(text),
        ...(error.code === 'UNAUTHENTICATED' ? { 'www-authenticate': 'AWS4-HMAC-SHA256' } : {}),
      });
      res.end(text);
    }
  }

  /** The route for a method and path; its parameters still percent-encoded. */
  #match(method: string, path: string): { compiled: CompiledRoute; rawParams: Record<string, string> } {
    let pathMatched = false;
    for (const compiled of this.#routes) {
      const match = compiled.pattern.exec(path);
      if (match === null) continue;
      pathMatched = true;
      if (compiled.route.method !== (method as HttpMethod)) continue;
      const rawParams: Record<string, string> = {};
      compiled.names.forEach((name, i) => {
        rawParams[name] = match[i + 1] ?? '';
      });
      return { compiled, rawParams };
    }
    if (pathMatched)
      throw new ApiError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${API_PREFIX}${path}.`);
    throw new ApiError('NOT_FOUND', `No API route ${method} ${API_PREFIX}${path}.`);
  }
}

function validate<T>(
  schema: z.ZodType<T> | undefined,
  value: unknown,
  where: string,
  problems: FieldProblem[],
): T {
  if (schema === undefined) return undefined as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    problems.push({ field: [where, ...issue.path.map(String)].join('.'), message: issue.message });
  }
  return undefined as T;
}

function throwProblems(problems: readonly FieldProblem[]): void {
  if (problems.length > 0)
    throw new ApiError(
      'VALIDATION_FAILED',
      problems.map((p) => `${p.field}: ${p.message}`).join('; '),
      problems,
    );
}

async function authenticate(
  services: AdminServices,
  req: IncomingMessage,
  rawPath: string,
  rawQuery: string,
  body: Buffer,
): Promise<Identity> {
  let result;
  try {
    result = await verifyRequest(
      { method: req.method ?? 'GET', rawPath, rawQuery, headers: req.headers },
      (id) => services.credentials.lookupSecret(id),
      { now: new Date() },
    );
  } catch (err) {
    if (err instanceof AuthError) throw new ApiError('UNAUTHENTICATED', `${err.code}: ${err.message}`);
    throw err;
  }
  if (result === undefined)
    throw new ApiError('UNAUTHENTICATED', 'Sign requests with an access key (AWS Signature Version 4).');
  if (
    result.payload.kind === 'signed' &&
    createHash('sha256').update(body).digest('hex') !== result.payload.sha256.toLowerCase()
  ) {
    throw new ApiError('UNAUTHENTICATED', 'The body does not match the signed x-amz-content-sha256.');
  }
  if (result.payload.kind === 'streaming-signed' || result.payload.kind === 'streaming-unsigned-trailer') {
    throw new ApiError('UNAUTHENTICATED', 'Chunked (aws-chunked) bodies are not accepted by the admin API.');
  }
  const identity = await services.credentials.findIdentity(result.accessKeyId);
  if (identity === undefined) throw new ApiError('UNAUTHENTICATED', 'The access key is unknown or disabled.');
  return identity;
}

function toApiError(err: unknown, services: AdminServices, requestId: string): ApiError {
  if (err instanceof ApiError) return err;
  services.logger.error({ err, requestId }, 'admin API request failed');
  return new ApiError('INTERNAL', `Internal error; request id ${requestId}.`);
}
