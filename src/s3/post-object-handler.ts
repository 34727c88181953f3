import { createHash } from 'node:crypto';
import { checkPolicyConditions, verifyPostPolicy } from '../auth/post-policy.ts';
import { uriEncode } from '../auth/sigv4-canonical.ts';
import type { ObjectAttributes } from '../mutations/object-attributes.ts';
import { putObject } from '../mutations/object-mutations.ts';
import { BlobError } from '../storage/blob-error.ts';
import {
  CHECKSUM_ALGORITHMS,
  checksumHeaderName,
  type ChecksumAlgorithm,
} from '../storage/checksum-algorithm.ts';
import { createChecksum } from '../storage/checksum.ts';
import { authorizeBucket } from './bucket-access.ts';
import { formDataBoundary, parseFormData, type FormPart } from './form-data-parser.ts';
import { MAX_USER_METADATA_BYTES, quoteEtag } from './object-headers.ts';
import { checkKey } from './put-handlers.ts';
import { header, type RequestContext } from './request-context.ts';
import { S3Error } from './s3-error.ts';
import { renderXml } from './xml.ts';

/** AWS's limit on the form fields before the file (`MaxPostPreDataLengthExceeded`). */
const MAX_POST_PRE_DATA_BYTES = 20 * 1024;
/** How much of a refused form's remainder is read so that the client sees the error response. */
const MAX_DISCARDED_BYTES = 1024 * 1024;

type FormParts = AsyncGenerator<FormPart, void, undefined>;

/** Features we do not implement must not silently succeed (as in PutObject). */
const UNSUPPORTED_FIELDS = [
  'tagging',
  'x-amz-website-redirect-location',
  'x-amz-server-side-encryption-customer-algorithm',
  'x-amz-object-lock-mode',
];

/**
 * PostObject: a browser form upload, authenticated by the SigV4-signed policy inside the form rather than
 * by the request (s3-server lets it through with a placeholder identity). The fields before the `file`
 * part are read (20 KiB at most) and the policy verified before a byte of the file is stored; the file
 * streams into a blob; fields after it are ignored, as in AWS. Any failure leaves nothing behind.
 */
