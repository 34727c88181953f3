import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { routeRequest } from './router.ts';
import { S3Error } from './s3-error.ts';
import type { S3Operation, S3OperationName } from './s3-operation.ts';

const DOMAIN = 's3.example.com';
const BUCKET = 'photos';
const UPLOAD_ID = 'upload-1';
const COPY = { 'x-amz-copy-source': '/other/source.jpg' } as const;
const FORM = { 'content-type': 'multipart/form-data; boundary=xyz' } as const;

interface RouteCase {
  readonly method: string;
  /** The key as it appears in the URL (percent-encoded); absent for bucket requests, '' for the service. */
  readonly key?: string;
  readonly query?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly expected: S3Operation;
  /** `true` for the service itself (`GET /`): no bucket in the path nor in the host. */
  readonly service?: boolean;
}

const bucketOp = (name: Extract<S3Operation, { bucket: string; key?: never }>['name']): S3Operation => ({
  name,
  bucket: BUCKET,
});
const objectOp = (
  name: Extract<S3Operation, { key: string; uploadId?: never }>['name'],
  key = 'cat.jpg',
): S3Operation => ({ name, bucket: BUCKET, key });
const uploadOp = (name: Extract<S3Operation, { uploadId: string }>['name']): S3Operation => ({
  name,
  bucket: BUCKET,
  key: 'cat.jpg',
  uploadId: UPLOAD_ID,
});

