import { isAdmin, type Identity } from '../auth/identity.ts';
import { findBucket, type BucketRow } from '../db/bucket-repository.ts';
import type { Executor } from '../db/database.ts';
import { findEndpoint, type EndpointRow, type RuleRow } from '../db/notification-repository.ts';
import { checkWebhookUrl } from '../delivery/url-policy.ts';
import type { AdminServices } from './admin-services.ts';
import { ApiError } from './api-error.ts';

/**
 * Who may use a webhook: an admin, any; a user, only an endpoint it owns that serves a bucket it
 * owns (so a bucket deleted and re-created by someone else takes its old owner's webhooks out of
 * reach). Everyone else gets 403 FORBIDDEN and nothing changes; an id that does not exist is 404.
 */
export async function requireWebhook(
  services: AdminServices,
  identity: Identity,
  id: string,
): Promise<EndpointRow> {
  const db = services.database.db;
  const endpoint = await findEndpoint(db, id);
  if (endpoint === undefined) throw new ApiError('NOT_FOUND', `There is no webhook ${id}.`);
  if (isAdmin(identity)) return endpoint;
  const bucket = endpoint.bucket === null ? undefined : await findBucket(db, endpoint.bucket);
  const ownsBucket = endpoint.bucket === null || bucket?.owner === identity.userName;
  if (endpoint.owner !== identity.userName || !ownsBucket) {
    throw new ApiError('FORBIDDEN', `You may not use webhook ${id}.`);
  }
  return endpoint;
}

/** A bucket the caller may add webhooks to: its owner's, or any for an admin. */
export async function requireOwnBucket(
  services: AdminServices,
  identity: Identity,
  name: string,
): Promise<BucketRow> {
  const bucket = await findBucket(services.database.db, name);
  if (bucket === undefined) throw new ApiError('NOT_FOUND', `There is no bucket ${name}.`);
  if (bucket.owner !== identity.userName && !isAdmin(identity)) {
    throw new ApiError('FORBIDDEN', `You may not add webhooks to bucket ${name}.`);
  }
  return bucket;
}

/** Endpoints the caller may see (optionally of one bucket), oldest first. */
export async function listVisibleWebhooks(
  db: Executor,
  identity: Identity,
  bucket: string | undefined,
): Promise<EndpointRow[]> {
  let query = db.selectFrom('endpoints as e').selectAll('e').orderBy('e.created_at').orderBy('e.id');
  if (bucket !== undefined) query = query.where('e.bucket', '=', bucket);
  if (!isAdmin(identity)) {
    query = query
      .leftJoin('buckets as b', 'b.name', 'e.bucket')
      .where('e.owner', '=', identity.userName)
      .where((eb) => eb.or([eb('e.bucket', 'is', null), eb('b.owner', '=', identity.userName)]));
  }
  return query.execute();
}

/** The rules that send to these endpoints, in configuration order. */
export async function rulesOfEndpoints(db: Executor, ids: readonly string[]): Promise<RuleRow[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('notification_rules')
    .selectAll()
    .where('endpoint_id', 'in', ids)
    .orderBy('bucket')
    .orderBy('position')
    .execute();
}

/**
 * The save-time URL check (the sender checks again at every dial): an admin may target any address;
 * a user only public ones and `webhook_allowed_cidrs`. A URL that is not one is 400 on `body.url`; one
 * the policy refuses is 422 SSRF_BLOCKED naming the reason.
 */
export async function checkUrlForCaller(
  services: AdminServices,
  identity: Identity,
  url: string,
): Promise<void> {
  const verdict = await checkWebhookUrl(url, {
    allowPrivate: isAdmin(identity),
    allowedCidrs: services.webhookAllowedCidrs,
  });
  if (verdict.ok) return;
  switch (verdict.code) {
    case 'SSRF_BLOCKED':
      throw new ApiError('SSRF_BLOCKED', `The webhook URL is refused: ${verdict.reason}.`);
    case 'INVALID_URL':
    case 'UNSUPPORTED_SCHEME':
    case 'UNRESOLVABLE':
      throw new ApiError('VALIDATION_FAILED', `body.url: ${verdict.reason}`, [
        { field: 'body.url', message: verdict.reason },
      ]);
  }
}
