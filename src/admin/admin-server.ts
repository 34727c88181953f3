import { createServer, STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AdminServices } from './admin-services.ts';
import { ApiError, problemBody } from './api-error.ts';
import { API_PREFIX, ApiRouter } from './api-router.ts';
import { buildOpenApi, OPENAPI_PATH } from './openapi.ts';
import { API_ROUTES } from './routes/api-routes.ts';

/** The admin address: the admin API under /api/v1 (and its OpenAPI document), /healthz and /metrics. */
export function createAdminServer(services: AdminServices): Server {
  const router = new ApiRouter(API_ROUTES);
  const openapi = JSON.stringify(buildOpenApi(router.routes, services.version));
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    void (async () => {
      if (path === OPENAPI_PATH) {
        if (req.method === 'GET') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(openapi);
        } else {
          sendProblem(
            res,
            new ApiError('METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed on ${path}.`),
            {
              allow: 'GET',
            },
          );
        }
        return;
      }
      if (path === API_PREFIX || path.startsWith(`${API_PREFIX}/`)) {
        await router.handle(services, req, res);
        return;
      }
      if (req.method === 'GET' && path === '/healthz') {
        let ok = true;
        try {
          await services.database.db.selectFrom('buckets').select('name').limit(1).execute();
        } catch (err) {
          ok = false;
          services.logger.error({ err }, 'health check: database unreachable');
        }
        const body = JSON.stringify({
          status: ok ? 'ok' : 'unavailable',
          version: services.version,
          database: services.database.kind,
          workers: [services.dispatcher.status(), services.database.wake.status()],
        });
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(body);
        return;
      }
      if (req.method === 'GET' && path === '/metrics') {
        const body = await services.metrics.registry.metrics();
        res.writeHead(200, { 'content-type': services.metrics.registry.contentType });
        res.end(body);
        return;
      }
      sendProblem(res, new ApiError('NOT_FOUND', `No route for ${req.method ?? ''} ${path}`));
    })().catch((err: unknown) => {
      services.logger.error({ err }, 'admin request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/problem+json' });
      res.end(
        JSON.stringify({
          type: 'about:blank',
          title: 'Internal Server Error',
          status: 500,
          code: 'INTERNAL',
        }),
      );
    });
  });
  server.on('clientError', answerClientError);
  return server;
}

function sendProblem(res: ServerResponse, error: ApiError, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(problemBody(error));
  res.writeHead(error.status, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * Node's HTTP parser refused a request (not HTTP/1.1, headers too large, too slow to arrive): answer in
 * problem+json like every other admin API error, instead of Node's bare text, and close the connection.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const current = (socket as { _httpMessage?: ServerResponse })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || current?.headersSent === true) {
    socket.destroy();
    return;
  }
  const error =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new ApiError('HEADERS_TOO_LARGE', 'The request headers exceed the server limit.')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new ApiError('REQUEST_TIMEOUT', 'The request did not arrive in time.')
        : new ApiError(
            'MALFORMED_REQUEST',
            `The request is not valid HTTP/1.1 (${err.code ?? 'parse error'}).`,
          );
  const text = JSON.stringify(problemBody(error));
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n` +
      `content-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n` +
      `connection: close\r\n\r\n${text}`,
  );
}
