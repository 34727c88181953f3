import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { parse as parseYaml, parseDocument, Scalar, visit } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './config-error.ts';
import { parseDuration } from './duration.ts';
import { expandEnv } from './expand-env.ts';
import { parseListenAddress, type ListenAddress } from './listen-address.ts';

const endpointSchema = z
  .object({
    /** Its id in ARNs (`arn:bucketbell:webhook::<name>`); default `url-<first 12 hex of sha256(url)>`. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, ".", "_" or "-"')
      .optional(),
    url: z.url({ protocol: /^https?$/ }),
    /** Glob patterns; when given, the endpoint receives matching events of every bucket. */
    events: z.array(z.string().min(1)).default([]),
    prefix: z.string().default(''),
    suffix: z.string().default(''),
    secret: z.string().min(1).optional(),
    signature_header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name')
      .default('X-Hub-Signature-256'),
    /** `prefixed`: `sha256=<hex>` (GitHub, s3-orchestrator); `hex`: the bare hex (Alarik's receivers). */
    signature_format: z
      .enum(['prefixed', 'hex'], { error: 'prefixed (sha256=<hex>) or hex (the bare hex digest)' })
      .default('prefixed'),
    timeout: z.string().default('10s'),
    /** POSTs at once to this endpoint. */
    max_in_flight: z.number().int().min(1).max(64).default(16),
    max_retries: z.number().int().min(0).max(100).default(7),
    backoff_initial: z.string().default('30s'),
    backoff_max: z.string().default('1h'),
  })
  .strict();

const fileSchema = z
  .object({
    data_dir: z.string().optional(),
    address: z.string().optional(),
    admin_address: z.string().optional(),
    database_url: z.string().optional(),
    root_user: z.string().optional(),
    root_password: z.string().optional(),
    master_key: z.string().optional(),
    domain: z.string().optional(),
    region: z.string().optional(),
    log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
    max_object_size: z.number().int().positive().optional(),
    event_source: z.string().optional(),
    delivery_retention: z.string().optional(),
    dead_letter_retention: z.string().optional(),
    delivery_poll_interval: z.string().optional(),
    webhook_allowed_cidrs: z.array(z.string()).optional(),
    webhook_ca_file: z.string().optional(),
    endpoints: z.array(endpointSchema).optional(),
    /** s3-orchestrator's spelling of the same list, so its configuration file works unchanged. */
    notifications: z
      .object({ endpoints: z.array(endpointSchema).default([]) })
      .strict()
      .optional(),
  })
  .strict();

export type EndpointConfig = z.infer<typeof endpointSchema> & { readonly name: string };

/** The server's settings after defaults, the optional YAML file and BUCKETBELL_* variables are merged. */
export interface Config {
  readonly dataDir: string;
  readonly address: ListenAddress;
  readonly adminAddress: ListenAddress;
  /** `sqlite:` path in the data folder by default, or a postgres:// URL. */
  readonly databaseUrl: string;
  readonly rootUser: string | undefined;
  readonly rootPassword: string | undefined;
  readonly masterKey: string | undefined;
  /** Base domain for virtual-host-style addressing (`bucket.<domain>`), if any. */
  readonly domain: string | undefined;
  readonly region: string;
  readonly logLevel: string;
  readonly maxObjectSize: number;
  /** `eventSource` in S3 event records. */
  readonly eventSource: string;
  /** How long succeeded deliveries (and their attempts) are kept, in ms. */
  readonly deliveryRetentionMs: number;
  /** How long dead-lettered deliveries are kept before they are purged, in ms. */
  readonly deadLetterRetentionMs: number;
  /** How often the dispatcher looks for due retries when nothing wakes it, in ms. */
  readonly deliveryPollIntervalMs: number;
  /** Networks (`10.0.0.0/8`, `fd00::/8`, or one address) every webhook may reach, private or not. */
  readonly webhookAllowedCidrs: readonly string[];
  /** PEM bundle trusted for https webhooks in addition to the default CAs, read from `webhook_ca_file`. */
  readonly webhookCa: string | undefined;
  readonly endpoints: readonly EndpointConfig[];
}

