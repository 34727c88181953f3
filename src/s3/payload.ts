import { createHash } from 'node:crypto';
import { createChunkedDecoder } from '../auth/chunked-decoder.ts';
import {
  CHECKSUM_ALGORITHMS,
  checksumHeaderName,
  parseChecksumAlgorithm,
  type ChecksumAlgorithm,
} from '../storage/checksum-algorithm.ts';
import { createChecksum } from '../storage/checksum.ts';
import type { BlobWriteOptions } from '../storage/blob-store.ts';
import { INLINE_MAX_BYTES, type ObjectBytes } from '../mutations/object-bytes.ts';
import { header, type RequestContext } from './request-context.ts';
import { S3Error } from './s3-error.ts';

export interface ReceivedPayload {
  readonly blobId: string;
  readonly size: number;
  /** Hex MD5 of the bytes: the ETag of a simple object or a part. */
  readonly md5: string;
  readonly checksum: { readonly algorithm: ChecksumAlgorithm; readonly value: string } | null;
}

/** What the request says about the checksum of its body: which algorithm, and the value if sent as a header. */
export function requestedChecksum(
  rc: RequestContext,
): { algorithm: ChecksumAlgorithm; value: string | undefined } | undefined {
  const given = CHECKSUM_ALGORITHMS.filter((alg) => header(rc, checksumHeaderName(alg)) !== undefined);
  if (given.length > 1)
    throw new S3Error(
      'InvalidRequest',
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  const trailer = header(rc, 'x-amz-trailer')?.trim().toLowerCase();
  const sdkAlgorithm = header(rc, 'x-amz-sdk-checksum-algorithm');
  if (given[0] !== undefined) {
    const value = header(rc, checksumHeaderName(given[0]))!;
    return { algorithm: given[0], value };
  }
  if (trailer !== undefined && trailer !== '') {
    const algorithm = CHECKSUM_ALGORITHMS.find((alg) => checksumHeaderName(alg) === trailer);
    if (algorithm === undefined)
      throw new S3Error('InvalidRequest', `The trailer ${trailer} is not supported.`);
    return { algorithm, value: undefined };
  }
  if (sdkAlgorithm !== undefined) {
    const algorithm = parseChecksumAlgorithm(sdkAlgorithm);
    if (algorithm === undefined)
      throw new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.');
    return { algorithm, value: undefined };
  }
  return undefined;
}

/**
 * Streams the request body into a new durable blob, verifying on the way everything the client
 * vouched for: chunk signatures, the payload hash, Content-Length, Content-MD5 and x-amz-checksum-*.
 * On any failure the blob is removed and the matching S3 error thrown.
 */
export async function receivePayload(rc: RequestContext, options: ReceiveOptions): Promise<ReceivedPayload> {
  const blobs = rc.services.blobs;
  const { stored, ...verified } = await receiveInto(rc, options, {
    write: (source, writeOptions) => blobs.write(source, writeOptions),
    discard: (written) => blobs.remove(written.blobId),
  });
  return { blobId: stored.blobId, ...verified };
}

/** A simple object's body, verified as `receivePayload` does: in a blob, or kept in memory when small. */
export interface ReceivedObjectPayload extends Omit<ReceivedPayload, 'blobId'> {
  readonly bytes: ObjectBytes;
}

/**
 * `receivePayload` for a simple object (PutObject): a body that declares at most `INLINE_MAX_BYTES` is
 * kept in memory, to be stored in the object's row; a larger one goes to a blob.
 */
export async function receiveObjectPayload(
  rc: RequestContext,
  options: ReceiveOptions,
): Promise<ReceivedObjectPayload> {
  const declared = parseLength(declaredLengthHeader(rc), isStreaming(rc));
  if (declared === undefined || declared > INLINE_MAX_BYTES) {
    const { blobId, ...rest } = await receivePayload(rc, options);
    return { ...rest, bytes: { kind: 'blob', blobId } };
  }
  const { stored, ...verified } = await receiveInto(rc, options, {
    write: (source, writeOptions) => collect(source, declared, writeOptions.observe),
    discard: () => Promise.resolve(),
  });
  return { ...verified, bytes: { kind: 'inline', data: stored.data } };
}

interface ReceiveOptions {
  readonly maxSize: number;
  /** Computed (not verified) when the client names no checksum, e.g. a part of an upload created with one. */
  readonly defaultAlgorithm?: ChecksumAlgorithm | undefined;
}

/** Where a body goes while it is received, and how to take it back when it fails verification. */
interface PayloadSink<S extends { readonly size: number }> {
  write(source: AsyncIterable<Uint8Array>, options: BlobWriteOptions): Promise<S>;
  discard(stored: S): Promise<void>;
}

function isStreaming(rc: RequestContext): boolean {
  return rc.payload.kind === 'streaming-signed' || rc.payload.kind === 'streaming-unsigned-trailer';
}

/** The body's length as the request declares it (aws-chunked: the decoded length). */
function declaredLengthHeader(rc: RequestContext): string | undefined {
  return isStreaming(rc) ? header(rc, 'x-amz-decoded-content-length') : header(rc, 'content-length');
}

async function receiveInto<S extends { readonly size: number }>(
  rc: RequestContext,
  options: ReceiveOptions,
  sink: PayloadSink<S>,
): Promise<Omit<ReceivedPayload, 'blobId'> & { readonly stored: S }> {
  const { payload } = rc;
  const expectedMd5 = parseContentMd5(header(rc, 'content-md5'));
  const wanted =
    requestedChecksum(rc) ??
    (options.defaultAlgorithm === undefined
      ? undefined
      : { algorithm: options.defaultAlgorithm, value: undefined, computeOnly: true });
  const streaming = isStreaming(rc);
  const declaredLength = parseLength(declaredLengthHeader(rc), streaming);
  if (declaredLength !== undefined && declaredLength > options.maxSize) throw new S3Error('EntityTooLarge');
  const md5 = createHash('md5');
  const sha256 = payload.kind === 'signed' ? createHash('sha256') : undefined;
  const checksum = wanted === undefined ? undefined : createChecksum(wanted.algorithm);
  const decoder =
    payload.kind === 'streaming-signed' || payload.kind === 'streaming-unsigned-trailer'
      ? createChunkedDecoder(
          payload,
          declaredLength === undefined ? {} : { decodedContentLength: declaredLength },
        )
      : undefined;
  const source = decoder === undefined ? rc.req : rc.req.pipe(decoder);
  if (decoder !== undefined) rc.req.on('error', (err) => decoder.destroy(err));
  const written = await sink.write(source, {
    maxSize: options.maxSize,
    observe: (chunk) => {
      md5.update(chunk);
      sha256?.update(chunk);
      checksum?.update(chunk);
    },
  });
  try {
    if (declaredLength !== undefined && written.size !== declaredLength) {
      throw new S3Error('IncompleteBody');
    }
    if (payload.kind === 'signed' && sha256!.digest('hex') !== payload.sha256.toLowerCase()) {
      throw new S3Error('XAmzContentSHA256Mismatch');
    }
    const md5Digest = md5.digest();
    if (expectedMd5 !== undefined && !md5Digest.equals(expectedMd5)) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    let verified: ReceivedPayload['checksum'] = null;
    if (wanted !== undefined && checksum !== undefined) {
      const actual = checksum.digest();
      const claimed =
        'computeOnly' in wanted
          ? actual
          : (wanted.value ?? decoder?.trailers.get(checksumHeaderName(wanted.algorithm)));
      if (claimed === undefined) {
        throw new S3Error('InvalidRequest', `The ${wanted.algorithm} checksum was announced but not sent.`);
      }
      if (claimed !== actual) {
        throw new S3Error(
          'BadDigest',
          `The ${wanted.algorithm} you specified did not match the calculated checksum.`,
        );
      }
      verified = { algorithm: wanted.algorithm, value: actual };
    }
    return { stored: written, size: written.size, md5: md5Digest.toString('hex'), checksum: verified };
  } catch (err) {
    await sink.discard(written);
    throw err;
  }
}

/** Reads a body that declared `declared` bytes into memory; more than that is an IncompleteBody. */
async function collect(
  source: AsyncIterable<Uint8Array>,
  declared: number,
  observe: ((chunk: Uint8Array) => void) | undefined,
): Promise<{ readonly data: Buffer; readonly size: number }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (size > declared) throw new S3Error('IncompleteBody');
    observe?.(chunk);
    chunks.push(chunk);
  }
  return { data: Buffer.concat(chunks, size), size };
}

function parseLength(value: string | undefined, streaming: boolean): number | undefined {
  if (value === undefined) {
    if (streaming)
      throw new S3Error(
        'MissingContentLength',
        'x-amz-decoded-content-length is required for aws-chunked uploads.',
      );
    return undefined;
  }
  if (!/^\d{1,16}$/.test(value)) throw new S3Error('InvalidArgument', 'Content-Length is not a number.');
  return Number(value);
}

function parseContentMd5(value: string | undefined): Buffer | undefined {
  if (value === undefined) return undefined;
  const digest = Buffer.from(value, 'base64');
  if (digest.length !== 16 || digest.toString('base64') !== value.trim()) throw new S3Error('InvalidDigest');
  return digest;
}
