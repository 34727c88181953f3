import { lookup as dnsLookup } from 'node:dns/promises';
import { ONLY_ADMINS, refusalOf, webhookHost, type AddressPolicy } from './address-policy.ts';

/** Why a webhook URL cannot be saved. Callers branch on the code; the reason is for people. */
export const WEBHOOK_URL_ERROR_CODES = [
  /** Not a URL, no host, or credentials in it. */
  'INVALID_URL',
  /** Not http or https. */
  'UNSUPPORTED_SCHEME',
  /** The host is, or resolves to, an address the owner may not send to. */
  'SSRF_BLOCKED',
  /** The host name has no address (checked only when an address could be refused). */
  'UNRESOLVABLE',
] as const;

export type WebhookUrlErrorCode = (typeof WEBHOOK_URL_ERROR_CODES)[number];

export type WebhookUrlVerdict =
  { readonly ok: true } | { readonly ok: false; readonly code: WebhookUrlErrorCode; readonly reason: string };

/** Every address a name resolves to, like `dns.lookup(name, { all: true })`. */
export type HostLookup = (
  hostname: string,
) => Promise<readonly { readonly address: string; readonly family: number }[]>;

export interface WebhookUrlOptions extends AddressPolicy {
  /** Default: `dns.lookup` with `all: true` (the resolver the sender dials with). */
  readonly lookup?: HostLookup | undefined;
}

const defaultLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, order: 'verbatim' });

/**
 * The save-time check of a webhook URL: http or https, no credentials, and, unless the owner may
 * reach private addresses, a host that is neither an internal address in any spelling nor a name
 * that resolves to one (every address is checked; one refused address refuses the URL). The
 * sender checks again at dial time, on the address it actually connects to, so a name whose DNS
 * answer changes later (rebinding) is still refused then.
 */
export async function checkWebhookUrl(url: string, options: WebhookUrlOptions): Promise<WebhookUrlVerdict> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, code: 'INVALID_URL', reason: 'the URL cannot be parsed' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return {
      ok: false,
      code: 'UNSUPPORTED_SCHEME',
      reason: `the URL must be http or https, not ${parsed.protocol.slice(0, -1)}`,
    };
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return {
      ok: false,
      code: 'INVALID_URL',
      reason: 'the URL must not contain credentials; use the endpoint authentication settings instead',
    };
  }
  const host = webhookHost(parsed);
  if (host === undefined) return { ok: false, code: 'INVALID_URL', reason: 'the URL has no host' };
  // Admins may reach every address: nothing to resolve (a name without DNS yet is fine for them).
  if (options.allowPrivate) return { ok: true };
  const policy = { allowPrivate: false, allowedCidrs: options.allowedCidrs };
  switch (host.kind) {
    case 'ip': {
      const refusal = refusalOf(host.address, policy);
      return refusal === undefined
        ? { ok: true }
        : blocked(`${host.address} is ${refusal.description}; ${ONLY_ADMINS}`);
    }
    case 'localhost':
      // Never resolved (RFC 6761: it is loopback whatever DNS says); open only where the loopback
      // networks are allow-listed, and the dial-time guard checks the address actually used.
      return refusalOf('127.0.0.1', policy) === undefined || refusalOf('::1', policy) === undefined
        ? { ok: true }
        : blocked(`${host.name} is a loopback address; ${ONLY_ADMINS}`);
    case 'name': {
      let addresses: readonly { readonly address: string }[];
      try {
        addresses = await (options.lookup ?? defaultLookup)(host.name);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        return {
          ok: false,
          code: 'UNRESOLVABLE',
          reason: `${host.name} cannot be resolved${typeof code === 'string' ? ` (${code})` : ''}`,
        };
      }
      if (addresses.length === 0)
        return { ok: false, code: 'UNRESOLVABLE', reason: `${host.name} has no address` };
      for (const { address } of addresses) {
        const refusal = refusalOf(address, policy);
        if (refusal !== undefined)
          return blocked(
            `${host.name} resolves to ${address}, which is ${refusal.description}; ${ONLY_ADMINS}`,
          );
      }
      return { ok: true };
    }
  }
}

function blocked(reason: string): WebhookUrlVerdict {
  return { ok: false, code: 'SSRF_BLOCKED', reason };
}