/** Every setting and the environment variable that overrides it; `--help` and the README list these. */
export const CONFIG_KEYS = [
  {
    key: 'data_dir',
    env: 'BUCKETBELL_DATA_DIR',
    doc: 'data folder (SQLite database, blobs, master key)',
    def: './data',
  },
  { key: 'address', env: 'BUCKETBELL_ADDRESS', doc: 'S3 API listen address HOST:PORT', def: ':9000' },
  {
    key: 'admin_address',
    env: 'BUCKETBELL_ADMIN_ADDRESS',
    doc: 'admin API, /healthz, /metrics',
    def: ':9001',
  },
  {
    key: 'database_url',
    env: 'BUCKETBELL_DATABASE_URL',
    doc: 'postgres://… to use PostgreSQL',
    def: 'SQLite in the data folder',
  },
  {
    key: 'root_user',
    env: 'BUCKETBELL_ROOT_USER',
    doc: "root user's access key id",
    def: 'generated at first start',
  },
  {
    key: 'root_password',
    env: 'BUCKETBELL_ROOT_PASSWORD',
    doc: "root user's secret key",
    def: 'generated at first start',
  },
  {
    key: 'master_key',
    env: 'BUCKETBELL_MASTER_KEY',
    doc: '32 random bytes, base64: encrypts secrets at rest',
    def: 'generated into the data folder',
  },
  {
    key: 'domain',
    env: 'BUCKETBELL_DOMAIN',
    doc: 'domain for virtual-host-style requests (bucket.DOMAIN)',
    def: 'none',
  },
  {
    key: 'region',
    env: 'BUCKETBELL_REGION',
    doc: 'region reported to clients and in events',
    def: 'us-east-1',
  },
  {
    key: 'log_level',
    env: 'BUCKETBELL_LOG_LEVEL',
    doc: 'fatal, error, warn, info, debug, trace or silent',
    def: 'info',
  },
  {
    key: 'max_object_size',
    env: 'BUCKETBELL_MAX_OBJECT_SIZE',
    doc: 'largest single PUT in bytes',
    def: '5368709120',
  },
  {
    key: 'event_source',
    env: 'BUCKETBELL_EVENT_SOURCE',
    doc: 'eventSource in S3 event records',
    def: 'bucketbell:s3',
  },
  {
    key: 'delivery_retention',
    env: 'BUCKETBELL_DELIVERY_RETENTION',
    doc: 'how long succeeded deliveries are kept',
    def: '24h',
  },
  {
    key: 'dead_letter_retention',
    env: 'BUCKETBELL_DEAD_LETTER_RETENTION',
    doc: 'how long dead-lettered deliveries are kept',
    def: '7d',
  },
  {
    key: 'delivery_poll_interval',
    env: 'BUCKETBELL_DELIVERY_POLL_INTERVAL',
    doc: 'fallback poll for due retries',
    def: '1s',
  },
  {
    key: 'webhook_allowed_cidrs',
    env: 'BUCKETBELL_WEBHOOK_ALLOWED_CIDRS',
    doc: 'networks every webhook may reach though private (YAML list; comma-separated in the environment)',
    def: 'none',
  },
  {
    key: 'webhook_ca_file',
    env: 'BUCKETBELL_WEBHOOK_CA_FILE',
    doc: 'PEM bundle of CAs trusted for https webhooks, in addition to the default ones',
    def: 'none',
  },
] as const;

export interface ConfigOverrides {
  readonly configFile?: string | undefined;
  readonly dataDir?: string | undefined;
  readonly address?: string | undefined;
  readonly adminAddress?: string | undefined;
}

/** Loads defaults < YAML file < environment < command-line flags, and validates the result. */
export function loadConfig(env: NodeJS.ProcessEnv, overrides: ConfigOverrides = {}): Config {
  const configFile = overrides.configFile ?? env['BUCKETBELL_CONFIG'];
  const file = configFile === undefined ? {} : readConfigFile(configFile, env);
  const pick = (key: (typeof CONFIG_KEYS)[number]['key']): string | undefined => {
    const spec = CONFIG_KEYS.find((k) => k.key === key)!;
    const fromEnv = env[spec.env];
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    const fromFile = file[key];
    return fromFile === undefined ? undefined : String(fromFile);
  };
  const dataDir = path.resolve(overrides.dataDir ?? pick('data_dir') ?? './data');
  const maxObjectSizeRaw = pick('max_object_size');
  const maxObjectSize = maxObjectSizeRaw === undefined ? 5 * 1024 ** 3 : Number(maxObjectSizeRaw);
  if (!Number.isSafeInteger(maxObjectSize) || maxObjectSize <= 0) {
    throw new ConfigError(
      'max_object_size',
      `must be a positive whole number of bytes, got "${maxObjectSizeRaw}"`,
    );
  }
  const logLevel = pick('log_level') ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('log_level', `unknown level "${logLevel}"`);
  }
  const databaseUrl = pick('database_url') ?? `sqlite:${path.join(dataDir, 'bucketbell.db')}`;
  if (!/^(postgres|postgresql):\/\//.test(databaseUrl) && !databaseUrl.startsWith('sqlite:')) {
    throw new ConfigError('database_url', 'must start with postgres://, postgresql:// or sqlite:');
  }
  const cidrsFromEnv = env['BUCKETBELL_WEBHOOK_ALLOWED_CIDRS'];
  return {
    dataDir,
    address: parseListenAddress('address', overrides.address ?? pick('address') ?? ':9000'),
    adminAddress: parseListenAddress(
      'admin_address',
      overrides.adminAddress ?? pick('admin_address') ?? ':9001',
    ),
    databaseUrl,
    rootUser: pick('root_user'),
    rootPassword: pick('root_password'),
    masterKey: pick('master_key'),
    domain: pick('domain'),
    region: pick('region') ?? 'us-east-1',
    logLevel,
    maxObjectSize,
    eventSource: pick('event_source') ?? 'bucketbell:s3',
    deliveryRetentionMs: parseDuration('delivery_retention', pick('delivery_retention') ?? '24h'),
    deadLetterRetentionMs: parseDuration('dead_letter_retention', pick('dead_letter_retention') ?? '7d'),
    deliveryPollIntervalMs: parseDuration('delivery_poll_interval', pick('delivery_poll_interval') ?? '1s'),
    // A YAML list, or one comma-separated environment variable (which wins, like every other setting).
    webhookAllowedCidrs: validateCidrs(
      cidrsFromEnv !== undefined && cidrsFromEnv !== ''
        ? cidrsFromEnv.split(',')
        : (file.webhook_allowed_cidrs ?? []),
    ),
    webhookCa: readCaFile(pick('webhook_ca_file')),
    endpoints: nameEndpoints([...(file.endpoints ?? []), ...(file.notifications?.endpoints ?? [])]),
  };
}

