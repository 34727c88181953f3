/**
 * Which addresses a webhook may be sent to: the pure core of the SSRF guard. Classifies IPv4 and
 * IPv6 addresses (including IPv4 embedded in IPv6: mapped, compatible, NAT64, 6to4), parses the
 * allow-list CIDRs, and reads a URL's host the way WHATWG URL parsing already normalises it
 * (`http://2130706433/`, `http://0177.0.0.1/`, `http://0x7f.1/` and `http://127.1/` are all 127.0.0.1).
 */

/** What an address is, for the guard's purpose. Everything but `public` is off limits to non-admins. */
export const ADDRESS_CLASSES = [
  'public',
  /** 0.0.0.0/8 and `::`: dialling them reaches the local host. */
  'unspecified',
  /** 127.0.0.0/8 and `::1`. */
  'loopback',
  /** RFC 1918 (10/8, 172.16/12, 192.168/16), the deprecated IPv6 site-local fec0::/10, local-use NAT64 64:ff9b:1::/48. */
  'private',
  /** 169.254.0.0/16 (cloud metadata at 169.254.169.254) and fe80::/10. */
  'link-local',
  /** 100.64.0.0/10, the shared address space of carrier-grade NAT (RFC 6598). */
  'cgnat',
  /** 224.0.0.0/4 and ff00::/8. */
  'multicast',
  /** 255.255.255.255. */
  'broadcast',
  /** fc00::/7 (RFC 4193). */
  'unique-local',
  /** 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32, 3fff::/20. */
  'documentation',
  /** 198.18.0.0/15 and 2001:2::/48. */
  'benchmarking',
  /** Anything else not globally routable: 240.0.0.0/4, 192.0.0.0/24, Teredo, ORCHID, discard-only, outside 2000::/3. */
  'reserved',
] as const;

export type AddressClass = (typeof ADDRESS_CLASSES)[number];

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
export interface ParsedAddress {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
}

/** A network of the allow-list. IPv4-mapped IPv6 networks (`::ffff:10.0.0.0/104`) are stored as IPv4. */
export interface Cidr {
  readonly family: 4 | 6;
  /** The network address, host bits cleared. */
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Which addresses a sender or a save-time check accepts. */
export interface AddressPolicy {
  /** Admins may target every address class. */
  readonly allowPrivate: boolean;
  /** Networks accepted whatever their class (the server's `webhook_allowed_cidrs`). */
  readonly allowedCidrs: readonly Cidr[];
}

const LABELS: Readonly<Record<AddressClass, string>> = {
  public: 'a public address',
  unspecified: 'an unspecified address',
  loopback: 'a loopback address',
  private: 'a private address',
  'link-local': 'a link-local address',
  cgnat: 'a CGNAT (shared address space) address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  'unique-local': 'a unique-local IPv6 address',
  documentation: 'a documentation address',
  benchmarking: 'a benchmarking address',
  reserved: 'a reserved address',
};

/** The class with its article, for messages: `a loopback address`. */
export function addressClassLabel(addressClass: AddressClass): string {
  return LABELS[addressClass];
}

/** The words that end every refusal, so users know who can help. */
export const ONLY_ADMINS = 'only admins may send webhooks there';

// --- parsing --------------------------------------------------------------------------------------

const IPV4_PART = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;
const IPV6_GROUP = /^[0-9a-f]{1,4}$/i;

/**
 * Parses an address in its canonical text forms: dotted-quad IPv4 (no leading zeros, as `net.isIP`
 * and DNS answers write it) or IPv6 (with `::`, an embedded dotted quad, an optional `%zone`, or
 * brackets). Other spellings (`0177.0.0.1`, `127.1`) are URL syntax: see `webhookHost`.
 */
export function parseAddress(text: string): ParsedAddress | undefined {
  const unbracketed = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!unbracketed.includes(':')) {
    const bytes = parseIpv4(unbracketed);
    return bytes === undefined ? undefined : { family: 4, bytes };
  }
  const zone = unbracketed.indexOf('%');
  const bytes = parseIpv6(zone === -1 ? unbracketed : unbracketed.slice(0, zone));
  return bytes === undefined ? undefined : { family: 6, bytes };
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => IPV4_PART.test(p))) return undefined;
  return Uint8Array.from(parts, Number);
}

