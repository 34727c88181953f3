import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

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

/** A problem+json answer from the admin API, or a transport failure. */
export class AdminApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: readonly { readonly field: string; readonly message: string }[];
  constructor(
    status: number,
    code: string,
    message: string,
    fields: readonly { field: string; message: string }[] = [],
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

export interface AdminConnection {
  /** The admin address's base URL, e.g. http://127.0.0.1:9001 */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretKey: string;
}

/** Talks to the admin API over HTTP with SigV4-signed requests (service s3), as MinIO's admin API does. */
export class AdminClient {
  readonly #connection: AdminConnection;
  readonly #signer: SignatureV4;

  constructor(connection: AdminConnection) {
    this.#connection = connection;
    this.#signer = new SignatureV4({
      credentials: { accessKeyId: connection.accessKeyId, secretAccessKey: connection.secretKey },
      region: 'us-east-1',
      service: 's3',
      sha256: NodeSha256,
      uriEscapePath: true,
    });
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    query: Record<string, string | undefined> = {},
  ): Promise<T> {
    const url = new URL(`/api/v1${path}`, this.#connection.endpoint);
    const cleanQuery: Record<string, string> = {};
    for (const [k, v] of Object.entries(query)) if (v !== undefined) cleanQuery[k] = v;
    for (const [k, v] of Object.entries(cleanQuery)) url.searchParams.set(k, v);
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = {
      host: url.host,
      'x-amz-content-sha256': createHash('sha256').update(text).digest('hex'),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    const signed = await this.#signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path: url.pathname,
      query: cleanQuery,
      headers,
      body: text,
    });
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: signed.headers,
        ...(body === undefined ? {} : { body: text }),
      });
    } catch (err) {
      throw new AdminApiError(
        0,
        'UNREACHABLE',
        `cannot reach the admin API at ${this.#connection.endpoint}: ${(err as Error).message}`,
      );
    }
    const answer = await response.text();
    if (!response.ok) {
      let problem: { code?: string; detail?: string; errors?: { field: string; message: string }[] } = {};
      try {
        problem = JSON.parse(answer) as typeof problem;
      } catch {
        problem = { detail: answer.slice(0, 200) };
      }
      throw new AdminApiError(
        response.status,
        problem.code ?? `HTTP_${response.status}`,
        problem.detail ?? response.statusText,
        problem.errors ?? [],
      );
    }
    return (answer === '' ? undefined : JSON.parse(answer)) as T;
  }
}
