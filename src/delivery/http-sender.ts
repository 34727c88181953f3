import { createHash } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createSecureContext, getCACertificates, type SecureContext } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import type { SendErrorCode, SendResult } from './send-result.ts';

/**
 * The SSRF guard's seam: called with every address a webhook URL resolves to (or its IP literal)
 * BEFORE anything is dialled, and the connection goes to exactly the address that was checked (no
 * second lookup, so no DNS-rebinding gap). Return a reason to refuse it, or undefined to allow.
 */
export type CheckAddress = (address: string, family: number) => string | undefined;

export interface HttpSenderOptions {
  /** Default: no guard, every address is allowed. */
  readonly checkAddress?: CheckAddress | undefined;
  /** Cap on TCP + TLS set-up, whatever the endpoint's own timeout (default 10 s). */
  readonly connectTimeoutMs?: number | undefined;
  /** How long an idle keep-alive connection is kept (default 4 s). */
  readonly keepAliveTimeoutMs?: number | undefined;
  /** Response body bytes kept for the attempt log; the rest is discarded (default 8 KiB). */
  readonly maxResponseBytes?: number | undefined;
  /**
   * PEM certificates (one or a bundle) trusted for https receivers in addition to Node's default CAs
   * (the server's `webhook_ca_file`). Certificates are always verified: a receiver whose chain does
   * not end in a trusted CA fails the attempt with TLS_ERROR.
   */
  readonly extraCa?: string | undefined;
}

/** A client certificate (mTLS) to present to an https receiver. */
export interface ClientCertificate {
  /** PEM certificate, optionally followed by its intermediates. */
  readonly cert: string;
  /** PEM private key of `cert`. Never logged, never part of an error message. */
  readonly key: string;
}

export interface SendRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The whole exchange (connect, request, response headers, kept body) must end within this. */
  readonly timeoutMs: number;
  /** Lets the owner cancel a POST (graceful stop); a cancelled send reports CONNECTION_ERROR "aborted". */
  readonly signal?: AbortSignal | undefined;
  /** Presented when the receiver asks for a client certificate (https only; ignored for http). */
  readonly clientCertificate?: ClientCertificate | undefined;
}

const SSRF_BLOCKED = 'BUCKETBELL_SSRF_BLOCKED';

/** Raised inside the connector when the guard refuses an address; turned into SSRF_BLOCKED. */
class SsrfBlockedError extends Error {
  readonly code = SSRF_BLOCKED;
}

/** Client-certificate agents kept at once; the least recently used one is closed beyond this. */
const MAX_CLIENT_CERT_AGENTS = 64;

/**
 * POSTs webhook bodies through one keep-alive undici Agent (a pool per origin), and requests that
 * carry a client certificate through one more Agent per distinct certificate (so a pooled connection
 * never presents another endpoint's certificate), each with the same SSRF guard and trusted CAs.
 * Redirects are never followed (undici follows none without its redirect interceptor, which is not
 * installed here): a 3xx comes back as HTTP_STATUS. Never throws: every failure becomes a coded
 * SendResult.
 */
export class HttpSender {
  readonly #agent: Agent;
  readonly #maxResponseBytes: number;
  readonly #connectTimeout: number;
  readonly #keepAliveTimeout: number;
  readonly #check: CheckAddress | undefined;
  readonly #extraCa: string | undefined;
  /** Agents presenting a client certificate, by a hash of the certificate and key; oldest use first. */
  readonly #certAgents = new Map<string, Agent>();
  #closed = false;

