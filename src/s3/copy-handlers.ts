import { createHash } from 'node:crypto';
import type { ObjectRow } from '../db/object-repository.ts';
import { uploadPart } from '../mutations/multipart-mutations.ts';
import { putObject } from '../mutations/object-mutations.ts';
import { parseChecksumAlgorithm, type ChecksumAlgorithm } from '../storage/checksum-algorithm.ts';
import { createChecksum } from '../storage/checksum.ts';
import { authorizeBucket } from './bucket-access.ts';
import { checksumFields } from './checksum-xml.ts';
import { resolveCopySource } from './copy-source.ts';
import { requireUploadForPart, parsePartNumber } from './multipart-handlers.ts';
import { attributesFromRequest, attributesFromRow, isoDate, quoteEtag } from './object-headers.ts';
import { objectSegments, readSegments } from './object-reader.ts';
import { checkKey, rejectUnsupportedPutHeaders } from './put-handlers.ts';
import { header, type RequestContext } from './request-context.ts';
import { sendXml } from './respond.ts';
import { S3Error } from './s3-error.ts';

interface CopiedBytes {
  readonly blobId: string;
  readonly size: number;
  readonly md5: string;
  readonly checksum: { readonly algorithm: ChecksumAlgorithm; readonly value: string } | null;
}

/** Copies bytes `start`..`end` of an object into a new durable blob, hashing them on the way. */
async function copyBytes(
  rc: RequestContext,
  row: ObjectRow,
  start: number,
  end: number,
  algorithm: ChecksumAlgorithm | undefined,
): Promise<CopiedBytes> {
  const { segments } = await objectSegments(rc.services.database.db, row);
  const source = await readSegments(rc.services.blobs, segments, start, end);
  const md5 = createHash('md5');
  const checksum = algorithm === undefined ? undefined : createChecksum(algorithm);
  const written = await rc.services.blobs.write(source, {
    maxSize: Number.MAX_SAFE_INTEGER,
    observe: (chunk) => {
      md5.update(chunk);
      checksum?.update(chunk);
    },
  });
  return {
    blobId: written.blobId,
    size: written.size,
    md5: md5.digest('hex'),
    checksum:
      algorithm === undefined || checksum === undefined ? null : { algorithm, value: checksum.digest() },
  };
}

function copyChecksumAlgorithm(rc: RequestContext, source: ObjectRow): ChecksumAlgorithm | undefined {
  const requested = header(rc, 'x-amz-checksum-algorithm');
  if (requested !== undefined) {
    const algorithm = parseChecksumAlgorithm(requested);
    if (algorithm === undefined)
      throw new S3Error('InvalidRequest', 'Checksum algorithm provided is unsupported.');
    return algorithm;
  }
  return source.checksum_algorithm === null ? undefined : parseChecksumAlgorithm(source.checksum_algorithm);
}

export async function handleCopyObject(rc: RequestContext, bucket: string, key: string): Promise<void> {
  checkKey(key);
  await authorizeBucket(rc, bucket);
  rejectUnsupportedPutHeaders(rc);
  const source = await resolveCopySource(rc);
  const directive = (header(rc, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error('InvalidArgument', 'Unknown metadata directive.', {
      ArgumentName: 'x-amz-metadata-directive',
      ArgumentValue: directive,
    });
  }
  if (source.bucket === bucket && source.key === key && directive === 'COPY') {
    throw new S3Error(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const attributes = directive === 'REPLACE' ? attributesFromRequest(rc) : attributesFromRow(source.row);
  const copied = await copyBytes(
    rc,
    source.row,
    0,
    source.row.size - 1,
    copyChecksumAlgorithm(rc, source.row),
  );
  const result = await putObject(rc.services.mutations, rc.actor, {
    bucket,
    key,
    bytes: { kind: 'blob', blobId: copied.blobId },
    size: copied.size,
    etag: copied.md5,
    attributes,
    checksum: copied.checksum === null ? null : { ...copied.checksum, type: 'FULL_OBJECT' },
    eventName: 's3:ObjectCreated:Copy',
  });
  sendXml(rc, 200, 'CopyObjectResult', {
    ETag: quoteEtag(result.etag),
    LastModified: isoDate(result.lastModified),
    ...(copied.checksum === null
      ? {}
      : { ChecksumType: 'FULL_OBJECT', ...checksumFields(copied.checksum.algorithm, copied.checksum.value) }),
  });
}

export async function handleUploadPartCopy(
  rc: RequestContext,
  bucket: string,
  key: string,
  uploadId: string,
): Promise<void> {
  const partNumber = parsePartNumber(rc);
  const upload = await requireUploadForPart(rc, bucket, key, uploadId);
  const source = await resolveCopySource(rc);
  const { start, end } = copyRange(header(rc, 'x-amz-copy-source-range'), source.row.size);
  const algorithm =
    upload.checksum_algorithm === null ? undefined : parseChecksumAlgorithm(upload.checksum_algorithm);
  const copied = await copyBytes(rc, source.row, start, end, algorithm);
  await uploadPart(rc.services.mutations, rc.actor, {
    bucket,
    key,
    uploadId,
    partNumber,
    blobId: copied.blobId,
    size: copied.size,
    etag: copied.md5,
    checksumValue: copied.checksum?.value ?? null,
  });
  sendXml(rc, 200, 'CopyPartResult', {
    ETag: quoteEtag(copied.md5),
    LastModified: isoDate(rc.services.mutations.now()),
    ...(copied.checksum === null ? {} : checksumFields(copied.checksum.algorithm, copied.checksum.value)),
  });
}

function copyRange(value: string | undefined, size: number): { start: number; end: number } {
  if (value === undefined) return { start: 0, end: size - 1 };
  const match = /^bytes=(\d+)-(\d+)$/.exec(value.trim());
  if (match === null) {
    throw new S3Error(
      'InvalidArgument',
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      { ArgumentName: 'x-amz-copy-source-range', ArgumentValue: value },
    );
  }
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (start > end || end >= size) {
    throw new S3Error('InvalidRange', undefined, { ActualObjectSize: String(size), RangeRequested: value });
  }
  return { start, end };
}
