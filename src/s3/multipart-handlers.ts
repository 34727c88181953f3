import { findUpload, listPartsOfUpload, listUploads, type UploadRow } from '../db/upload-repository.ts';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  MAX_PART_NUMBER,
  uploadPart,
  type CompletedPart,
} from '../mutations/multipart-mutations.ts';
import {
  CHECKSUM_ALGORITHMS,
  checksumHeaderName,
  parseChecksumAlgorithm,
} from '../storage/checksum-algorithm.ts';
import { authorizeBucket } from './bucket-access.ts';
import { groupOf } from './list-handlers.ts';
import { checksumElement, checksumFields } from './checksum-xml.ts';
import { attributesFromRequest, isoDate, quoteEtag } from './object-headers.ts';
import { receivePayload } from './payload.ts';
import {
  checkKey,
  rejectUnsupportedPutHeaders,
  requireContentLength,
  writePrecondition,
} from './put-handlers.ts';
import { header, type RequestContext } from './request-context.ts';
import { readSmallBody, sendEmpty, sendXml } from './respond.ts';
import { S3Error } from './s3-error.ts';
import { parseXml, xmlList, xmlText } from './xml.ts';

export async function handleCreateMultipartUpload(
  rc: RequestContext,
  bucket: string,
  key: string,
): Promise<void> {
  checkKey(key);
  await authorizeBucket(rc, bucket);
  rejectUnsupportedPutHeaders(rc);
  const algorithmText = header(rc, 'x-amz-checksum-algorithm');
  const algorithm = algorithmText === undefined ? null : parseChecksumAlgorithm(algorithmText);
  if (algorithm === undefined)
    throw new S3Error('InvalidRequest', 'Checksum algorithm provided is unsupported.');
  const typeText = header(rc, 'x-amz-checksum-type')?.toUpperCase();
  if (typeText !== undefined && typeText !== 'FULL_OBJECT' && typeText !== 'COMPOSITE') {
    throw new S3Error('InvalidRequest', 'Value for x-amz-checksum-type header is invalid.');
  }
  let checksumType: 'FULL_OBJECT' | 'COMPOSITE' | null = null;
  if (algorithm !== null) {
    checksumType = typeText ?? (algorithm === 'CRC64NVME' ? 'FULL_OBJECT' : 'COMPOSITE');
    if (checksumType === 'FULL_OBJECT' && (algorithm === 'SHA1' || algorithm === 'SHA256')) {
      throw new S3Error(
        'InvalidRequest',
        `The FULL_OBJECT checksum type cannot be used with the ${algorithm} checksum algorithm.`,
      );
    }
    if (checksumType === 'COMPOSITE' && algorithm === 'CRC64NVME') {
      throw new S3Error(
        'InvalidRequest',
        'The COMPOSITE checksum type cannot be used with the CRC64NVME checksum algorithm.',
      );
    }
  } else if (typeText !== undefined) {
    throw new S3Error('InvalidRequest', 'x-amz-checksum-type requires x-amz-checksum-algorithm.');
  }
  const uploadId = await createMultipartUpload(rc.services.mutations, rc.actor, {
    bucket,
    key,
    attributes: attributesFromRequest(rc),
    checksumAlgorithm: algorithm,
    checksumType,
  });
  const headers: Record<string, string> = {};
  if (algorithm !== null && checksumType !== null) {
    headers['x-amz-checksum-algorithm'] = algorithm;
    headers['x-amz-checksum-type'] = checksumType;
  }
  sendXml(
    rc,
    200,
    'InitiateMultipartUploadResult',
    { Bucket: bucket, Key: key, UploadId: uploadId },
    headers,
  );
}

export function parsePartNumber(rc: RequestContext): number {
  const text = rc.query.get('partNumber') ?? '';
  const value = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= MAX_PART_NUMBER)) {
    throw new S3Error(
      'InvalidArgument',
      `Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`,
      { ArgumentName: 'partNumber', ArgumentValue: text },
    );
  }
  return value;
}

const NO_SUCH_UPLOAD =
  'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.';