export async function handlePostObject(rc: RequestContext, bucket: string): Promise<void> {
  const boundary = formDataBoundary(header(rc, 'content-type'));
  if (boundary === undefined) {
    throw new S3Error(
      'MalformedPOSTRequest',
      'The body of your POST request is not well-formed multipart/form-data: the Content-Type has no valid boundary.',
    );
  }
  const body = (rc.req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  let stored: StoredPost;
  try {
    stored = await storePostedObject(
      rc,
      bucket,
      parseFormData({ [Symbol.asyncIterator]: () => body }, boundary),
    );
  } finally {
    // Read what is left (the epilogue, or a small form refused early) so that the client, which may still be
    // sending, gets the answer instead of a closed connection.
    await discardRest(body, MAX_DISCARDED_BYTES);
  }
  sendPostResponse(stored.rc, stored.fields, stored.object, stored.headers);
}

interface StoredPost {
  /** The request with the identity the policy proved. */
  readonly rc: RequestContext;
  readonly fields: ReadonlyMap<string, string>;
  readonly object: { readonly bucket: string; readonly key: string; readonly etag: string };
  readonly headers: Record<string, string>;
}

async function storePostedObject(rc: RequestContext, bucket: string, parts: FormParts): Promise<StoredPost> {
  const { fields, file } = await readFieldsUntilFile(parts);

  const { accessKeyId, conditions } = await verifyPostPolicy(
    fields,
    (id) => rc.services.credentials.lookupSecret(id),
    { now: new Date(), bucket },
  );
  const identity = await rc.services.credentials.findIdentity(accessKeyId);
  if (identity === undefined) throw new S3Error('InvalidAccessKeyId');
  const authenticated: RequestContext = {
    ...rc,
    identity,
    actor: { principal: identity.userName, sourceIp: rc.actor.sourceIp, requestId: rc.requestId },
  };
  await authorizeBucket(authenticated, bucket);

  const keyField = fields.get('key');
  if (keyField === undefined) {
    throw new S3Error(
      'InvalidArgument',
      "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
      { ArgumentName: 'key', ArgumentValue: '' },
    );
  }
  const key = keyField.replaceAll('${filename}', file.filename ?? '');
  if (key === '') {
    throw new S3Error('InvalidArgument', 'User key must have a length greater than 0.', {
      ArgumentName: 'key',
      ArgumentValue: '',
    });
  }
  checkKey(key);
  const policyFields = new Map(fields).set('key', key);
  checkPolicyConditions(conditions, policyFields, undefined);
  rejectUnsupportedFields(fields);
  const attributes = attributesFromFields(fields);
  const wantedChecksum = checksumFromFields(fields);

  const maxSize = Math.min(rc.services.config.maxObjectSize, conditions.contentLength?.max ?? Infinity);
  const received = await receiveFile(authenticated, file, maxSize, wantedChecksum);
  try {
    checkPolicyConditions(conditions, policyFields, received.size);
    // The rest of the form must be well-formed too, though its fields are ignored.
    while ((await parts.next()).done !== true) {
      // Each part is skipped by the parser.
    }
  } catch (err) {
    await rc.services.blobs.remove(received.blobId);
    throw err;
  }
  const result = await putObject(rc.services.mutations, authenticated.actor, {
    bucket,
    key,
    bytes: { kind: 'blob', blobId: received.blobId },
    size: received.size,
    etag: received.md5,
    attributes,
    checksum: received.checksum === undefined ? null : { ...received.checksum, type: 'FULL_OBJECT' },
    eventName: 's3:ObjectCreated:Post',
  });
  const headers: Record<string, string> = { etag: quoteEtag(result.etag) };
  if (received.checksum !== undefined) {
    headers[checksumHeaderName(received.checksum.algorithm)] = received.checksum.value;
    headers['x-amz-checksum-type'] = 'FULL_OBJECT';
  }
  return { rc: authenticated, fields, object: { bucket, key, etag: result.etag }, headers };
}

/** Reads and drops up to `limit` more bytes of the request; gives up quietly past that or on an error. */
async function discardRest(body: AsyncIterator<Buffer>, limit: number): Promise<void> {
  let left = limit;
  try {
    while (left > 0) {
      const next = await body.next();
      if (next.done === true) return;
      left -= next.value.length;
    }
  } catch {
    // The client went away: there is nobody to answer.
  }
}

/**
 * Reads the form fields (names lower-cased) up to the `file` part. A form without one is refused as AWS
 * does; so is a repeated field, which would make what the policy checked ambiguous.
 */
async function readFieldsUntilFile(
  parts: FormParts,
): Promise<{ fields: Map<string, string>; file: FormPart }> {
  const fields = new Map<string, string>();
  let preDataBytes = 0;
  const tooLarge = () =>
    new S3Error('MaxPostPreDataLengthExceeded', undefined, {
      MaxPostPreDataLengthBytes: String(MAX_POST_PRE_DATA_BYTES),
    });
  for (;;) {
    const next = await parts.next();
    if (next.done === true) {
      throw new S3Error('InvalidArgument', 'POST requires exactly one file upload per request.', {
        ArgumentName: 'file',
        ArgumentValue: '0',
      });
    }
    const part = next.value;
    const name = part.name.toLowerCase();
    if (name === 'file') return { fields, file: part };
    preDataBytes += Buffer.byteLength(part.name);
    if (preDataBytes > MAX_POST_PRE_DATA_BYTES) throw tooLarge();
    const chunks: Buffer[] = [];
    for await (const chunk of part.body) {
      preDataBytes += chunk.length;
      if (preDataBytes > MAX_POST_PRE_DATA_BYTES) throw tooLarge();
      chunks.push(chunk);
    }
    if (fields.has(name)) {
      throw new S3Error('InvalidArgument', `The form field '${part.name}' appears more than once.`, {
        ArgumentName: part.name,
      });
    }
    fields.set(name, Buffer.concat(chunks).toString('utf8'));
  }
}

function rejectUnsupportedFields(fields: ReadonlyMap<string, string>): void {
  for (const name of UNSUPPORTED_FIELDS) {
    if (fields.has(name)) {
      throw new S3Error('NotImplemented', `The ${name} field is not supported on POST uploads.`);
    }
  }
  const storageClass = fields.get('x-amz-storage-class');
  if (storageClass !== undefined && storageClass !== 'STANDARD') {
    throw new S3Error(
      'InvalidStorageClass',
      'The storage class you specified is not valid (only STANDARD is supported).',
    );
  }
}

/**
 * The stored headers and x-amz-meta-* from the form. A field is text (UTF-8) but these become HTTP headers,
 * which Node writes as Latin-1: each value is carried as its UTF-8 bytes, exactly as a PUT header would be,
 * and control characters (a textarea's line breaks) are refused.
 */
function attributesFromFields(fields: ReadonlyMap<string, string>): ObjectAttributes {
  const asHeader = (name: string, value: string): string => {
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) {
      throw new S3Error('InvalidArgument', `The ${name} field holds a control character.`, {
        ArgumentName: name,
      });
    }
    return Buffer.from(value, 'utf8').toString('latin1');
  };
  const userMetadata: Record<string, string> = {};
  let metadataBytes = 0;
  for (const [name, value] of fields) {
    if (!name.startsWith('x-amz-meta-') || name === 'x-amz-meta-') continue;
    const short = name.slice('x-amz-meta-'.length);
    userMetadata[short] = asHeader(name, value);
    metadataBytes += Buffer.byteLength(short) + Buffer.byteLength(value);
  }
  if (metadataBytes > MAX_USER_METADATA_BYTES) {
    throw new S3Error(
      'MetadataTooLarge',
      `Your metadata headers exceed the maximum allowed metadata size of ${MAX_USER_METADATA_BYTES} bytes.`,
    );
  }
  const stored = (name: string): string | null => {
    const value = fields.get(name);
    return value === undefined ? null : asHeader(name, value);
  };
  return {
    contentType: stored('content-type') ?? 'binary/octet-stream',
    contentEncoding: stored('content-encoding'),
    contentDisposition: stored('content-disposition'),
    contentLanguage: stored('content-language'),
    cacheControl: stored('cache-control'),
    expires: stored('expires'),
    userMetadata,
  };
}

