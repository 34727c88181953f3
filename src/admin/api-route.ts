import type { z } from 'zod';
import type { Identity } from '../auth/identity.ts';
import type { AdminServices } from './admin-services.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a handler gets: validated input, the caller, and the services. */
export interface RouteContext<P, Q, B> {
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  readonly identity: Identity;
  readonly services: AdminServices;
  readonly requestId: string;
  readonly sourceIp: string;
}

/**
 * One admin API operation. The same zod schemas validate requests and describe the operation in
 * the OpenAPI document (openapi.ts), so the two cannot drift.
 */
export interface ApiRoute<P = unknown, Q = unknown, B = unknown, R = unknown> {
  readonly method: HttpMethod;
  /** Under /api/v1, with `{name}` parameters, e.g. `/webhooks/{id}`. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  /** `admin`: admins only; `user`: any authenticated user (handlers check ownership). */
  readonly access: 'admin' | 'user';
  readonly params?: z.ZodType<P>;
  readonly query?: z.ZodType<Q>;
  readonly body?: z.ZodType<B>;
  readonly response: z.ZodType<R>;
  /** Success status (default 200). */
  readonly status?: number;
  readonly handle: (ctx: RouteContext<P, Q, B>) => Promise<R>;
}

/** Keeps each route's own types while collecting routes into one list. */
export function defineRoute<P, Q, B, R>(route: ApiRoute<P, Q, B, R>): ApiRoute {
  return route as unknown as ApiRoute;
}