export async function requireUploadForPart(
  rc: RequestContext,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<UploadRow> {
  await authorizeBucket(rc, bucket);
  const upload = await findUpload(rc.services.database.db, uploadId);
  if (upload === undefined || upload.bucket !== bucket || upload.key !== key) {
    throw new S3Error('NoSuchUpload', NO_SUCH_UPLOAD, { UploadId: uploadId });
  }
  return upload;
}

export async function handleUploadPart(
  rc: RequestContext,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<void> {
  const partNumber = parsePartNumber(rc);
  const upload = await requireUploadForPart(rc, bucket, key, uploadId);
  requireContentLength(rc);
  const uploadAlgorithm =
    upload.checksum_algorithm === null ? undefined : parseChecksumAlgorithm(upload.checksum_algorithm);
  const received = await receivePayload(rc, { maxSize: 5 * 1024 ** 3, defaultAlgorithm: uploadAlgorithm });
  if (
    uploadAlgorithm !== undefined &&
    received.checksum !== null &&
    received.checksum.algorithm !== uploadAlgorithm
  ) {
    await rc.services.blobs.remove(received.blobId);
    throw new S3Error(
      'InvalidRequest',
      `Checksum Type mismatch occurred, expected checksum Type: ${uploadAlgorithm.toLowerCase()}, actual checksum Type: ${received.checksum.algorithm.toLowerCase()}`,
    );
  }
  await uploadPart(rc.services.mutations, rc.actor, {
    bucket,
    key,
    uploadId,
    partNumber,
    blobId: received.blobId,
    size: received.size,
    etag: received.md5,
    checksumValue: uploadAlgorithm === undefined ? null : (received.checksum?.value ?? null),
  });
  const headers: Record<string, string> = { etag: quoteEtag(received.md5) };
  if (received.checksum !== null)
    headers[checksumHeaderName(received.checksum.algorithm)] = received.checksum.value;
  sendEmpty(rc, 200, headers);
}

export async function handleCompleteMultipartUpload(
  rc: RequestContext,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<void> {
  await authorizeBucket(rc, bucket);
  const precondition = writePrecondition(rc, key);
  const body = await readSmallBody(rc, 4 * 1024 * 1024, { checksumsDescribeBody: false });
  const doc = parseXml(body.toString('utf8'))?.['CompleteMultipartUpload'];
  if (typeof doc !== 'object' || doc === null) throw new S3Error('MalformedXML');
  const entries = xmlList((doc as Record<string, unknown>)['Part']);
  if (entries.length === 0) throw new S3Error('MalformedXML', 'You must specify at least one part');
  const parts: CompletedPart[] = entries.map((entry) => {
    if (typeof entry !== 'object' || entry === null) throw new S3Error('MalformedXML');
    const fields = entry as Record<string, unknown>;
    const numberText = xmlText(fields['PartNumber'])?.trim() ?? '';
    const etag = xmlText(fields['ETag'])?.trim();
    if (!/^\d{1,5}$/.test(numberText) || etag === undefined) throw new S3Error('MalformedXML');
    const checksum = CHECKSUM_ALGORITHMS.map((alg) => xmlText(fields[checksumElement(alg)])).find(
      (v) => v !== undefined,
    );
    return { partNumber: Number(numberText), etag, checksum };
  });
  const expected = CHECKSUM_ALGORITHMS.map((algorithm) => ({
    algorithm,
    value: header(rc, checksumHeaderName(algorithm)),
  })).filter(
    (c): c is { algorithm: (typeof CHECKSUM_ALGORITHMS)[number]; value: string } => c.value !== undefined,
  )[0];
  const result = await completeMultipartUpload(rc.services.mutations, rc.actor, {
    bucket,
    key,
    uploadId,
    parts,
    expectedChecksum: expected,
    precondition,
  });
  const host = header(rc, 'host') ?? 'localhost';
  sendXml(rc, 200, 'CompleteMultipartUploadResult', {
    Location: `http://${host}/${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`,
    Bucket: bucket,
    Key: key,
    ETag: quoteEtag(result.etag),
    ...(result.checksum === null
      ? {}
      : {
          ...checksumFields(result.checksum.algorithm, result.checksum.value),
          ChecksumType: result.checksum.type,
        }),
  });
}

export async function handleAbortMultipartUpload(
  rc: RequestContext,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<void> {
  await authorizeBucket(rc, bucket);
  await abortMultipartUpload(rc.services.mutations, rc.actor, bucket, key, uploadId);
  sendEmpty(rc, 204);
}

export async function handleListParts(
  rc: RequestContext,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<void> {
  const upload = await requireUploadForPart(rc, bucket, key, uploadId);
  const maxParts = boundedInt(rc, 'max-parts', 1000, 1000);
  const marker = boundedInt(rc, 'part-number-marker', 0, MAX_PART_NUMBER);
  const rows = await listPartsOfUpload(rc.services.database.db, uploadId, marker, maxParts + 1);
  const page = rows.slice(0, maxParts);
  const truncated = rows.length > maxParts;
  sendXml(rc, 200, 'ListPartsResult', {
    Bucket: bucket,
    Key: key,
    UploadId: uploadId,
    Initiator: { ID: upload.owner, DisplayName: upload.owner },
    Owner: { ID: upload.owner, DisplayName: upload.owner },
    StorageClass: 'STANDARD',
    PartNumberMarker: marker,
    NextPartNumberMarker: page.at(-1)?.part_number ?? marker,
    MaxParts: maxParts,
    IsTruncated: truncated,
    ...(upload.checksum_algorithm === null
      ? {}
      : { ChecksumAlgorithm: upload.checksum_algorithm, ChecksumType: upload.checksum_type ?? undefined }),
    Part: page.map((p) => ({
      PartNumber: p.part_number,
      LastModified: isoDate(p.last_modified),
      ETag: quoteEtag(p.etag),
      Size: p.size,
      ...checksumFields(upload.checksum_algorithm, p.checksum_value),
    })),
  });
}

export async function handleListMultipartUploads(rc: RequestContext, bucket: string): Promise<void> {
  await authorizeBucket(rc, bucket);
  const prefix = rc.query.get('prefix') ?? '';
  const delimiter = rc.query.get('delimiter') ?? '';
  const keyMarker = rc.query.get('key-marker') ?? '';
  const uploadIdMarker = keyMarker === '' ? '' : (rc.query.get('upload-id-marker') ?? '');
  const maxUploads = boundedInt(rc, 'max-uploads', 1000, 1000);
  const uploads: UploadRow[] = [];
  const commonPrefixes: string[] = [];
  // A key marker inside a common prefix (the NextKeyMarker of a page that ended on that prefix)
  // resumes after the whole prefix, so it is never listed twice.
  const skipGroup = delimiter === '' ? undefined : groupOf(keyMarker, prefix, delimiter);
  let afterKey = keyMarker;
  let afterId = uploadIdMarker;
  let truncated = false;
  /** The last entry listed, in listing order: where the next page starts. */
  let last: { readonly key: string; readonly uploadId?: string } | undefined;
  outer: for (;;) {
    const rows = await listUploads(rc.services.database.db, bucket, prefix, afterKey, afterId, 1000);
    for (const row of rows) {
      afterKey = row.key;
      afterId = row.upload_id;
      if (!row.key.startsWith(prefix)) break outer;
      if (skipGroup !== undefined && row.key.startsWith(skipGroup)) continue;
      const group = delimiter === '' ? undefined : groupOf(row.key, prefix, delimiter);
      if (group !== undefined && commonPrefixes.at(-1) === group) continue;
      if (uploads.length + commonPrefixes.length >= maxUploads) {
        truncated = true;
        break outer;
      }
      if (group !== undefined) {
        commonPrefixes.push(group);
        last = { key: group };
      } else {
        uploads.push(row);
        last = { key: row.key, uploadId: row.upload_id };
      }
    }
    if (rows.length < 1000) break;
  }
  sendXml(rc, 200, 'ListMultipartUploadsResult', {
    Bucket: bucket,
    KeyMarker: keyMarker,
    UploadIdMarker: uploadIdMarker,
    NextKeyMarker: truncated ? last?.key : undefined,
    NextUploadIdMarker: truncated ? last?.uploadId : undefined,
    Delimiter: delimiter === '' ? undefined : delimiter,
    Prefix: prefix,
    MaxUploads: maxUploads,
    IsTruncated: truncated,
    Upload: uploads.map((u) => ({
      Key: u.key,
      UploadId: u.upload_id,
      Initiator: { ID: u.owner, DisplayName: u.owner },
      Owner: { ID: u.owner, DisplayName: u.owner },
      StorageClass: 'STANDARD',
      Initiated: isoDate(u.initiated_at),
      ...(u.checksum_algorithm === null
        ? {}
        : { ChecksumAlgorithm: u.checksum_algorithm, ChecksumType: u.checksum_type ?? undefined }),
    })),
    CommonPrefixes: commonPrefixes.map((p) => ({ Prefix: p })),
  });
}

function boundedInt(rc: RequestContext, name: string, fallback: number, max: number): number {
  const text = rc.query.get(name);
  if (text === undefined) return fallback;
  if (!/^\d{1,9}$/.test(text))
    throw new S3Error('InvalidArgument', `Provided ${name} not an integer or within integer range`, {
      ArgumentName: name,
      ArgumentValue: text,
    });
  return Math.min(max, Number(text));
}
