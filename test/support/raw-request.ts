import { createHash, createHmac } from 'node:crypto';
import { request } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import { ROOT_PASSWORD, ROOT_USER } from './test-server.ts';

class NodeSha256 {
  readonly #hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash =
      secret === undefined ? createHash('sha256') : createHmac('sha256', Buffer.from(secret as ArrayBuffer));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(typeof data === 'string' ? data : Buffer.from(data as ArrayBuffer));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
  reset(): void {}
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

export interface RawRequest {
  readonly method: string;
  /** Path with its query, already percent-encoded, e.g. `/bucket/key?uploads`. */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
  /** Sign with these keys (root by default); `false` sends the request unsigned. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | false;
  /** The x-amz-content-sha256 to sign: the body's hash by default. */
  readonly contentSha256?: string;
}

/** Sends one hand-made (optionally SigV4-signed) request: for what the SDK will not send. */
export async function rawRequest(baseUrl: string, spec: RawRequest): Promise<RawResponse> {
  const url = new URL(spec.path, baseUrl);
  const body = spec.body === undefined ? Buffer.alloc(0) : Buffer.from(spec.body);
  let headers: Record<string, string> = { host: url.host, ...spec.headers };
  if (spec.credentials !== false) {
    const signer = new SignatureV4({
      credentials: spec.credentials ?? { accessKeyId: ROOT_USER, secretAccessKey: ROOT_PASSWORD },
      region: 'us-east-1',
      service: 's3',
      sha256: NodeSha256,
      uriEscapePath: false,
      applyChecksum: false,
    });
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    headers['x-amz-content-sha256'] = spec.contentSha256 ?? createHash('sha256').update(body).digest('hex');
    const signed = await signer.sign({
      method: spec.method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query,
      headers,
      body,
    });
    headers = signed.headers;
  }
  return sendExact(baseUrl, {
    method: spec.method,
    path: `${url.pathname}${url.search}`,
    headers: { ...headers, 'content-length': String(body.length) },
    body,
  });
}

export interface ExactRequest {
  readonly method: string;
  /** Sent as given: the path with its query, already percent-encoded. */
  readonly path: string;
  /** Exactly these headers: no signature, host or content-length is added. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body, or its pieces, each written once the previous one has drained. */
  readonly body: Buffer | readonly Buffer[];
}

/** Sends one request with exactly these headers and body bytes: for what `rawRequest` would fix up. */
export function sendExact(baseUrl: string, spec: ExactRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { method: spec.method, host: url.hostname, port: url.port, path: spec.path, headers: spec.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (Buffer.isBuffer(spec.body)) {
      req.end(spec.body);
      return;
    }
    const pieces = spec.body;
    void (async () => {
      for (const piece of pieces) {
        if (!req.write(piece)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })();
  });
}
