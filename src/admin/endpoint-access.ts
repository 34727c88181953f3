import { isAdmin, type Identity } from '../auth/identity.ts';
import type { Executor } from '../db/database.ts';
import { findEndpoint, type EndpointRow } from '../db/notification-repository.ts';
import { ApiError } from './api-error.ts';

/** Only an endpoint's owner, or an admin, may see its deliveries, resend them or enable it. */
export function assertEndpointOwner(identity: Identity, owner: string, what: string): void {
  if (owner !== identity.userName && !isAdmin(identity)) {
    throw new ApiError('FORBIDDEN', `${what} belongs to another user.`);
  }
}

/** The endpoint `id` if the caller may manage it: 404 when there is none, 403 when it is someone else's. */
export async function requireOwnEndpoint(db: Executor, identity: Identity, id: string): Promise<EndpointRow> {
  const endpoint = await findEndpoint(db, id);
  if (endpoint === undefined) throw new ApiError('NOT_FOUND', `There is no webhook endpoint ${id}.`);
  assertEndpointOwner(identity, endpoint.owner, `Webhook endpoint ${id}`);
  return endpoint;
}
