import { S3Error } from './s3-error.ts';

/** One part of a `multipart/form-data` body. */
export interface FormPart {
  /** The `name` of its Content-Disposition, as sent. */
  readonly name: string;
  /** The `filename` (or RFC 5987 `filename*`) of its Content-Disposition; undefined for a plain field. */
  readonly filename: string | undefined;
  /** Its own Content-Type header, if any. */
  readonly contentType: string | undefined;
  /**
   * Its bytes, streamed straight from the source (slices of the chunks read, never the whole part).
   * Read it, partly or not at all, before asking for the next part: whatever is left is skipped then.
   */
  readonly body: AsyncIterable<Buffer>;
}

export interface FormDataLimits {
  /** Largest header block of one part. */
  readonly maxHeaderBytes: number;
}

const DEFAULT_LIMITS: FormDataLimits = { maxHeaderBytes: 16 * 1024 };
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
/** Room for transport padding (whitespace) between a boundary and its line end (RFC 2046). */
const MAX_BOUNDARY_LINE = 1024;
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

function malformed(reason: string): S3Error {
  return new S3Error(
    'MalformedPOSTRequest',
    `The body of your POST request is not well-formed multipart/form-data: ${reason}`,
  );
}

/** The boundary of a `multipart/form-data` Content-Type; undefined when it is another type or has none. */
export function formDataBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const { value, params } = parseHeaderValue(contentType);
  if (value.toLowerCase() !== 'multipart/form-data') return undefined;
  const boundary = params.get('boundary');
  return boundary !== undefined && BOUNDARY.test(boundary) ? boundary : undefined;
}

/**
 * Parses a `multipart/form-data` body (RFC 7578) as it streams in, one part at a time: memory use is
 * bounded by the source's chunk size and the header limit, whatever the size of a part. The parts end
 * at the close delimiter; the epilogue after it is not read. A body that breaks the format fails with
 * S3Error('MalformedPOSTRequest').
 */
export async function* parseFormData(
  source: AsyncIterable<Uint8Array>,
  boundary: string,
  limits: FormDataLimits = DEFAULT_LIMITS,
): AsyncGenerator<FormPart, void, undefined> {
  if (!BOUNDARY.test(boundary)) throw malformed('invalid boundary.');
  const scanner = new Scanner(source[Symbol.asyncIterator](), Buffer.from(`\r\n--${boundary}`));
  // The delimiter includes the CRLF that ends the line before it; the first one may open the body.
  scanner.unshift(CRLF);
  while ((await scanner.readBodyChunk()) !== undefined) {
    // The preamble is skipped.
  }
  for (;;) {
    if (await scanner.atCloseDelimiter()) return;
    await scanner.skipBoundaryLineEnd();
    const headers = parseHeaderBlock(await scanner.readHeaderBlock(limits.maxHeaderBytes));
    const disposition = headers.get('content-disposition');
    if (disposition === undefined) throw malformed('a part has no Content-Disposition.');
    const { value: type, params } = parseHeaderValue(disposition);
    const name = params.get('name');
    if (type.toLowerCase() !== 'form-data' || name === undefined || name === '') {
      throw malformed('a part has no form-data name.');
    }
    yield {
      name,
      filename: params.get('filename*') ?? params.get('filename'),
      contentType: headers.get('content-type'),
      body: {
        [Symbol.asyncIterator]: () => ({
          next: async (): Promise<IteratorResult<Buffer, undefined>> => {
            const chunk = await scanner.readBodyChunk();
            return chunk === undefined ? { done: true, value: undefined } : { done: false, value: chunk };
          },
        }),
      },
    };
    while ((await scanner.readBodyChunk()) !== undefined) {
      // What the consumer left of the part is skipped.
    }
  }
}

/** The bytes of a source, with the search for the delimiter that separates parts. */
class Scanner {
  readonly #source: AsyncIterator<Uint8Array>;
  readonly #delimiter: Buffer;
  #buffer: Buffer = Buffer.alloc(0);
  #sourceDone = false;
  /** Whether the current part's body has reached its delimiter. */
  #bodyDone = false;

  constructor(source: AsyncIterator<Uint8Array>, delimiter: Buffer) {
    this.#source = source;
    this.#delimiter = delimiter;
  }

  unshift(bytes: Buffer): void {
    this.#buffer = Buffer.concat([bytes, this.#buffer]);
  }

