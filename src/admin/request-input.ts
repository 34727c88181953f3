import type { IncomingMessage } from 'node:http';
import { ApiError, type FieldProblem } from './api-error.ts';

/** The largest request body the admin API reads. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** What is read and thrown away of a refused request's body before the connection is cut instead. */
const MAX_DISCARD_BYTES = 8 * MAX_BODY_BYTES;

const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';
const ENCODING_MESSAGE = 'is not valid percent-encoded UTF-8';

/**
 * Strictly decodes one percent-encoded URL component: undefined when an escape is malformed (`%E0%A4%A`,
 * `50%`) or the bytes are not UTF-8, where `decodeURIComponent` would throw.
 */
export function decodeComponent(raw: string, plusAsSpace: boolean): string | undefined {
  try {
    return decodeURIComponent(plusAsSpace ? raw.replaceAll('+', ' ') : raw);
  } catch {
    return undefined;
  }
}

/** Path parameters, decoded; a malformed one is a problem of `path.<name>`, never an exception. */
export function decodePathParams(
  raw: Readonly<Record<string, string>>,
  problems: FieldProblem[],
): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    const decoded = decodeComponent(value, false);
    if (decoded === undefined) problems.push({ field: `path.${name}`, message: ENCODING_MESSAGE });
    else if (decoded.includes('\0')) problems.push({ field: `path.${name}`, message: NUL_MESSAGE });
    else params[name] = decoded;
  }
  return params;
}

/**
 * The query string as name to value (`application/x-www-form-urlencoded`: `+` is a space). A malformed
 * escape, a NUL or a name given twice is a problem of `query.<name>`.
 */
export function parseQueryString(rawQuery: string, problems: FieldProblem[]): Record<string, string> {
  const values: Record<string, string> = {};
  for (const segment of rawQuery.split('&')) {
    if (segment === '') continue;
    const eq = segment.indexOf('=');
    const name = decodeComponent(eq === -1 ? segment : segment.slice(0, eq), true);
    const value = decodeComponent(eq === -1 ? '' : segment.slice(eq + 1), true);
    const field = `query.${name ?? ''}`.replace(/\.$/, '');
    if (name === undefined || value === undefined) problems.push({ field, message: ENCODING_MESSAGE });
    else if (name.includes('\0') || value.includes('\0')) problems.push({ field, message: NUL_MESSAGE });
    else if (Object.hasOwn(values, name))
      problems.push({ field, message: 'is given more than once (separate several values with commas)' });
    else values[name] = value;
  }
  return values;
}

/**
 * Problems for every string (or object key) in a parsed JSON body that contains NUL: no text field of the
 * admin API may, and PostgreSQL cannot store one. Walks without recursion, so depth cannot overflow the stack.
 */
export function nulProblems(json: unknown, where: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const stack: [unknown, string][] = [[json, where]];
  while (stack.length > 0 && problems.length < 10) {
    const [value, field] = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\0')) problems.push({ field, message: NUL_MESSAGE });
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push([item, `${field}.${i}`]));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (key.includes('\0')) problems.push({ field, message: `a name ${NUL_MESSAGE}` });
        else stack.push([item, `${field}.${key}`]);
      }
    }
  }
  return problems;
}

/** Whether a Content-Type names JSON: `application/json` or `application/<something>+json`, any parameters. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[\w.-]+\+json$/.test(type);
}

/**
 * Reads the whole body, or refuses it with PAYLOAD_TOO_LARGE: at once when Content-Length says it is too
 * large, else as soon as it grows past the limit. A refused body is left to `discardRest`.
 */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        cleanup();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

function tooLarge(): ApiError {
  return new ApiError('PAYLOAD_TOO_LARGE', `The body exceeds ${MAX_BODY_BYTES} bytes.`);
}

/**
 * Reads and drops what is left of a request answered early (refused body, unknown route), so that the
 * client gets to read the answer instead of a reset connection; a body past a bound cuts the connection.
 */
export function discardRest(req: IncomingMessage): void {
  if (req.complete) return;
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_DISCARD_BYTES) req.socket.destroy();
  });
  req.on('error', () => {});
  req.resume();
}
