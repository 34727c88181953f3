import { isAdmin } from '../auth/identity.ts';
import { listBuckets } from '../db/bucket-repository.ts';
import { createBucket, deleteBucket } from '../mutations/bucket-mutations.ts';
import { authorizeBucket } from './bucket-access.ts';
import { bucketNameProblem } from './bucket-name.ts';
import { isoDate } from './object-headers.ts';
import { header, type RequestContext } from './request-context.ts';
import { readSmallBody, sendEmpty, sendXml } from './respond.ts';
import { S3Error } from './s3-error.ts';
import { parseXml, xmlText } from './xml.ts';

const MAX_BUCKETS = 10_000;

/** ListBuckets: `prefix`, `bucket-region`, and pages of `max-buckets` with an opaque `continuation-token`. */
export async function handleListBuckets(rc: RequestContext): Promise<void> {
  const owner = isAdmin(rc.identity) ? undefined : rc.identity.userName;
  const prefix = rc.query.get('prefix') ?? '';
  const region = rc.query.get('bucket-region');
  const maxBuckets = parseMaxBuckets(rc.query.get('max-buckets'));
  const token = rc.query.get('continuation-token');
  const after = token === undefined ? '' : Buffer.from(token, 'base64url').toString('utf8');
  if (token === '') throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect');
  const rows = (await listBuckets(rc.services.database.db, owner)).filter(
    (b) =>
      b.name.startsWith(prefix) &&
      b.name > after &&
      (region === undefined || region === rc.services.config.region),
  );
  const page = rows.slice(0, maxBuckets);
  const last = page.at(-1);
  sendXml(rc, 200, 'ListAllMyBucketsResult', {
    Owner: { ID: rc.identity.userName, DisplayName: rc.identity.userName },
    Buckets: {
      Bucket: page.map((b) => ({
        Name: b.name,
        CreationDate: isoDate(b.created_at),
        BucketRegion: rc.services.config.region,
      })),
    },
    ContinuationToken:
      rows.length > page.length && last !== undefined
        ? Buffer.from(last.name, 'utf8').toString('base64url')
        : undefined,
    Prefix: prefix === '' ? undefined : prefix,
  });
}

function parseMaxBuckets(text: string | undefined): number {
  if (text === undefined) return MAX_BUCKETS;
  const value = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= MAX_BUCKETS)) {
    throw new S3Error('InvalidArgument', `max-buckets must be an integer between 1 and ${MAX_BUCKETS}`, {
      ArgumentName: 'max-buckets',
      ArgumentValue: text,
    });
  }
  return value;
}

export async function handleCreateBucket(rc: RequestContext, bucket: string): Promise<void> {
  const problem = bucketNameProblem(bucket);
  if (problem !== undefined) throw new S3Error('InvalidBucketName', problem, { BucketName: bucket });
  if (header(rc, 'x-amz-bucket-object-lock-enabled')?.trim().toLowerCase() === 'true')
    throw new S3Error('NotImplemented', 'Object Lock is not implemented.');
  const body = await readSmallBody(rc, 64 * 1024);
  if (body.length > 0) {
    const doc = parseXml(body.toString('utf8'));
    const config = doc?.['CreateBucketConfiguration'];
    if (doc === undefined || (config !== undefined && config !== '' && typeof config !== 'object')) {
      throw new S3Error('MalformedXML');
    }
    if (config === undefined) throw new S3Error('MalformedXML');
    const location =
      typeof config === 'object' && config !== null
        ? xmlText((config as Record<string, unknown>)['LocationConstraint'])
        : undefined;
    if (location !== undefined && location !== '' && location !== rc.services.config.region) {
      throw new S3Error(
        'IllegalLocationConstraintException',
        `The ${location} location constraint is incompatible for the region specific endpoint this request was sent to.`,
      );
    }
  }
  await createBucket(rc.services.mutations, rc.actor, bucket);
  sendEmpty(rc, 200, { location: `/${bucket}` });
}

export async function handleDeleteBucket(rc: RequestContext, bucket: string): Promise<void> {
  await authorizeBucket(rc, bucket);
  await deleteBucket(rc.services.mutations, rc.actor, bucket);
  sendEmpty(rc, 204);
}

export async function handleHeadBucket(rc: RequestContext, bucket: string): Promise<void> {
  await authorizeBucket(rc, bucket);
  sendEmpty(rc, 200, { 'x-amz-bucket-region': rc.services.config.region });
}

export async function handleGetBucketLocation(rc: RequestContext, bucket: string): Promise<void> {
  await authorizeBucket(rc, bucket);
  const region = rc.services.config.region;
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">${region === 'us-east-1' ? '' : region}</LocationConstraint>`;
  rc.res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  rc.res.end(body);
}

/** Versioning is not supported yet: every bucket is (truthfully) unversioned, which S3 shows as no Status. */
export async function handleGetBucketVersioning(rc: RequestContext, bucket: string): Promise<void> {
  await authorizeBucket(rc, bucket);
  sendXml(rc, 200, 'VersioningConfiguration', {});
}
