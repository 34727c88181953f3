import { deleteObjects, type DeleteEntry } from '../mutations/object-mutations.ts';
import { authorizeBucket } from './bucket-access.ts';
import { checkWriteConditions } from './conditions.ts';
import { checkKey } from './put-handlers.ts';
import { header, type RequestContext } from './request-context.ts';
import { readSmallBody, sendEmpty, sendXml } from './respond.ts';
import { S3Error } from './s3-error.ts';
import { invalidVersionId, NULL_VERSION_ID, requireNullVersion } from './version-id.ts';
import { parseXml, xmlList, xmlText } from './xml.ts';

const MAX_DELETE_KEYS = 1000;

/** Conditions S3 evaluates on directory buckets only; here they would be ignored, so they are refused. */
const DIRECTORY_BUCKET_CONDITIONS = ['x-amz-if-match-last-modified-time', 'x-amz-if-match-size'] as const;

export async function handleDeleteObject(rc: RequestContext, bucket: string, key: string): Promise<void> {
  await authorizeBucket(rc, bucket);
  const namesNullVersion = requireNullVersion(rc.query.get('versionId'), 'versionId');
  for (const name of DIRECTORY_BUCKET_CONDITIONS) {
    if (header(rc, name) !== undefined)
      throw new S3Error('NotImplemented', `The ${name} header is not supported.`);
  }
  const ifMatch = header(rc, 'if-match');
  const [result] = await deleteObjects(rc.services.mutations, rc.actor, bucket, [
    { key, precondition: conditionalDelete(ifMatch, key) },
  ]);
  if (result?.refusal !== undefined) throw result.refusal;
  sendEmpty(rc, 204, namesNullVersion ? { 'x-amz-version-id': NULL_VERSION_ID } : {});
}

/** One `<Object>` of a DeleteObjects request, or the per-key error S3 reports for it without trying. */
type DeleteRequestEntry =
  | { readonly key: string; readonly versionId: string | undefined; readonly delete: DeleteEntry }
  | { readonly key: string; readonly versionId: string | undefined; readonly error: S3Error };

export async function handleDeleteObjects(rc: RequestContext, bucket: string): Promise<void> {
  await authorizeBucket(rc, bucket);
  const body = await readSmallBody(rc, 2 * 1024 * 1024);
  const doc = parseXml(body.toString('utf8'))?.['Delete'];
  if (typeof doc !== 'object' || doc === null) throw new S3Error('MalformedXML');
  const fields = doc as Record<string, unknown>;
  const quiet = xmlText(fields['Quiet'])?.trim().toLowerCase() === 'true';
  const objects = xmlList(fields['Object']);
  if (objects.length === 0 || objects.length > MAX_DELETE_KEYS) throw new S3Error('MalformedXML');
  const entries = objects.map(parseDeleteEntry);
  const attempts = entries.flatMap((entry) => ('delete' in entry ? [entry.delete] : []));
  const results =
    attempts.length === 0 ? [] : await deleteObjects(rc.services.mutations, rc.actor, bucket, attempts);
  const deleted: Record<string, string>[] = [];
  const errors: Record<string, string>[] = [];
  let next = 0;
  for (const entry of entries) {
    const version = entry.versionId === undefined ? {} : { VersionId: entry.versionId };
    const refusal = 'error' in entry ? entry.error : results[next++]?.refusal;
    if (refusal === undefined) {
      deleted.push({ Key: entry.key, ...version });
      continue;
    }
    if (!(refusal instanceof S3Error)) throw refusal;
    errors.push({ Key: entry.key, ...version, Code: refusal.code, Message: refusal.message });
  }
  sendXml(rc, 200, 'DeleteResult', { Deleted: quiet ? undefined : deleted, Error: errors });
}

function parseDeleteEntry(entry: unknown): DeleteRequestEntry {
  if (typeof entry !== 'object' || entry === null) throw new S3Error('MalformedXML');
  const fields = entry as Record<string, unknown>;
  const key = xmlText(fields['Key']);
  if (key === undefined || key === '') throw new S3Error('MalformedXML');
  checkKey(key);
  const versionId = xmlText(fields['VersionId']);
  if (versionId !== undefined && versionId !== NULL_VERSION_ID)
    return { key, versionId, error: invalidVersionId(versionId, 'versionId') };
  if (fields['LastModifiedTime'] !== undefined || fields['Size'] !== undefined) {
    return {
      key,
      versionId,
      error: new S3Error('NotImplemented', 'LastModifiedTime and Size conditions are not supported.'),
    };
  }
  return { key, versionId, delete: { key, precondition: conditionalDelete(xmlText(fields['ETag']), key) } };
}

/** A conditional delete (If-Match, or `<ETag>` in DeleteObjects): the current object must have that ETag (or exist, for `*`). */
function conditionalDelete(ifMatch: string | undefined, key: string): DeleteEntry['precondition'] {
  if (ifMatch === undefined) return undefined;
  return (current) => {
    checkWriteConditions({ ifMatch, ifNoneMatch: undefined }, current, key);
  };
}
