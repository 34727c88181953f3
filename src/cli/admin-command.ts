import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AdminApiError, AdminClient, type AdminConnection } from './admin-client.ts';

/** Flags every admin command takes (`--endpoint`, `--access-key`, `--secret-key`, `--json`). */
export const CONNECTION_OPTIONS = {
  endpoint: { type: 'string' },
  'access-key': { type: 'string' },
  'secret-key': { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

/** The admin address the CLI talks to when neither --endpoint nor BUCKETBELL_ENDPOINT names one. */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:9001';

export const CONNECTION_HELP = `Connection (flags, or the environment):
  --endpoint URL        admin address (BUCKETBELL_ENDPOINT, default ${DEFAULT_ENDPOINT})
  --access-key ID       access key id (BUCKETBELL_ACCESS_KEY)
  --secret-key KEY      secret key (BUCKETBELL_SECRET_KEY)
  --json                print JSON instead of tables
`;

/** A usage mistake: printed with the command's help, exit code 2. */
export class UsageError extends Error {}

export interface AdminCommandContext {
  readonly client: AdminClient;
  readonly json: boolean;
  readonly out: (text: string) => void;
}

export interface SubCommand {
  readonly usage: string;
  readonly options?: ParseArgsConfig['options'];
  readonly run: (
    ctx: AdminCommandContext,
    positionals: string[],
    values: Record<string, string | boolean | string[] | undefined>,
  ) => Promise<void>;
}

/** Runs `bucketbell <group> <sub> ...`: parses flags, connects, maps API errors to messages and exit codes. */
export async function runAdminCommand(
  group: string,
  help: string,
  subcommands: Readonly<Record<string, SubCommand>>,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const [name, ...rest] = args;
  const sub = name === undefined ? undefined : subcommands[name];
  if (sub === undefined) {
    process.stderr.write(
      `${name === undefined ? '' : `bucketbell ${group}: unknown subcommand '${name}'\n\n`}${help}`,
    );
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...CONNECTION_OPTIONS, ...sub.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    process.stderr.write(
      `bucketbell ${group} ${name ?? ''}: ${(err as Error).message}\nUsage: ${sub.usage}\n`,
    );
    return 2;
  }
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const connection = connectionOf(values, env);
  if (typeof connection === 'string') {
    process.stderr.write(`bucketbell ${group} ${name ?? ''}: ${connection}\n`);
    return 2;
  }
  const client = new AdminClient(connection);
  const out = (text: string): void => {
    process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  };
  try {
    await sub.run({ client, json: values['json'] === true, out }, parsed.positionals, values);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bucketbell ${group} ${name ?? ''}: ${err.message}\nUsage: ${sub.usage}\n`);
      return 2;
    }
    if (err instanceof AdminApiError) {
      const fields = err.fields.map((f) => `\n  ${f.field}: ${f.message}`).join('');
      process.stderr.write(`bucketbell ${group} ${name ?? ''}: ${err.message} (${err.code})${fields}\n`);
      return 1;
    }
    throw err;
  }
}

/**
 * The admin address and credentials from the flags, else the environment (flags win), or what is
 * missing or wrong, as a message.
 */
function connectionOf(
  values: Readonly<Record<string, unknown>>,
  env: NodeJS.ProcessEnv,
): AdminConnection | string {
  const accessKeyId = nonEmpty(values['access-key']) ?? nonEmpty(env['BUCKETBELL_ACCESS_KEY']);
  const secretKey = nonEmpty(values['secret-key']) ?? nonEmpty(env['BUCKETBELL_SECRET_KEY']);
  const missing = [
    ...(accessKeyId === undefined ? ['an access key (--access-key or BUCKETBELL_ACCESS_KEY)'] : []),
    ...(secretKey === undefined ? ['a secret key (--secret-key or BUCKETBELL_SECRET_KEY)'] : []),
  ];
  if (accessKeyId === undefined || secretKey === undefined) return `missing ${missing.join(' and ')}`;
  const flag = nonEmpty(values['endpoint']);
  const endpoint = flag ?? nonEmpty(env['BUCKETBELL_ENDPOINT']) ?? DEFAULT_ENDPOINT;
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    const source = flag === undefined ? 'BUCKETBELL_ENDPOINT' : '--endpoint';
    return `${source} "${endpoint}" is not the admin address as an http(s) URL, e.g. ${DEFAULT_ENDPOINT}`;
  }
  return { endpoint, accessKeyId, secretKey };
}

/** `bucketbell <group> <sub> --help`: the subcommand's usage, then its group's help. */
export function subcommandHelp(groupHelp: string, sub: SubCommand): string {
  return `Usage: ${sub.usage}\n\n${groupHelp.replace(/^Usage: .*\n\n/, '')}`;
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Renders rows as an aligned text table. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly (string | number | null | undefined)[])[],
): string {
  const cells = [
    headers,
    ...rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c)))),
  ];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (c ?? '').padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function requirePositional(positionals: readonly string[], index: number, what: string): string {
  const value = positionals[index];
  if (value === undefined || value === '') throw new UsageError(`missing ${what}`);
  return value;
}