function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length === 1) {
    // No `::`: all eight groups are written, the last two possibly as a dotted quad.
    const all = groupsOf(text, true);
    return all?.length === 8 ? toBytes(all) : undefined;
  }
  if (halves.length > 2) return undefined;
  const head = groupsOf(halves[0] ?? '', false);
  const tail = groupsOf(halves[1] ?? '', true);
  if (head === undefined || tail === undefined || head.length + tail.length > 7) return undefined;
  return toBytes([...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail]);
}

/** Colon-separated groups as 16-bit numbers; a trailing dotted quad counts as two when allowed. */
function groupsOf(text: string, allowDottedTail: boolean): number[] | undefined {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (const [i, part] of parts.entries()) {
    if (allowDottedTail && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIpv4(part);
      if (v4 === undefined) return undefined;
      groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
    } else if (IPV6_GROUP.test(part)) {
      groups.push(parseInt(part, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

function toBytes(groups: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  return bytes;
}

// --- classification -------------------------------------------------------------------------------

type V4Range = readonly [network: readonly [number, number, number, number], prefix: number, AddressClass];

/** First match wins, so the broadcast address comes before 240/4. */
const IPV4_RANGES: readonly V4Range[] = [
  [[0, 0, 0, 0], 8, 'unspecified'],
  [[10, 0, 0, 0], 8, 'private'],
  [[100, 64, 0, 0], 10, 'cgnat'],
  [[127, 0, 0, 0], 8, 'loopback'],
  [[169, 254, 0, 0], 16, 'link-local'],
  [[172, 16, 0, 0], 12, 'private'],
  [[192, 0, 0, 0], 24, 'reserved'],
  [[192, 0, 2, 0], 24, 'documentation'],
  [[192, 88, 99, 0], 24, 'reserved'],
  [[192, 168, 0, 0], 16, 'private'],
  [[198, 18, 0, 0], 15, 'benchmarking'],
  [[198, 51, 100, 0], 24, 'documentation'],
  [[203, 0, 113, 0], 24, 'documentation'],
  [[224, 0, 0, 0], 4, 'multicast'],
  [[255, 255, 255, 255], 32, 'broadcast'],
  [[240, 0, 0, 0], 4, 'reserved'],
];

type V6Range = readonly [network: string, prefix: number, AddressClass];

/** Checked after the special cases of `classifyIpv6`; first match wins. */
const IPV6_RANGES: readonly V6Range[] = [
  ['64:ff9b:1::', 48, 'private'],
  ['100::', 64, 'reserved'],
  ['2001:db8::', 32, 'documentation'],
  ['2001:2::', 48, 'benchmarking'],
  ['2001::', 32, 'reserved'], // Teredo
  ['2001:10::', 28, 'reserved'], // ORCHID (deprecated)
  ['2001:20::', 28, 'reserved'], // ORCHIDv2
  ['3fff::', 20, 'documentation'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'private'], // site-local (deprecated)
  ['ff00::', 8, 'multicast'],
];

const IPV6_NETWORKS = IPV6_RANGES.map(([network, prefix, addressClass]) => ({
  bytes: parseIpv6(network)!,
  prefix,
  addressClass,
}));

/**
 * Classifies an IP address (see `parseAddress` for the accepted text). IPv4 embedded in IPv6 is
 * classified as the IPv4 address it carries when that one is not public: `::ffff:127.0.0.1`,
 * `::ffff:7f00:1`, `::127.0.0.1`, `64:ff9b::10.0.0.1` and `2002:a00:1::` are all refused like the
 * IPv4 address inside. Throws a TypeError for text that is not an address.
 */
export function classifyAddress(ip: string): AddressClass {
  const parsed = parseAddress(ip);
  if (parsed === undefined) throw new TypeError(`not an IP address: ${JSON.stringify(ip)}`);
  return classifyParsed(parsed);
}

export function classifyParsed(address: ParsedAddress): AddressClass {
  return address.family === 4 ? classifyIpv4(address.bytes) : classifyIpv6(address.bytes);
}

function classifyIpv4(bytes: Uint8Array): AddressClass {
  for (const [network, prefix, addressClass] of IPV4_RANGES) {
    if (prefixMatches(bytes, Uint8Array.from(network), prefix)) return addressClass;
  }
  return 'public';
}

function classifyIpv6(bytes: Uint8Array): AddressClass {
  const zeroUpTo = (n: number) => bytes.subarray(0, n).every((b) => b === 0);
  const embedded = embeddedIpv4Bytes(bytes);
  if (zeroUpTo(16)) return 'unspecified';
  if (zeroUpTo(15) && bytes[15] === 1) return 'loopback';
  if (embedded !== undefined) {
    const inner = classifyIpv4(embedded.bytes);
    // Mapped, NAT64 and 6to4 addresses of a public IPv4 address are routable; the others are not.
    return inner !== 'public' || embedded.routable ? inner : 'reserved';
  }
  for (const network of IPV6_NETWORKS) {
    if (prefixMatches(bytes, network.bytes, network.prefix)) return network.addressClass;
  }
  // Global unicast is 2000::/3; everything outside it that is not listed above is not routable.
  return ((bytes[0] ?? 0) & 0xe0) === 0x20 ? 'public' : 'reserved';
}

interface Embedded {
  readonly bytes: Uint8Array;
  /** How the IPv6 form reaches the IPv4 host when the IPv4 address is public. */
  readonly routable: boolean;
}

/** The IPv4 address an IPv6 address carries, by the conventions that let one reach an IPv4 host. */
function embeddedIpv4Bytes(bytes: Uint8Array): Embedded | undefined {
  const is = (offset: number, ...values: number[]) => values.every((v, i) => bytes[offset + i] === v);
  const zeros = (from: number, to: number) => bytes.subarray(from, to).every((b) => b === 0);
  const last4 = bytes.subarray(12, 16);
  // ::ffff:a.b.c.d, IPv4-mapped: how dual-stack sockets name IPv4 peers.
  if (zeros(0, 10) && is(10, 0xff, 0xff)) return { bytes: last4, routable: true };
  // ::a.b.c.d, IPv4-compatible (deprecated); `::` and `::1` are matched before this.
  if (zeros(0, 12)) return { bytes: last4, routable: false };
  // ::ffff:0:a.b.c.d, IPv4-translated (SIIT).
  if (zeros(0, 8) && is(8, 0xff, 0xff, 0, 0)) return { bytes: last4, routable: false };
  // 64:ff9b::a.b.c.d, the well-known NAT64 prefix.
  if (is(0, 0x00, 0x64, 0xff, 0x9b) && zeros(4, 12)) return { bytes: last4, routable: true };
  // 2002:AABB:CCDD::/48, 6to4.
  if (is(0, 0x20, 0x02)) return { bytes: bytes.subarray(2, 6), routable: true };
  return undefined;
}

/** The IPv4 address an IPv6 address embeds (mapped, compatible, translated, NAT64, 6to4), dotted. */
export function embeddedIpv4(ip: string): string | undefined {
  const parsed = parseAddress(ip);
  if (parsed?.family !== 6) return undefined;
  const all = parsed.bytes;
  if (all.subarray(0, 15).every((b) => b === 0)) return undefined; // `::` and `::1` are IPv6's own
  const embedded = embeddedIpv4Bytes(all);
  return embedded === undefined ? undefined : [...embedded.bytes].join('.');
}

function prefixMatches(bytes: Uint8Array, network: Uint8Array, prefix: number): boolean {
  if (bytes.length !== network.length) return false;
  const whole = Math.floor(prefix / 8);
  for (let i = 0; i < whole; i++) if (bytes[i] !== network[i]) return false;
  const bits = prefix % 8;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return ((bytes[whole] ?? 0) & mask) === ((network[whole] ?? 0) & mask);
}

// --- the allow-list -------------------------------------------------------------------------------

/**
 * Parses `10.0.0.0/8`, `fd00::/8`, or a single address (`/32` or `/128`). Host bits are cleared
 * (`10.1.2.3/8` is 10.0.0.0/8). Undefined when the text is not a network.
 */
export function parseCidr(text: string): Cidr | undefined {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addressText = slash === -1 ? trimmed : trimmed.slice(0, slash);
  if (addressText.includes('%')) return undefined;
  const address = parseAddress(addressText);
  if (address === undefined || addressText.startsWith('[')) return undefined;
  const max = address.family === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : trimmed.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > max) return undefined;
  const mapped = address.family === 6 && prefix >= 96 ? unmapped(address.bytes) : undefined;
  if (mapped !== undefined) return { family: 4, bytes: masked(mapped, prefix - 96), prefix: prefix - 96 };
  return { family: address.family, bytes: masked(address.bytes, prefix), prefix };
}

/** The CIDR's canonical text, for logs and messages. */
export function formatCidr(cidr: Cidr): string {
  if (cidr.family === 4) return `${[...cidr.bytes].join('.')}/${cidr.prefix}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((cidr.bytes[i] ?? 0) << 8) | (cidr.bytes[i + 1] ?? 0)).toString(16));
  return `${groups.join(':')}/${cidr.prefix}`;
}

/** Whether `ip` lies in `cidr`. An IPv4-mapped IPv6 address counts as its IPv4 address. */
export function cidrContains(cidr: Cidr, ip: string | ParsedAddress): boolean {
  const parsed = typeof ip === 'string' ? parseAddress(ip) : ip;
  if (parsed === undefined) return false;
  const bytes = parsed.family === 6 ? (unmapped(parsed.bytes) ?? parsed.bytes) : parsed.bytes;
  return prefixMatches(bytes, cidr.bytes, cidr.prefix);
}

function unmapped(bytes: Uint8Array): Uint8Array | undefined {
  const isMapped = bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return isMapped ? bytes.slice(12, 16) : undefined;
}

function masked(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 0; i < out.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = (out[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return out;
}

// --- the decision ---------------------------------------------------------------------------------

/** Non-admins may reach public addresses only; admins (allowPrivate) may reach any. */
export function isBlockedFor(
  addressClass: AddressClass,
  policy: Pick<AddressPolicy, 'allowPrivate'>,
): boolean {
  return !policy.allowPrivate && addressClass !== 'public';
}

/** Why `policy` refuses `ip`, e.g. `a loopback address`, or undefined when it is allowed. Non-addresses are refused. */
export function refusalOf(
  ip: string,
  policy: AddressPolicy,
): { readonly addressClass: AddressClass | undefined; readonly description: string } | undefined {
  const parsed = parseAddress(ip);
  if (parsed === undefined) return { addressClass: undefined, description: 'not an IP address' };
  if (policy.allowedCidrs.some((cidr) => cidrContains(cidr, parsed))) return undefined;
  const addressClass = classifyParsed(parsed);
  if (!isBlockedFor(addressClass, policy)) return undefined;
  const inner = embeddedIpv4(ip);
  return {
    addressClass,
    description: `${addressClassLabel(addressClass)}${inner === undefined ? '' : ` (it embeds IPv4 ${inner})`}`,
  };
}

// --- URL hosts ------------------------------------------------------------------------------------

/** A webhook URL's host after WHATWG normalisation. */
export type WebhookHost =
  | { readonly kind: 'ip'; readonly address: string; readonly family: 4 | 6 }
  /** `localhost`, `*.localhost` (RFC 6761): loopback whatever DNS says. Trailing dots removed. */
  | { readonly kind: 'localhost'; readonly name: string }
  /** A DNS name, lowercase, trailing dots removed: its addresses decide. */
  | { readonly kind: 'name'; readonly name: string };

/**
 * The host of a webhook URL. `new URL()` has already turned every IPv4 spelling (decimal, octal,
 * hex, short, percent-encoded, full-width, trailing dot) into a dotted quad and IPv6 into its
 * compressed form in brackets; this takes the brackets off and recognises localhost names.
 * Undefined for an unparseable URL or one without a host.
 */
export function webhookHost(url: string | URL): WebhookHost | undefined {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return undefined;
  }
  const host = parsed.hostname;
  if (host === '') return undefined;
  const address = parseAddress(host);
  if (address !== undefined) {
    return { kind: 'ip', address: host.replace(/^\[(.*)\]$/, '$1'), family: address.family };
  }
  const name = host.toLowerCase().replace(/\.+$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return { kind: 'localhost', name };
  return { kind: 'name', name };
}
