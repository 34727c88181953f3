import { randomFillSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { verifyRequest, type PayloadMode } from '../auth/sigv4-verify.ts';
import type { Identity } from '../auth/identity.ts';
import { dispatch } from './dispatch.ts';
import { sendS3Error, toS3Error } from './error-response.ts';
import type { RequestContext } from './request-context.ts';
import { routeRequest } from './router.ts';
import { S3Error } from './s3-error.ts';
import type { S3Operation } from './s3-operation.ts';
import type { S3Services } from './s3-services.ts';

/** The S3 REST API on node:http. */
export function createS3Server(services: S3Services): Server {
  const server = createServer(
    { keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 },
    (req, res) => {
      void handleRequest(services, req, res);
    },
  );
  return server;
}

/** Random bytes for request ids, filled 512 ids at a time: one `randomFillSync` per request cost ~4% of a small GET. */
const requestIdPool = Buffer.alloc(8 * 512);
let requestIdOffset = requestIdPool.length;

/** 16 upper-case hex digits, as S3's request ids. */
function newRequestId(): string {
  if (requestIdOffset >= requestIdPool.length) {
    randomFillSync(requestIdPool);
    requestIdOffset = 0;
  }
  const id = requestIdPool.toString('hex', requestIdOffset, requestIdOffset + 8).toUpperCase();
  requestIdOffset += 8;
  return id;
}

async function handleRequest(services: S3Services, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const requestId = newRequestId();
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? '' : url.slice(q + 1);
  const method = req.method ?? 'GET';
  const logger = services.logger.child({ requestId });
  res.setHeader('x-amz-request-id', requestId);
  res.setHeader('x-amz-id-2', requestId);
  res.setHeader('server', 'bucketbell');
  let operationName = 'Unknown';
  try {
    const routed = routeRequest(method, rawPath, rawQuery, req.headers, services.config.domain);
    operationName = routed.operation.name === 'NotImplemented' ? 'NotImplemented' : routed.operation.name;
    const { identity, payload } = await authenticate(services, req, rawPath, rawQuery, routed.operation);
    const rc: RequestContext = {
      req,
      res,
      requestId,
      query: routed.query,
      services,
      identity,
      payload,
      actor: { principal: identity.userName, sourceIp: req.socket.remoteAddress ?? '', requestId },
      logger,
    };
    await dispatch(rc, routed.operation);
  } catch (err) {
    const error = toS3Error(err, logger);
    if (error.status >= 500) logger.error({ code: error.code, method, url }, 'request failed');
    else logger.debug({ code: error.code, method, url }, 'request refused');
    if (!req.complete) res.setHeader('connection', 'close');
    sendS3Error(res, error, { requestId, resource: rawPath, isHead: method === 'HEAD' });
  } finally {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    services.metrics.s3Requests.inc({ operation: operationName, status: String(res.statusCode) });
    services.metrics.s3RequestDuration.observe({ operation: operationName }, seconds);
  }
}

async function authenticate(
  services: S3Services,
  req: IncomingMessage,
  rawPath: string,
  rawQuery: string,
  operation: S3Operation,
): Promise<{ identity: Identity; payload: PayloadMode }> {
  if (operation.name === 'PostObject') {
    // A browser form upload is authenticated by the signed policy inside its body (post-object handler).
    return { identity: { userName: '', accessKeyId: '', role: 'user' }, payload: { kind: 'unsigned' } };
  }
  const result = await verifyRequest(
    { method: req.method ?? 'GET', rawPath, rawQuery, headers: req.headers },
    (id) => services.credentials.lookupSecret(id),
    { now: new Date() },
  );
  if (result === undefined)
    throw new S3Error(
      'AccessDenied',
      'Anonymous access is not allowed; sign the request with an access key.',
    );
  const identity = await services.credentials.findIdentity(result.accessKeyId);
  if (identity === undefined) throw new S3Error('InvalidAccessKeyId');
  return { identity, payload: result.payload };
}