  constructor(options: HttpSenderOptions = {}) {
    this.#maxResponseBytes = options.maxResponseBytes ?? 8 * 1024;
    this.#connectTimeout = options.connectTimeoutMs ?? 10_000;
    this.#keepAliveTimeout = options.keepAliveTimeoutMs ?? 4_000;
    this.#check = options.checkAddress;
    this.#extraCa = options.extraCa;
    this.#agent = this.#newAgent(
      options.extraCa === undefined ? undefined : trustingContext({ extraCa: options.extraCa }),
    );
  }

  #newAgent(secureContext: SecureContext | undefined): Agent {
    const base = {
      timeout: this.#connectTimeout,
      ...(secureContext === undefined ? {} : { secureContext }),
    };
    return new Agent({
      keepAliveTimeout: this.#keepAliveTimeout,
      keepAliveMaxTimeout: 60_000,
      connect: surfaceTlsAlerts(
        this.#check === undefined ? buildConnector(base) : guardedConnector(this.#check, base),
      ),
    });
  }

  /** The agent presenting `certificate`, made (and its TLS context built) on first use. */
  #agentFor(certificate: ClientCertificate): Agent {
    const id = createHash('sha256')
      .update(certificate.cert)
      .update('\0')
      .update(certificate.key)
      .digest('hex');
    const known = this.#certAgents.get(id);
    if (known !== undefined) {
      // Most recently used goes last, so eviction takes the least recently used.
      this.#certAgents.delete(id);
      this.#certAgents.set(id, known);
      return known;
    }
    const agent = this.#newAgent(
      trustingContext({ extraCa: this.#extraCa, cert: certificate.cert, key: certificate.key }),
    );
    this.#certAgents.set(id, agent);
    if (this.#certAgents.size > MAX_CLIENT_CERT_AGENTS) {
      const [oldestId, oldest] = this.#certAgents.entries().next().value ?? [];
      if (oldestId !== undefined && oldest !== undefined) {
        this.#certAgents.delete(oldestId);
        // Requests running on it finish; its idle connections are closed.
        oldest.close().catch(() => undefined);
      }
    }
    return agent;
  }

  async send(request: SendRequest): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return { durationMs: 0, errorCode: 'INVALID_URL', error: 'the URL cannot be parsed' };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return { durationMs: 0, errorCode: 'INVALID_URL', error: `unsupported scheme ${url.protocol}` };
    }
    let agent = this.#agent;
    if (request.clientCertificate !== undefined && url.protocol === 'https:') {
      if (this.#closed)
        return { durationMs: 0, errorCode: 'CONNECTION_ERROR', error: 'the sender is closed' };
      try {
        agent = this.#agentFor(request.clientCertificate);
      } catch (err) {
        // OpenSSL's reason only (e.g. "key values mismatch"), never the PEM text.
        const reason = err instanceof Error ? err.message : 'unreadable';
        return {
          durationMs: elapsed(),
          errorCode: 'TLS_ERROR',
          error: `the client certificate or key cannot be used: ${reason}`,
        };
      }
    }
    const deadline = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.abort(new Error(`no complete response within ${request.timeoutMs} ms`));
    }, request.timeoutMs);
    // The caller's signal aborts the same controller: cheaper per POST than AbortSignal.any.
    const cancel = () => {
      deadline.abort(request.signal?.reason);
    };
    if (request.signal?.aborted === true) cancel();
    else request.signal?.addEventListener('abort', cancel, { once: true });
    const signal = deadline.signal;
    try {
      const response = await agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: { ...request.headers },
        body: request.body,
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
        signal,
      });
      const responseHeaders = flattenHeaders(response.headers);
      const responseBody = await readExcerpt(response.body, this.#maxResponseBytes);
      const statusCode = response.statusCode;
      const base = { statusCode, responseHeaders, responseBody, durationMs: elapsed() };
      if (statusCode >= 200 && statusCode <= 299) return base;
      const location = responseHeaders['location'];
      const error =
        statusCode >= 300 && statusCode <= 399
          ? `HTTP ${statusCode}: redirect not followed${location === undefined ? '' : ` (to ${location})`}`
          : `HTTP ${statusCode}`;
      return { ...base, errorCode: 'HTTP_STATUS', error };
    } catch (err) {
      const durationMs = elapsed();
      if (timedOut)
        return {
          durationMs,
          errorCode: 'TIMEOUT',
          error: `no complete response within ${request.timeoutMs} ms`,
        };
      if (request.signal?.aborted === true)
        return { durationMs, errorCode: 'CONNECTION_ERROR', error: 'aborted' };
      const { code, message } = describeError(err);
      return { durationMs, errorCode: code, error: message };
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', cancel);
    }
  }

  /** Closes idle connections and waits for running requests. */
  async close(): Promise<void> {
    this.#closed = true;
    const agents = [this.#agent, ...this.#certAgents.values()];
    this.#certAgents.clear();
    await Promise.all(agents.map((a) => a.close()));
  }

  /** Drops every connection at once, running requests included. */
  async destroy(): Promise<void> {
    this.#closed = true;
    const agents = [this.#agent, ...this.#certAgents.values()];
    this.#certAgents.clear();
    await Promise.all(agents.map((a) => a.destroy()));
  }
}

/**
 * One TLS context for every connection of an agent (built once, not per dial): Node's default CAs
 * plus `extraCa`, and the client certificate to present if any.
 */
function trustingContext(options: {
  readonly extraCa: string | undefined;
  readonly cert?: string;
  readonly key?: string;
}): SecureContext {
  return createSecureContext({
    ...(options.extraCa === undefined ? {} : { ca: [...getCACertificates('default'), options.extraCa] }),
    ...(options.cert === undefined ? {} : { cert: options.cert }),
    ...(options.key === undefined ? {} : { key: options.key }),
  });
}

/** A connector that checks IP literals directly and resolved names through a guarded lookup. */
function guardedConnector(
  check: CheckAddress,
  base: { readonly timeout: number; readonly secureContext?: SecureContext },
): buildConnector.connector {
  const connect = buildConnector({ ...base, lookup: guardedLookup(check) });
  return (options, callback) => {
    const literal = options.hostname.replace(/^\[(.*)\]$/, '$1');
    const family = isIP(literal);
    if (family !== 0) {
      const reason = check(literal, family);
      if (reason !== undefined) {
        callback(new SsrfBlockedError(`${literal} refused: ${reason}`), null);
        return;
      }
    }
    connect(options, callback);
  };
}

/**
 * Keeps a TLS alert the receiver sent after the handshake (TLS 1.3 servers refuse a missing or
 * untrusted client certificate that way) as the connection's error: undici would otherwise report
 * only "other side closed" (CONNECTION_ERROR) when the socket ends right after it.
 */
function surfaceTlsAlerts(connect: buildConnector.connector): buildConnector.connector {
  return (options, callback) => {
    connect(options, (...args: Parameters<buildConnector.Callback>) => {
      if (args[0] === null) {
        const socket = args[1];
        let alert: Error | undefined;
        socket.prependListener('error', (e: Error) => {
          const code = (e as { code?: unknown }).code;
          if (typeof code === 'string' && code.startsWith('ERR_SSL_')) alert ??= e;
        });
        socket.prependListener('end', () => {
          if (alert !== undefined) socket.destroy(alert);
        });
      }
      callback(...args);
    });
  };
}

/** Resolves like dns.lookup, but refuses the whole name if any address it resolves to is refused. */
function guardedLookup(check: CheckAddress): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err !== null) {
        callback(err, '', 0);
        return;
      }
      for (const { address, family } of addresses) {
        const reason = check(address, family);
        if (reason !== undefined) {
          callback(new SsrfBlockedError(`${hostname} resolves to ${address}, refused: ${reason}`), '', 0);
          return;
        }
      }
      const first = addresses[0];
      if (options.all === true) callback(null, addresses);
      else if (first === undefined)
        callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      else callback(null, first.address, first.family);
    });
  };
}