function checksumFromFields(
  fields: ReadonlyMap<string, string>,
): { readonly algorithm: ChecksumAlgorithm; readonly value: string } | undefined {
  const given = CHECKSUM_ALGORITHMS.filter((alg) => fields.has(checksumHeaderName(alg)));
  if (given.length > 1) {
    throw new S3Error(
      'InvalidRequest',
      'Expecting a single x-amz-checksum- field. Multiple checksum Types are not allowed.',
    );
  }
  const algorithm = given[0];
  return algorithm === undefined
    ? undefined
    : { algorithm, value: fields.get(checksumHeaderName(algorithm))! };
}

interface ReceivedFile {
  readonly blobId: string;
  readonly size: number;
  readonly md5: string;
  readonly checksum: { readonly algorithm: ChecksumAlgorithm; readonly value: string } | undefined;
}

/** Streams the file part into a new durable blob, hashing it on the way; verifies a checksum field. */
async function receiveFile(
  rc: RequestContext,
  file: FormPart,
  maxSize: number,
  wanted: { readonly algorithm: ChecksumAlgorithm; readonly value: string } | undefined,
): Promise<ReceivedFile> {
  const md5 = createHash('md5');
  const checksum = wanted === undefined ? undefined : createChecksum(wanted.algorithm);
  let written: { readonly blobId: string; readonly size: number };
  try {
    written = await rc.services.blobs.write(file.body, {
      maxSize,
      observe: (chunk) => {
        md5.update(chunk);
        checksum?.update(chunk);
      },
    });
  } catch (err) {
    if (err instanceof BlobError && err.code === 'EntityTooLarge') {
      throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size.', {
        MaxSizeAllowed: String(maxSize),
      });
    }
    throw err;
  }
  if (wanted !== undefined && checksum !== undefined && checksum.digest() !== wanted.value) {
    await rc.services.blobs.remove(written.blobId);
    throw new S3Error(
      'BadDigest',
      `The ${wanted.algorithm} you specified did not match the calculated checksum.`,
    );
  }
  return {
    ...written,
    md5: md5.digest('hex'),
    checksum: wanted === undefined ? undefined : { algorithm: wanted.algorithm, value: wanted.value },
  };
}

/**
 * Answers as AWS does: a 303 to `success_action_redirect` (with bucket, key and etag added to its query)
 * when it is an http(s) URL; otherwise `success_action_status` 201 with a PostResponse document, 200
 * empty, or 204 empty (the default, also for any other value).
 */
function sendPostResponse(
  rc: RequestContext,
  fields: ReadonlyMap<string, string>,
  object: { readonly bucket: string; readonly key: string; readonly etag: string },
  headers: Record<string, string>,
): void {
  const redirect = parseRedirect(fields.get('success_action_redirect') ?? fields.get('redirect'));
  if (redirect !== undefined) {
    redirect.searchParams.set('bucket', object.bucket);
    redirect.searchParams.set('key', object.key);
    redirect.searchParams.set('etag', quoteEtag(object.etag));
    rc.res.writeHead(303, { ...headers, location: redirect.toString(), 'content-length': '0' });
    rc.res.end();
    return;
  }
  const location = objectLocation(rc, object.bucket, object.key);
  const status = fields.get('success_action_status');
  if (status === '201') {
    const body = renderXml(
      'PostResponse',
      { Location: location, Bucket: object.bucket, Key: object.key, ETag: quoteEtag(object.etag) },
      false,
    );
    rc.res.writeHead(201, {
      ...headers,
      location,
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
    });
    rc.res.end(body);
    return;
  }
  if (status === '200') {
    rc.res.writeHead(200, { ...headers, location, 'content-length': '0' });
  } else {
    rc.res.writeHead(204, { ...headers, location });
  }
  rc.res.end();
}

function parseRedirect(value: string | undefined): URL | undefined {
  if (value === undefined) return undefined;
  const url = URL.parse(value);
  return url !== null && (url.protocol === 'http:' || url.protocol === 'https:') ? url : undefined;
}

/** The object's URL in the addressing style of the request: `/bucket/key` (path) or `/key` (virtual host). */
function objectLocation(rc: RequestContext, bucket: string, key: string): string {
  const host = header(rc, 'host') ?? 'localhost';
  const path = (rc.req.url ?? '/').split('?')[0] ?? '/';
  const pathStyle = path !== '/' && path !== '';
  return `http://${host}/${pathStyle ? `${bucket}/` : ''}${uriEncode(key, true)}`;
}