/** Gives every endpoint its name (the one it was given, or one derived from its URL); names are unique. */
function nameEndpoints(endpoints: readonly z.infer<typeof endpointSchema>[]): EndpointConfig[] {
  const seen = new Set<string>();
  return endpoints.map((endpoint, i) => {
    const name =
      endpoint.name ?? `url-${createHash('sha256').update(endpoint.url).digest('hex').slice(0, 12)}`;
    if (seen.has(name))
      throw new ConfigError(
        `endpoints.${i}.name`,
        endpoint.name === undefined
          ? `two endpoints have the URL ${endpoint.url}; give them names`
          : `two endpoints are named ${name}`,
      );
    seen.add(name);
    return { ...endpoint, name };
  });
}

/** `ADDRESS/PREFIX` or a bare address, IPv4 or IPv6 (the SSRF guard's parseCidr reads the same forms). */
function validateCidrs(entries: readonly string[]): string[] {
  const cidrs = entries.map((e) => e.trim()).filter((e) => e !== '');
  for (const cidr of cidrs) {
    const [address = '', prefix, ...rest] = cidr.split('/');
    const family = address.includes('%') ? 0 : isIP(address);
    const max = family === 4 ? 32 : 128;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= max);
    if (family === 0 || !prefixOk || rest.length > 0) {
      throw new ConfigError(
        'webhook_allowed_cidrs',
        `"${cidr}" is not a network (10.0.0.0/8, fd00::/8 or one address)`,
      );
    }
  }
  return cidrs;
}

/** Reads and checks the PEM bundle: at least one certificate, and every one of them parses. */
function readCaFile(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('webhook_ca_file', `cannot read ${file}: ${(err as Error).message}`);
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0)
    throw new ConfigError(
      'webhook_ca_file',
      `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`,
    );
  try {
    blocks.forEach((block) => new X509Certificate(block));
  } catch (err) {
    throw new ConfigError('webhook_ca_file', `${file} holds a broken certificate: ${(err as Error).message}`);
  }
  return pem;
}

function readConfigFile(file: string, env: NodeJS.ProcessEnv): z.infer<typeof fileSchema> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('config', `cannot read ${file}: ${(err as Error).message}`);
  }
  const raw = parseConfigYaml(file, text, env);
  const parsed = fileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(issue.path.join('.') || 'config', `${file}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * Parses the YAML, then expands `${NAME}` in its values (comments are never expanded, so a variable
 * named only in a comment need not be set). An unquoted value that was only variables takes the
 * type its expansion reads as (`max_retries: ${RETRIES}` is a number); a quoted one stays a string.
 */
function parseConfigYaml(file: string, text: string, env: NodeJS.ProcessEnv): unknown {
  const doc = parseDocument(text);
  const [error] = doc.errors;
  if (error !== undefined) throw new ConfigError('config', `${file} is not valid YAML: ${error.message}`);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('${')) return;
      const expanded = expandEnv(node.value, env);
      const typed = node.type === Scalar.PLAIN ? scalarOf(expanded) : expanded;
      node.value = typeof typed === 'number' || typeof typed === 'boolean' ? typed : expanded;
    },
  });
  return doc.toJS() as unknown;
}

/** What a plain YAML scalar with this text would be, or the text itself if it reads as no scalar. */
function scalarOf(text: string): unknown {
  try {
    return parseYaml(text) as unknown;
  } catch {
    return text;
  }
}