/** Every request of the README's operation table (and the notification API), with the operation it is. */
const SUPPORTED: readonly RouteCase[] = [
  { method: 'GET', service: true, expected: { name: 'ListBuckets' } },
  { method: 'PUT', expected: bucketOp('CreateBucket') },
  { method: 'HEAD', expected: bucketOp('HeadBucket') },
  { method: 'GET', query: 'location', expected: bucketOp('GetBucketLocation') },
  { method: 'GET', query: 'location=', expected: bucketOp('GetBucketLocation') },
  { method: 'DELETE', expected: bucketOp('DeleteBucket') },
  { method: 'GET', query: 'versioning', expected: bucketOp('GetBucketVersioning') },
  { method: 'GET', expected: bucketOp('ListObjects') },
  {
    method: 'GET',
    query: 'prefix=a%2F&delimiter=%2F&marker=x&max-keys=5',
    expected: bucketOp('ListObjects'),
  },
  { method: 'GET', query: 'list-type=2', expected: bucketOp('ListObjectsV2') },
  {
    method: 'GET',
    query: 'list-type=2&continuation-token=abc&start-after=b&encoding-type=url',
    expected: bucketOp('ListObjectsV2'),
  },
  { method: 'GET', query: 'uploads', expected: bucketOp('ListMultipartUploads') },
  { method: 'GET', query: 'uploads&prefix=a&key-marker=b', expected: bucketOp('ListMultipartUploads') },
  { method: 'POST', query: 'delete', expected: bucketOp('DeleteObjects') },
  { method: 'POST', headers: FORM, expected: bucketOp('PostObject') },
  { method: 'GET', query: 'notification', expected: bucketOp('GetBucketNotificationConfiguration') },
  { method: 'PUT', query: 'notification', expected: bucketOp('PutBucketNotificationConfiguration') },
  { method: 'PUT', key: 'cat.jpg', expected: objectOp('PutObject') },
  { method: 'PUT', key: 'cat.jpg', headers: COPY, expected: objectOp('CopyObject') },
  { method: 'GET', key: 'cat.jpg', expected: objectOp('GetObject') },
  { method: 'GET', key: 'cat.jpg', query: 'partNumber=2', expected: objectOp('GetObject') },
  {
    method: 'GET',
    key: 'cat.jpg',
    query: 'response-content-type=text%2Fplain&response-cache-control=no-cache',
    expected: objectOp('GetObject'),
  },
  {
    method: 'GET',
    key: 'cat.jpg',
    query:
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2F20250101%2Fus-east-1%2Fs3%2Faws4_request' +
      '&X-Amz-Date=20250101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00',
    expected: objectOp('GetObject'),
  },
  {
    method: 'PUT',
    key: 'cat.jpg',
    query: 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=60&X-Amz-Signature=00',
    expected: objectOp('PutObject'),
  },
  { method: 'HEAD', key: 'cat.jpg', expected: objectOp('HeadObject') },
  { method: 'HEAD', key: 'cat.jpg', query: 'partNumber=1', expected: objectOp('HeadObject') },
  { method: 'DELETE', key: 'cat.jpg', expected: objectOp('DeleteObject') },
  { method: 'POST', key: 'cat.jpg', query: 'uploads', expected: objectOp('CreateMultipartUpload') },
  { method: 'POST', key: 'cat.jpg', query: 'uploads=', expected: objectOp('CreateMultipartUpload') },
  {
    method: 'PUT',
    key: 'cat.jpg',
    query: `partNumber=3&uploadId=${UPLOAD_ID}`,
    expected: uploadOp('UploadPart'),
  },
  {
    method: 'PUT',
    key: 'cat.jpg',
    query: `partNumber=3&uploadId=${UPLOAD_ID}`,
    headers: { ...COPY, 'x-amz-copy-source-range': 'bytes=0-9' },
    expected: uploadOp('UploadPartCopy'),
  },
  {
    method: 'POST',
    key: 'cat.jpg',
    query: `uploadId=${UPLOAD_ID}`,
    expected: uploadOp('CompleteMultipartUpload'),
  },
  {
    method: 'DELETE',
    key: 'cat.jpg',
    query: `uploadId=${UPLOAD_ID}`,
    expected: uploadOp('AbortMultipartUpload'),
  },
  { method: 'GET', key: 'cat.jpg', query: `uploadId=${UPLOAD_ID}`, expected: uploadOp('ListParts') },
  {
    method: 'GET',
    key: 'cat.jpg',
    query: `uploadId=${UPLOAD_ID}&max-parts=2&part-number-marker=1`,
    expected: uploadOp('ListParts'),
  },
  // Keys are decoded once, keep their slashes, and may look like sub-resources or paths.
  { method: 'GET', key: 'a/b/c.txt', expected: objectOp('GetObject', 'a/b/c.txt') },
  { method: 'PUT', key: 'a%20b%2Bc%2Fd', expected: objectOp('PutObject', 'a b+c/d') },
  { method: 'PUT', key: '%C3%BCn%C3%AF%2F%E6%97%A5', expected: objectOp('PutObject', 'ünï/日') },
  { method: 'GET', key: '..%2F..%2Fetc%2Fpasswd', expected: objectOp('GetObject', '../../etc/passwd') },
  { method: 'GET', key: 'a//b', expected: objectOp('GetObject', 'a//b') },
  { method: 'PUT', key: 'dir/', expected: objectOp('PutObject', 'dir/') },
  { method: 'GET', key: '%3Facl', expected: objectOp('GetObject', '?acl') },
  // What the AWS SDK and CLI add: `x-id` naming the operation, every documented parameter, versionId.
  { method: 'GET', service: true, query: 'x-id=ListBuckets', expected: { name: 'ListBuckets' } },
  {
    method: 'GET',
    service: true,
    query: 'prefix=p&max-buckets=10&continuation-token=t&bucket-region=us-east-1',
    expected: { name: 'ListBuckets' },
  },
  { method: 'GET', query: 'list-type=1&prefix=a', expected: bucketOp('ListObjects') },
  {
    method: 'GET',
    query: 'list-type=2&prefix=&delimiter=%2F&max-keys=10&fetch-owner=true',
    expected: bucketOp('ListObjectsV2'),
  },
  {
    method: 'GET',
    query: 'uploads&delimiter=%2F&encoding-type=url&max-uploads=5&upload-id-marker=u&prefix=p',
    expected: bucketOp('ListMultipartUploads'),
  },
  { method: 'GET', key: 'cat.jpg', query: 'x-id=GetObject', expected: objectOp('GetObject') },
  { method: 'GET', key: 'cat.jpg', query: 'versionId=null', expected: objectOp('GetObject') },
  {
    method: 'HEAD',
    key: 'cat.jpg',
    query: 'versionId=abc&partNumber=1&response-content-type=a%2Fb',
    expected: objectOp('HeadObject'),
  },
  { method: 'DELETE', key: 'cat.jpg', query: 'x-id=DeleteObject', expected: objectOp('DeleteObject') },
  { method: 'DELETE', key: 'cat.jpg', query: 'versionId=abc', expected: objectOp('DeleteObject') },
  { method: 'PUT', key: 'cat.jpg', query: 'x-id=PutObject', expected: objectOp('PutObject') },
  {
    method: 'PUT',
    key: 'cat.jpg',
    query: 'x-id=CopyObject',
    headers: COPY,
    expected: objectOp('CopyObject'),
  },
  {
    method: 'PUT',
    key: 'cat.jpg',
    query:
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00&x-amz-checksum-crc32=AAAAAA%3D%3D' +
      '&x-amz-sdk-checksum-algorithm=CRC32&x-id=PutObject',
    expected: objectOp('PutObject'),
  },
  {
    method: 'PUT',
    key: 'cat.jpg',
    query: `x-id=UploadPart&partNumber=1&uploadId=${UPLOAD_ID}`,
    expected: uploadOp('UploadPart'),
  },
  {
    method: 'PUT',
    key: 'cat.jpg',
    query: `x-id=UploadPartCopy&partNumber=1&uploadId=${UPLOAD_ID}`,
    headers: COPY,
    expected: uploadOp('UploadPartCopy'),
  },
  {
    method: 'DELETE',
    key: 'cat.jpg',
    query: `x-id=AbortMultipartUpload&uploadId=${UPLOAD_ID}`,
    expected: uploadOp('AbortMultipartUpload'),
  },
  {
    method: 'GET',
    key: 'cat.jpg',
    query: `x-id=ListParts&uploadId=${UPLOAD_ID}`,
    expected: uploadOp('ListParts'),
  },
];