  /**
   * The next bytes of the current body, or undefined once its delimiter has been read (and consumed).
   * Keeps back only what could be the start of a delimiter, so a body streams in slices of the chunks read.
   */
  async readBodyChunk(): Promise<Buffer | undefined> {
    if (this.#bodyDone) return undefined;
    for (;;) {
      const at = this.#buffer.indexOf(this.#delimiter);
      if (at !== -1) {
        const chunk = this.#buffer.subarray(0, at);
        this.#buffer = this.#buffer.subarray(at + this.#delimiter.length);
        this.#bodyDone = true;
        return chunk.length > 0 ? chunk : undefined;
      }
      const safe = this.#buffer.length - (this.#delimiter.length - 1);
      if (safe > 0) {
        const chunk = this.#buffer.subarray(0, safe);
        this.#buffer = this.#buffer.subarray(safe);
        return chunk;
      }
      if (!(await this.#fill())) throw malformed('the body ended before the closing boundary.');
    }
  }

  /** After a delimiter: whether it is the close delimiter (`--`), which ends the body. */
  async atCloseDelimiter(): Promise<boolean> {
    while (this.#buffer.length < 2) {
      if (!(await this.#fill())) throw malformed('the body ended after a boundary.');
    }
    return this.#buffer[0] === 0x2d && this.#buffer[1] === 0x2d;
  }

  /** Consumes the rest of a boundary line: optional whitespace, then CRLF. Starts the next body. */
  async skipBoundaryLineEnd(): Promise<void> {
    const end = await this.#find(CRLF, MAX_BOUNDARY_LINE, 'a boundary line is too long.');
    for (const byte of this.#buffer.subarray(0, end)) {
      if (byte !== 0x20 && byte !== 0x09) throw malformed('a boundary is followed by other text.');
    }
    this.#buffer = this.#buffer.subarray(end + CRLF.length);
    this.#bodyDone = false;
  }

  /** The header lines of a part, without the empty line that ends them (which is consumed). */
  async readHeaderBlock(maxBytes: number): Promise<string> {
    while (this.#buffer.length < 2) {
      if (!(await this.#fill())) throw malformed('the body ended inside part headers.');
    }
    if (this.#buffer[0] === 0x0d && this.#buffer[1] === 0x0a) {
      this.#buffer = this.#buffer.subarray(2);
      return '';
    }
    const end = await this.#find(HEADER_END, maxBytes, 'the headers of a part are too large.');
    const block = this.#buffer.toString('utf8', 0, end);
    this.#buffer = this.#buffer.subarray(end + HEADER_END.length);
    return block;
  }

  /** Reads until `needle` is buffered within `limit` bytes of the start; returns its offset. */
  async #find(needle: Buffer, limit: number, tooLong: string): Promise<number> {
    for (;;) {
      const at = this.#buffer.indexOf(needle);
      if (at !== -1 && at <= limit) return at;
      if (at !== -1 || this.#buffer.length > limit + needle.length) throw malformed(tooLong);
      if (!(await this.#fill())) throw malformed('the body ended too early.');
    }
  }

  async #fill(): Promise<boolean> {
    if (this.#sourceDone) return false;
    const next = await this.#source.next();
    if (next.done === true) {
      this.#sourceDone = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value)
      ? next.value
      : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    return true;
  }
}

/** Header lines (with obsolete folding) into a map of lower-case names to values. */
function parseHeaderBlock(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (const line of block === '' ? [] : block.split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      headers.set(last, `${headers.get(last) ?? ''} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed('a part header has no name.');
    last = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(last)) headers.set(last, line.slice(colon + 1).trim());
  }
  return headers;
}

/**
 * Splits `value; name=token; name="quoted"` into the value and its parameters (lower-case names). In a
 * quoted string `\"` and `\\` are escapes and any other backslash is kept, because browsers do not escape
 * (they send `"` as `%22`) and a Windows path must survive. `name*=charset''percent-encoded` (RFC 5987) is
 * decoded.
 */
export function parseHeaderValue(header: string): { value: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  let i = header.indexOf(';');
  const value = (i === -1 ? header : header.slice(0, i)).trim();
  while (i !== -1 && i < header.length) {
    i += 1;
    const eq = header.indexOf('=', i);
    const semi = header.indexOf(';', i);
    if (eq === -1 || (semi !== -1 && semi < eq)) {
      i = semi;
      continue;
    }
    const name = header.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    while (header[i] === ' ' || header[i] === '\t') i += 1;
    let paramValue = '';
    if (header[i] === '"') {
      i += 1;
      while (i < header.length && header[i] !== '"') {
        const next = header[i + 1];
        if (header[i] === '\\' && (next === '"' || next === '\\')) {
          paramValue += next;
          i += 2;
        } else {
          paramValue += header.charAt(i);
          i += 1;
        }
      }
      i = header.indexOf(';', i);
    } else {
      const end = header.indexOf(';', i);
      paramValue = (end === -1 ? header.slice(i) : header.slice(i, end)).trim();
      i = end;
    }
    if (name.endsWith('*')) {
      const decoded = decodeExtendedValue(paramValue);
      if (decoded !== undefined) params.set(name, decoded);
    } else if (name !== '' && !params.has(name)) {
      params.set(name, paramValue);
    }
  }
  return { value, params };
}

/** RFC 5987 `charset'language'percent-encoded`, for UTF-8 and ISO-8859-1; undefined when unreadable. */
function decodeExtendedValue(value: string): string | undefined {
  const match = /^([^']*)'[^']*'(.*)$/.exec(value);
  if (match === null) return undefined;
  const charset = match[1]!.toLowerCase();
  if (charset !== 'utf-8' && charset !== 'iso-8859-1') return undefined;
  const bytes: number[] = [];
  const text = match[2]!;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString(charset === 'utf-8' ? 'utf8' : 'latin1');
}