async function readExcerpt(
  body: AsyncIterable<Buffer> & { destroy(): unknown },
  limit: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const room = limit - size;
    chunks.push(room >= chunk.length ? chunk : chunk.subarray(0, room));
    size += Math.min(room, chunk.length);
    if (size >= limit) break; // leaving the loop destroys the stream: the rest is never read
  }
  body.destroy();
  return Buffer.concat(chunks).toString('utf8');
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);
const TLS_CODES = new Set([
  'EPROTO',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'HOSTNAME_MISMATCH',
]);

/** Maps an undici / node:net / node:tls error (or one in its `cause` chain) to a send error code. */
function describeError(err: unknown): { code: SendErrorCode; message: string } {
  const codes: string[] = [];
  let message: string | undefined;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    message ??= e.message;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
  }
  const text = message ?? String(err);
  const label = (code: SendErrorCode) => ({
    code,
    message: codes.length > 0 ? `${codes[0]}: ${text}` : text,
  });
  if (codes.includes(SSRF_BLOCKED)) return { code: 'SSRF_BLOCKED', message: text };
  if (codes.some((c) => TIMEOUT_CODES.has(c))) return label('TIMEOUT');
  if (
    codes.some(
      (c) =>
        TLS_CODES.has(c) || c.startsWith('ERR_TLS_') || c.startsWith('ERR_SSL_') || c.startsWith('CERT_'),
    )
  ) {
    return label('TLS_ERROR');
  }
  return label('CONNECTION_ERROR');
}
