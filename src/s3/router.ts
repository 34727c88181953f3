import { S3Error } from './s3-error.ts';
import type { S3Operation } from './s3-operation.ts';

export interface RoutedRequest {
  readonly operation: S3Operation;
  /** Decoded query parameters (the first value of each name). */
  readonly query: ReadonlyMap<string, string>;
}

/** The query parameters every list operation of a bucket takes. */
const LIST_PARAMETERS = ['prefix', 'delimiter', 'max-keys', 'encoding-type'] as const;
const RESPONSE_OVERRIDES = [
  'response-content-type',
  'response-content-language',
  'response-expires',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
] as const;

/**
 * The query parameters each operation accepts (besides `x-id` and the `X-Amz-*` parameters of
 * presigned URLs and hoisted headers). Any other parameter names a sub-resource or an option we do
 * not implement (`?acl`, `?metadataConfiguration`, `?abac`, ...): the request answers NotImplemented
 * rather than running the operation without it.
 */
const ACCEPTED_PARAMETERS: {
  readonly [N in Exclude<S3Operation['name'], 'NotImplemented'>]: readonly string[];
} = {
  ListBuckets: ['prefix', 'max-buckets', 'continuation-token', 'bucket-region'],
  CreateBucket: [],
  DeleteBucket: [],
  HeadBucket: [],
  GetBucketLocation: ['location'],
  GetBucketVersioning: ['versioning'],
  ListObjects: [...LIST_PARAMETERS, 'marker', 'list-type'],
  ListObjectsV2: [...LIST_PARAMETERS, 'list-type', 'continuation-token', 'start-after', 'fetch-owner'],
  ListMultipartUploads: [...LIST_PARAMETERS, 'uploads', 'key-marker', 'upload-id-marker', 'max-uploads'],
  DeleteObjects: ['delete'],
  PostObject: [],
  GetBucketNotificationConfiguration: ['notification'],
  PutBucketNotificationConfiguration: ['notification'],
  PutObject: [],
  CopyObject: [],
  GetObject: [...RESPONSE_OVERRIDES, 'versionId', 'partNumber'],
  HeadObject: [...RESPONSE_OVERRIDES, 'versionId', 'partNumber'],
  DeleteObject: ['versionId'],
  CreateMultipartUpload: ['uploads'],
  UploadPart: ['uploadId', 'partNumber'],
  UploadPartCopy: ['uploadId', 'partNumber'],
  CompleteMultipartUpload: ['uploadId'],
  AbortMultipartUpload: ['uploadId'],
  ListParts: ['uploadId', 'max-parts', 'part-number-marker'],
};

/**
 * Turns method, path and headers into one S3Operation. `host` is the Host header; `domain` enables
 * virtual-host-style addressing (`bucket.domain`). The path is still percent-encoded.
 */
export function routeRequest(
  method: string,
  rawPath: string,
  rawQuery: string,
  headers: Readonly<Record<string, string | string[] | undefined>>,
  domain: string | undefined,
): RoutedRequest {
  const params = new URLSearchParams(rawQuery);
  const query = new Map<string, string>();
  for (const [name, value] of params) if (!query.has(name)) query.set(name, value);
  const { bucket, key } = splitPath(rawPath, hostOf(headers), domain);
  const operation = classify(method, bucket, key, query, headers);
  return { operation: refuseUnknownParameters(method, operation, query), query };
}

/**
 * An operation with a query parameter it does not accept becomes NotImplemented naming it. `x-id`
 * (which the AWS SDK adds, e.g. `x-id=PutObject`) must name the operation itself.
 */
function refuseUnknownParameters(
  method: string,
  operation: S3Operation,
  query: ReadonlyMap<string, string>,
): S3Operation {
  if (operation.name === 'NotImplemented') return operation;
  const bucket = 'bucket' in operation ? operation.bucket : undefined;
  const accepted = ACCEPTED_PARAMETERS[operation.name];
  for (const [name, value] of query) {
    if (name.toLowerCase().startsWith('x-amz-') || accepted.includes(name)) continue;
    if (name === 'x-id') {
      if (value === operation.name) continue;
      return notImplemented(value === '' ? `${method} ?x-id` : value, bucket);
    }
    return notImplemented(`${method} ?${name}`, bucket);
  }
  return operation;
}

function hostOf(headers: Readonly<Record<string, string | string[] | undefined>>): string {
  const host = headers['host'];
  return (typeof host === 'string' ? host : '').toLowerCase().replace(/:\d+$/, '');
}

