import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AuthError } from './auth-error.ts';
import { EMPTY_SHA256, sha256Hex, signaturesEqual, signHex } from './sigv4-canonical.ts';
import type { PayloadMode } from './sigv4-verify.ts';

export type StreamingPayloadMode = PayloadMode & {
  readonly kind: 'streaming-signed' | 'streaming-unsigned-trailer';
};

export interface ChunkedDecoderOptions {
  /** `x-amz-decoded-content-length`: the payload must be exactly this long. */
  readonly decodedContentLength?: number;
}

/** Longest chunk-size line or trailer line accepted (a signed chunk line is about 90 bytes). */
const MAX_LINE_BYTES = 4096;
/** Most trailer bytes accepted in all. */
const MAX_TRAILER_BYTES = 16 * 1024;
const TRAILER_SIGNATURE = 'x-amz-trailer-signature';
const SIGNED_SIZE_LINE = /^0*([0-9a-fA-F]{1,13});chunk-signature=([0-9a-fA-F]{64})$/;
const UNSIGNED_SIZE_LINE = /^0*([0-9a-fA-F]{1,13})$/;

type State = 'size-line' | 'data' | 'data-crlf' | 'trailer-line' | 'done';

/**
 * Decodes an `aws-chunked` request body (`Content-Encoding: aws-chunked`) into the payload bytes.
 *
 * Signed mode (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`): each chunk is
 * `hex-size;chunk-signature=<sig>\r\n<data>\r\n`, the signature chaining from the seed signature of the
 * request; the last chunk has size 0. Unsigned trailer mode (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`):
 * chunks are `hex-size\r\n<data>\r\n`. After the 0-size chunk come trailer lines (`name:value\r\n`,
 * in signed mode followed by `x-amz-trailer-signature:<sig>\r\n`) and an empty line. The end of input
 * right after the 0-size chunk or after a whole trailer line is accepted too (the AWS SDK for
 * JavaScript ends the body after `0\r\n` when it sends no checksum).
 *
 * Bytes are passed on as they arrive, hashed incrementally; a chunk whose signature does not match
 * fails the stream as soon as its data is complete. The payload is therefore only verified once the
 * stream ends without error: write it somewhere provisional and commit after `end`.
 *
 * Errors (AuthError): `SignatureDoesNotMatch` for a bad chunk or trailer signature; `IncompleteBody`
 * when the body ends early or the payload length differs from `decodedContentLength`; `InvalidRequest`
 * for a body that is not valid aws-chunked encoding.
 */
export class ChunkedDecoder extends Transform {
  readonly #signed: Extract<StreamingPayloadMode, { kind: 'streaming-signed' }> | undefined;
  readonly #allowsTrailers: boolean;
  readonly #expectedLength: number | undefined;
  readonly #trailers = new Map<string, string>();
  #state: State = 'size-line';
  #line = Buffer.allocUnsafe(MAX_LINE_BYTES);
  #lineLength = 0;
  #remaining = 0;
  #crlfSeen = 0;
  #decodedLength = 0;
  #trailerBytes = 0;
  #chunkHash: Hash | undefined;
  #chunkSignature = '';
  #previousSignature = '';
  #trailerSignature: string | undefined;

  constructor(mode: StreamingPayloadMode, options: ChunkedDecoderOptions) {
    super();
    // A bad chunk can fail the stream before its consumer starts reading (a request body is piped in
    // while the blob file is still being opened). Without a listener, that 'error' event would crash the
    // process; the consumer still gets the error, from iteration or `pipeline`, as the stream is errored.
    this.on('error', () => undefined);
    this.#signed = mode.kind === 'streaming-signed' ? mode : undefined;
    this.#allowsTrailers = mode.kind === 'streaming-unsigned-trailer' || mode.trailer;
    this.#previousSignature = this.#signed?.seedSignature ?? '';
    this.#expectedLength = options.decodedContentLength;
  }