/** Sub-resources bucketbell does not implement: each must answer NotImplemented, never a misroute. */
const UNSUPPORTED_BUCKET = [
  'acl',
  'tagging',
  'policy',
  'policyStatus',
  'lifecycle',
  'cors',
  'versions',
  'website',
  'encryption',
  'replication',
  'logging',
  'object-lock',
  'publicAccessBlock',
  'ownershipControls',
  'accelerate',
  'requestPayment',
  'analytics',
  'inventory',
  'metrics',
  'intelligent-tiering',
] as const;
const UNSUPPORTED_OBJECT = ['acl', 'tagging', 'retention', 'legal-hold', 'torrent', 'attributes'] as const;

const NOT_IMPLEMENTED: readonly RouteCase[] = [
  ...UNSUPPORTED_BUCKET.flatMap((sub) =>
    ['GET', 'PUT', 'DELETE', 'POST', 'HEAD'].map((method) => ({
      method,
      query: sub,
      expected: { name: 'NotImplemented', operation: '', bucket: BUCKET } as const,
    })),
  ),
  ...UNSUPPORTED_OBJECT.flatMap((sub) =>
    ['GET', 'PUT', 'DELETE', 'POST', 'HEAD'].flatMap((method) =>
      [{}, COPY].map((headers) => ({
        method,
        key: 'cat.jpg',
        query: sub,
        headers,
        expected: { name: 'NotImplemented', operation: '', bucket: BUCKET } as const,
      })),
    ),
  ),
  // An unsupported sub-resource wins even next to a supported one.
  {
    method: 'GET',
    query: 'versions&list-type=2',
    expected: { name: 'NotImplemented', operation: '', bucket: BUCKET },
  },
  {
    method: 'PUT',
    key: 'cat.jpg',
    query: `tagging&uploadId=${UPLOAD_ID}&partNumber=1`,
    expected: { name: 'NotImplemented', operation: '', bucket: BUCKET },
  },
  { method: 'PUT', query: 'versioning', expected: { name: 'NotImplemented', operation: '', bucket: BUCKET } },
  {
    method: 'POST',
    key: 'cat.jpg',
    query: 'restore',
    expected: { name: 'NotImplemented', operation: '', bucket: BUCKET },
  },
  {
    method: 'POST',
    key: 'cat.jpg',
    query: 'select&select-type=2',
    expected: { name: 'NotImplemented', operation: '', bucket: BUCKET },
  },
  { method: 'POST', key: 'cat.jpg', expected: { name: 'NotImplemented', operation: '', bucket: BUCKET } },
  { method: 'POST', expected: { name: 'NotImplemented', operation: '', bucket: BUCKET } },
  { method: 'POST', query: 'uploads', expected: { name: 'NotImplemented', operation: '', bucket: BUCKET } },
  {
    method: 'DELETE',
    query: 'notification',
    expected: { name: 'NotImplemented', operation: '', bucket: BUCKET },
  },
  { method: 'PUT', service: true, expected: { name: 'NotImplemented', operation: '' } },
  { method: 'DELETE', service: true, expected: { name: 'NotImplemented', operation: '' } },
  // Sub-resources that are not on any deny list: a parameter no supported operation takes.
  ...[
    'metadataConfiguration',
    'abac',
    'metadataTable',
    'metadataInventoryTable',
    'session',
    'foo=bar',
  ].flatMap((query) =>
    ['GET', 'PUT', 'DELETE', 'POST', 'HEAD'].map((method) => ({
      method,
      query,
      expected: { name: 'NotImplemented', operation: '', bucket: BUCKET } as const,
    })),
  ),
  ...['annotation', 'renameObject', 'encryption', 'foo', 'versionId=1&foo=bar'].flatMap((query) =>
    ['GET', 'PUT', 'DELETE', 'HEAD'].map((method) => ({
      method,
      key: 'cat.jpg',
      query,
      expected: { name: 'NotImplemented', operation: '', bucket: BUCKET } as const,
    })),
  ),
  { method: 'GET', service: true, query: 'acl', expected: { name: 'NotImplemented', operation: '' } },
  {
    method: 'GET',
    service: true,
    query: 'x-id=ListDirectoryBuckets',
    expected: { name: 'NotImplemented', operation: '' },
  },
  // A parameter one operation takes is still refused by another, and x-id must name the operation.
  ...[
    { method: 'PUT', key: 'cat.jpg', query: 'versionId=abc' },
    { method: 'PUT', key: 'cat.jpg', query: 'partNumber=1' },
    { method: 'PUT', key: 'cat.jpg', query: 'x-id=UploadPart' },
    { method: 'GET', key: 'cat.jpg', query: 'x-id=GetObjectAnnotation' },
    { method: 'GET', key: 'cat.jpg', query: 'x-id=' },
    { method: 'DELETE', key: 'cat.jpg', query: `uploadId=${UPLOAD_ID}&partNumber=1` },
    { method: 'GET', query: 'list-type=3' },
    { method: 'GET', query: 'list-type=2&marker=a' },
    { method: 'GET', query: 'location&prefix=a' },
    { method: 'PUT', query: 'prefix=a' },
    { method: 'POST', query: 'delete&versionId=1' },
  ].map((c) => ({ ...c, expected: { name: 'NotImplemented', operation: '', bucket: BUCKET } as const })),
];

