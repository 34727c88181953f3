import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Identity } from '../auth/identity.ts';
import type { PayloadMode } from '../auth/sigv4-verify.ts';
import type { Actor } from '../mutations/actor.ts';
import type { Logger } from '../observability/logger.ts';
import type { S3Services } from './s3-services.ts';

/** One S3 request after routing and authentication. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly query: ReadonlyMap<string, string>;
  readonly services: S3Services;
  readonly identity: Identity;
  readonly payload: PayloadMode;
  readonly actor: Actor;
  readonly logger: Logger;
}

export function header(rc: RequestContext, name: string): string | undefined {
  const value = rc.req.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}