  /** The trailing headers (lower-case names, without `x-amz-trailer-signature`); complete once the stream ended. */
  get trailers(): ReadonlyMap<string, string> {
    return this.#trailers;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#consume(chunk);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      if (this.#state === 'trailer-line' && this.#lineLength === 0) this.#endTrailers();
      if (this.#state !== 'done') {
        throw new AuthError(
          'IncompleteBody',
          'The request body ended before the aws-chunked encoding was complete.',
        );
      }
      if (this.#expectedLength !== undefined && this.#decodedLength !== this.#expectedLength) {
        throw new AuthError(
          'IncompleteBody',
          `The decoded body has ${this.#decodedLength} bytes, but x-amz-decoded-content-length says ${this.#expectedLength}.`,
        );
      }
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  #consume(buf: Buffer): void {
    let pos = 0;
    while (pos < buf.length) {
      switch (this.#state) {
        case 'size-line':
        case 'trailer-line': {
          const newline = buf.indexOf(0x0a, pos);
          const end = newline === -1 ? buf.length : newline;
          this.#appendLine(buf, pos, end);
          pos = end;
          if (newline !== -1) {
            pos += 1;
            const line = this.#takeLine();
            if (this.#state === 'size-line') this.#onSizeLine(line);
            else this.#onTrailerLine(line);
          }
          break;
        }
        case 'data': {
          const n = Math.min(this.#remaining, buf.length - pos);
          const data = buf.subarray(pos, pos + n);
          this.#chunkHash?.update(data);
          this.push(data);
          pos += n;
          this.#remaining -= n;
          if (this.#remaining === 0) {
            this.#verifyChunk(this.#chunkHash?.digest('hex'));
            this.#state = 'data-crlf';
            this.#crlfSeen = 0;
          }
          break;
        }
        case 'data-crlf': {
          const expected = this.#crlfSeen === 0 ? 0x0d : 0x0a;
          if (buf[pos] !== expected) throw malformed('a chunk is not followed by CRLF.');
          pos += 1;
          this.#crlfSeen += 1;
          if (this.#crlfSeen === 2) this.#state = 'size-line';
          break;
        }
        case 'done':
          throw malformed('there are bytes after the end of the aws-chunked body.');
      }
    }
  }

  #appendLine(buf: Buffer, start: number, end: number): void {
    const length = end - start;
    if (this.#lineLength + length > MAX_LINE_BYTES)
      throw malformed('a chunk header or trailer line is too long.');
    buf.copy(this.#line, this.#lineLength, start, end);
    this.#lineLength += length;
  }

  /** The line collected so far, which ended with LF; it must end with CRLF, which is dropped. */
  #takeLine(): string {
    const length = this.#lineLength;
    this.#lineLength = 0;
    if (length === 0 || this.#line[length - 1] !== 0x0d) throw malformed('a line does not end with CRLF.');
    return this.#line.toString('latin1', 0, length - 1);
  }

  #onSizeLine(line: string): void {
    const match = (this.#signed === undefined ? UNSIGNED_SIZE_LINE : SIGNED_SIZE_LINE).exec(line);
    if (match === null) throw malformed(`the chunk header '${line.slice(0, 100)}' is not valid.`);
    const size = Number.parseInt(match[1]!, 16);
    this.#chunkSignature = match[2] ?? '';
    this.#decodedLength += size;
    if (this.#expectedLength !== undefined && this.#decodedLength > this.#expectedLength) {
      throw new AuthError(
        'IncompleteBody',
        `The decoded body is longer than x-amz-decoded-content-length (${this.#expectedLength}).`,
      );
    }
    if (size === 0) {
      this.#verifyChunk(EMPTY_SHA256);
      this.#state = 'trailer-line';
      return;
    }
    this.#remaining = size;
    this.#chunkHash = this.#signed === undefined ? undefined : createHash('sha256');
    this.#state = 'data';
  }

  /** Checks the signature of the chunk just read, whose data hashes to `dataHash`, and moves the chain on. */
  #verifyChunk(dataHash: string | undefined): void {
    const signed = this.#signed;
    if (signed === undefined || dataHash === undefined) return;
    const toSign = [
      'AWS4-HMAC-SHA256-PAYLOAD',
      signed.amzDate,
      signed.scope,
      this.#previousSignature,
      EMPTY_SHA256,
      dataHash,
    ].join('\n');
    const expected = signHex(signed.signingKey, toSign);
    if (!signaturesEqual(expected, this.#chunkSignature)) {
      throw new AuthError(
        'SignatureDoesNotMatch',
        'The chunk signature we calculated does not match the signature you provided.',
      );
    }
    this.#previousSignature = expected;
  }

  #onTrailerLine(line: string): void {
    if (line === '') {
      this.#endTrailers();
      return;
    }
    this.#trailerBytes += line.length + 2;
    if (this.#trailerBytes > MAX_TRAILER_BYTES) throw malformed('the trailing headers are too large.');
    if (!this.#allowsTrailers)
      throw malformed('trailing headers were sent, but x-amz-content-sha256 announced none.');
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed(`the trailer line '${line.slice(0, 100)}' is not valid.`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = Buffer.from(line.slice(colon + 1).trim(), 'latin1').toString('utf8');
    if (name === TRAILER_SIGNATURE) {
      if (this.#trailerSignature !== undefined)
        throw malformed('x-amz-trailer-signature is given more than once.');
      this.#trailerSignature = value;
      return;
    }
    if (this.#trailerSignature !== undefined) throw malformed('a trailer follows x-amz-trailer-signature.');
    if (this.#trailers.has(name)) throw malformed(`the trailer ${name} is given more than once.`);
    this.#trailers.set(name, value);
  }

  /** The trailer section ended: in signed trailer mode, the trailers must carry a valid signature. */
  #endTrailers(): void {
    this.#state = 'done';
    const signed = this.#signed;
    if (signed === undefined || !signed.trailer) return;
    if (this.#trailers.size === 0 && this.#trailerSignature === undefined) return;
    if (this.#trailerSignature === undefined) {
      throw new AuthError(
        'SignatureDoesNotMatch',
        'The trailing headers are not signed: x-amz-trailer-signature is missing.',
      );
    }
    const canonical = [...this.#trailers]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => `${name}:${value}\n`)
      .join('');
    const toSign = [
      'AWS4-HMAC-SHA256-TRAILER',
      signed.amzDate,
      signed.scope,
      this.#previousSignature,
      sha256Hex(canonical),
    ].join('\n');
    if (!signaturesEqual(signHex(signed.signingKey, toSign), this.#trailerSignature)) {
      throw new AuthError(
        'SignatureDoesNotMatch',
        'The trailer signature we calculated does not match the signature you provided.',
      );
    }
  }
}

function malformed(reason: string): AuthError {
  return new AuthError('InvalidRequest', `The request body is not valid aws-chunked encoding: ${reason}`);
}

/** A Transform from the raw aws-chunked request body to the payload bytes; see ChunkedDecoder. */
export function createChunkedDecoder(
  mode: StreamingPayloadMode,
  options: ChunkedDecoderOptions,
): ChunkedDecoder {
  return new ChunkedDecoder(mode, options);
}