type Style = 'path' | 'virtual-host';

/** The (path, query, headers, domain) a client sends for a case in each addressing style. */
function request(c: RouteCase, style: Style): Parameters<typeof routeRequest> {
  const keyPart = c.key === undefined ? '' : `/${c.key}`;
  const headers = c.headers ?? {};
  if (c.service === true)
    return [c.method, '/', c.query ?? '', { ...headers, host: `${DOMAIN}:9000` }, DOMAIN];
  if (style === 'path') {
    return [c.method, `/${BUCKET}${keyPart}`, c.query ?? '', { ...headers, host: `${DOMAIN}:9000` }, DOMAIN];
  }
  return [
    c.method,
    keyPart === '' ? '/' : keyPart,
    c.query ?? '',
    { ...headers, host: `${BUCKET}.${DOMAIN}:9000` },
    DOMAIN,
  ];
}

const label = (c: RouteCase, style: Style) =>
  `${c.method} ${c.key === undefined ? '' : c.key}${c.query === undefined ? '' : `?${c.query}`} ` +
  `${JSON.stringify(c.headers ?? {})} (${style})`;

describe('routeRequest', () => {
  for (const style of ['path', 'virtual-host'] as const) {
    it(`names the AWS operation of every supported request, ${style} style`, () => {
      for (const c of SUPPORTED) {
        const routed = routeRequest(...request(c, style));
        assert.deepEqual(routed.operation, c.expected, label(c, style));
      }
    });

    it(`answers NotImplemented for every unsupported sub-resource, ${style} style`, () => {
      for (const c of NOT_IMPLEMENTED) {
        const { operation } = routeRequest(...request(c, style));
        assert.equal(operation.name, 'NotImplemented', label(c, style));
        if (operation.name === 'NotImplemented') {
          assert.equal(operation.bucket, c.service === true ? undefined : BUCKET, label(c, style));
          assert.notEqual(operation.operation, '', label(c, style));
        }
      }
    });
  }

  it('covers every operation of the README table', () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const section = /## S3 operations\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
    // First cells such as `ListObjects, ListObjectsV2` or `UploadPartCopy (with range)`; the header,
    // the separator and `presigned GET/PUT` (a form of authentication, not an operation) drop out.
    const documented = [...section.matchAll(/^\| ([^|]+?) \|/gm)]
      .flatMap((m) => m[1]!.split(',').map((name) => name.replace(/\(.*\)/, '').trim()))
      .filter((name) => /^[A-Z][A-Za-z0-9]+$/.test(name));
    assert.ok(documented.length >= 20, `found the README table (${documented.join(', ')})`);
    const routed = new Set<S3OperationName>(SUPPORTED.map((c) => c.expected.name));
    for (const name of documented) {
      if (name === 'PutBucketVersioning') continue; // documented as answering NotImplemented
      assert.ok(routed.has(name as S3OperationName), `README operation ${name} has a route case`);
    }
    assert.ok(NOT_IMPLEMENTED.some((c) => c.method === 'PUT' && c.query === 'versioning'));
  });

  it('routes every operation of the AWS SDK: the supported ones to themselves, every other to NotImplemented', () => {
    // The SDK's own table of (method, path) per operation, as its serializer sends them.
    const sdkFile = createRequire(import.meta.url).resolve('@aws-sdk/client-s3');
    const source = readFileSync(sdkFile, 'utf8');
    const operations = [
      ...source.matchAll(/\[_h\]: \["([A-Z]+)", "([^"]*)", \d+\] \}, \(\) => (\w+)Request\$/g),
    ].map((m) => ({ method: m[1]!, target: m[2]!, name: m[3]! }));
    assert.ok(operations.length >= 100, `read the SDK's operations (${operations.length})`);
    const supported = new Set<string>(SUPPORTED.map((c) => c.expected.name));
    // Required parameters and headers of the supported operations whose path alone does not say them.
    const required: Readonly<Record<string, { query?: string; headers?: Record<string, string> }>> = {
      UploadPart: { query: `partNumber=1&uploadId=${UPLOAD_ID}` },
      UploadPartCopy: { query: `partNumber=1&uploadId=${UPLOAD_ID}`, headers: COPY },
      CompleteMultipartUpload: { query: `uploadId=${UPLOAD_ID}` },
      AbortMultipartUpload: { query: `uploadId=${UPLOAD_ID}` },
      ListParts: { query: `uploadId=${UPLOAD_ID}` },
      CopyObject: { headers: COPY },
    };
    let checked = 0;
    for (const { method, target, name } of operations) {
      if (name === 'WriteGetObjectResponse') continue; // sent to an Object Lambda host, not to a bucket
      const [pathPart = '', sdkQuery = ''] = target.split('?', 2);
      const extra = required[name];
      const query = [sdkQuery, extra?.query ?? ''].filter((q) => q !== '').join('&');
      const c: RouteCase = {
        method,
        query,
        headers: extra?.headers ?? {},
        expected: { name: 'NotImplemented', operation: '' },
        ...(pathPart === '/{Key+}' ? { key: 'cat.jpg' } : {}),
        ...(name === 'ListBuckets' || name === 'ListDirectoryBuckets' ? { service: true } : {}),
      };
      for (const style of ['path', 'virtual-host'] as const) {
        const { operation } = routeRequest(...request(c, style));
        assert.equal(
          operation.name,
          supported.has(name) ? name : 'NotImplemented',
          `${name}: ${label(c, style)}`,
        );
        checked += 1;
      }
    }
    assert.ok(checked >= 200);
  });

  it('keeps the decoded query, first value of each name', () => {
    const { query } = routeRequest(
      'GET',
      `/${BUCKET}`,
      'list-type=2&prefix=a%2Fb&prefix=zzz&x',
      {},
      undefined,
    );
    assert.deepEqual(
      [...query],
      [
        ['list-type', '2'],
        ['prefix', 'a/b'],
        ['x', ''],
      ],
    );
  });

  it('uses the Host only when it is a subdomain of the configured domain', () => {
    const route = (host: string, domain: string | undefined, rawPath = '/k') =>
      routeRequest('GET', rawPath, '', { host }, domain).operation;
    assert.deepEqual(route('Photos.S3.Example.com:9000', DOMAIN), objectOp('GetObject', 'k'));
    assert.deepEqual(route(`${BUCKET}.${DOMAIN}`, DOMAIN), objectOp('GetObject', 'k'));
    // The bare domain, an IP or another host: path style.
    assert.deepEqual(route(DOMAIN, DOMAIN, `/${BUCKET}/k`), objectOp('GetObject', 'k'));
    assert.deepEqual(route('127.0.0.1:9000', DOMAIN, `/${BUCKET}/k`), objectOp('GetObject', 'k'));
    assert.deepEqual(route(`${BUCKET}.elsewhere.org`, DOMAIN, `/${BUCKET}/k`), objectOp('GetObject', 'k'));
    // Without a domain, a bucket-like Host means nothing.
    assert.deepEqual(route(`${BUCKET}.${DOMAIN}`, undefined, `/${BUCKET}/k`), objectOp('GetObject', 'k'));
    // The service on the bare domain, virtual-host bucket listing on the subdomain.
    assert.deepEqual(routeRequest('GET', '/', '', { host: DOMAIN }, DOMAIN).operation, {
      name: 'ListBuckets',
    });
    assert.deepEqual(
      routeRequest('GET', '/', 'list-type=2', { host: `${BUCKET}.${DOMAIN}` }, DOMAIN).operation,
      bucketOp('ListObjectsV2'),
    );
  });

  it('refuses unknown methods and undecodable paths with S3 errors', () => {
    for (const [method, rawPath] of [
      ['PATCH', `/${BUCKET}`],
      ['PATCH', `/${BUCKET}/k`],
      ['OPTIONS', `/${BUCKET}/k?uploadId=1`],
    ] as const) {
      assert.throws(
        () => routeRequest(method, rawPath.split('?')[0]!, rawPath.split('?')[1] ?? '', {}, undefined),
        (err: unknown) => err instanceof S3Error && err.code === 'MethodNotAllowed',
        `${method} ${rawPath}`,
      );
    }
    assert.throws(
      () => routeRequest('GET', `/${BUCKET}/%E0%A4%A`, '', {}, undefined),
      (err: unknown) => err instanceof S3Error && err.code === 'InvalidArgument',
    );
  });
});