function splitPath(
  rawPath: string,
  host: string,
  domain: string | undefined,
): { bucket: string; key: string } {
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new S3Error('InvalidArgument', 'The request path is not valid percent-encoded UTF-8.');
  }
  if (domain !== undefined && domain !== '') {
    const suffix = `.${domain.toLowerCase()}`;
    if (host.endsWith(suffix) && host.length > suffix.length) {
      return { bucket: host.slice(0, -suffix.length), key: path.slice(1) };
    }
  }
  const rest = path.slice(1);
  const slash = rest.indexOf('/');
  return slash === -1
    ? { bucket: rest, key: '' }
    : { bucket: rest.slice(0, slash), key: rest.slice(slash + 1) };
}

function classify(
  method: string,
  bucket: string,
  key: string,
  query: ReadonlyMap<string, string>,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): S3Operation {
  if (bucket === '') {
    if (method === 'GET') return { name: 'ListBuckets' };
    return notImplemented(`${method} /`);
  }
  if (key === '') return classifyBucket(method, bucket, query, headers);
  return classifyObject(method, bucket, key, query, headers);
}

function classifyBucket(
  method: string,
  bucket: string,
  query: ReadonlyMap<string, string>,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): S3Operation {
  const op = <N extends Extract<S3Operation, { bucket: string; key?: never }>['name']>(name: N) =>
    ({ name, bucket }) as const;
  if (query.has('notification')) {
    if (method === 'GET') return op('GetBucketNotificationConfiguration');
    if (method === 'PUT') return op('PutBucketNotificationConfiguration');
    return notImplemented(`${method} ?notification`, bucket);
  }
  switch (method) {
    case 'GET':
      if (query.has('location')) return op('GetBucketLocation');
      if (query.has('versioning')) return op('GetBucketVersioning');
      if (query.has('uploads')) return op('ListMultipartUploads');
      switch (query.get('list-type')) {
        case '2':
          return op('ListObjectsV2');
        case undefined:
        case '1':
          return op('ListObjects');
        default:
          return notImplemented(`GET ?list-type=${query.get('list-type') ?? ''}`, bucket);
      }
    case 'HEAD':
      return op('HeadBucket');
    case 'PUT':
      if (query.has('versioning')) return notImplemented('PutBucketVersioning', bucket);
      return op('CreateBucket');
    case 'DELETE':
      return op('DeleteBucket');
    case 'POST': {
      if (query.has('delete')) return op('DeleteObjects');
      const type = headers['content-type'];
      if (typeof type === 'string' && type.toLowerCase().startsWith('multipart/form-data'))
        return op('PostObject');
      return notImplemented(`POST /${bucket}`, bucket);
    }
    default:
      throw new S3Error('MethodNotAllowed');
  }
}

function classifyObject(
  method: string,
  bucket: string,
  key: string,
  query: ReadonlyMap<string, string>,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): S3Operation {
  const uploadId = query.get('uploadId');
  const isCopy = headers['x-amz-copy-source'] !== undefined;
  if (uploadId !== undefined) {
    const op = <N extends Extract<S3Operation, { uploadId: string }>['name']>(name: N) =>
      ({ name, bucket, key, uploadId }) as const;
    switch (method) {
      case 'PUT':
        return op(isCopy ? 'UploadPartCopy' : 'UploadPart');
      case 'POST':
        return op('CompleteMultipartUpload');
      case 'DELETE':
        return op('AbortMultipartUpload');
      case 'GET':
        return op('ListParts');
      default:
        throw new S3Error('MethodNotAllowed');
    }
  }
  const op = <N extends Extract<S3Operation, { key: string; uploadId?: never }>['name']>(name: N) =>
    ({ name, bucket, key }) as const;
  switch (method) {
    case 'GET':
      return op('GetObject');
    case 'HEAD':
      return op('HeadObject');
    case 'PUT':
      return op(isCopy ? 'CopyObject' : 'PutObject');
    case 'DELETE':
      return op('DeleteObject');
    case 'POST':
      if (query.has('uploads')) return op('CreateMultipartUpload');
      return notImplemented(`POST /${bucket}/key`, bucket);
    default:
      throw new S3Error('MethodNotAllowed');
  }
}

function notImplemented(operation: string, bucket?: string): S3Operation {
  return { name: 'NotImplemented', operation, bucket };
}
