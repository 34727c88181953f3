import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
}

export interface Reply {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Wait this long before answering (to provoke timeouts). */
  readonly delayMs?: number;
}

/** A real HTTP receiver on 127.0.0.1 that records every request and answers as told. */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Replies used in order, one per request; when empty, `defaultReply`. */
  readonly script: Reply[] = [];
  defaultReply: Reply = { status: 200, body: 'ok' };
  /** How to answer VK's SubscriptionConfirmation: 'correct', 'wrong', or an HTTP status to fail with. */
  vkAnswer: 'correct' | 'wrong' | number = 'correct';
  readonly #server: Server;
  readonly #waiters = new Set<() => void>();
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const request: ReceivedRequest = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body,
          at: Date.now(),
        };
        const vk = this.#vkReply(request);
        this.requests.push(request);
        for (const wake of this.#waiters) wake();
        const reply = vk ?? this.script.shift() ?? this.defaultReply;
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
          res.end(reply.body ?? '');
        };
        if (reply.delayMs === undefined) send();
        else setTimeout(send, reply.delayMs);
      });
    });
  }

  async start(): Promise<this> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.#server.close(() => {
        resolve();
      }),
    );
  }

  /** Requests that carry S3 event records (not test events or VK handshakes). */
  eventRequests(): ReceivedRequest[] {
    return this.requests.filter((r) => r.body.startsWith('{"Records"'));
  }

  /** Waits until `predicate` holds for the recorded requests, or fails after `timeoutMs`. */
  async waitFor(
    predicate: (requests: readonly ReceivedRequest[]) => boolean,
    timeoutMs = 10_000,
    what = 'webhook requests',
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.requests)) {
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${what}; got ${this.requests.length} request(s): ${this.requests.map((r) => r.body.slice(0, 120)).join(' | ')}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 200));
        this.#waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.#waiters.clear();
    }
  }

  #vkReply(request: ReceivedRequest): Reply | undefined {
    if (!request.body.includes('"SubscriptionConfirmation"')) return undefined;
    const message = JSON.parse(request.body) as { Token: string; Timestamp: string; TopicArn: string };
    if (typeof this.vkAnswer === 'number') return { status: this.vkAnswer, body: 'no' };
    const signature =
      this.vkAnswer === 'correct'
        ? vkConfirmationSignature(
            message.Token,
            message.Timestamp,
            message.TopicArn,
            `${this.url}${request.path}`,
          )
        : '00'.repeat(32);
    return {
      status: 200,
      body: JSON.stringify({ signature }),
      headers: { 'content-type': 'application/json' },
    };
  }
}

/** VK's published recipe, written out here independently of the server's code. */
function vkConfirmationSignature(token: string, timestamp: string, topicArn: string, url: string): string {
  const k1 = createHmac('sha256', token).update(timestamp).digest();
  const k2 = createHmac('sha256', k1).update(topicArn).digest();
  return createHmac('sha256', k2).update(url).digest('hex');
}

/** The exact recipe from the Alarik document: lowercase hex HMAC-SHA256 of the raw body, keyed by the secret. */
export function expectedSignature(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}
