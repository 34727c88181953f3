import { parseArgs } from 'node:util';
import { CONFIG_KEYS, loadConfig } from '../config/config.ts';
import { ConfigError } from '../config/config-error.ts';
import { createLogger } from '../observability/logger.ts';
import { startServer } from '../server.ts';

const KEY_WIDTH = Math.max(...CONFIG_KEYS.map((k) => k.key.length)) + 2;
const ENV_WIDTH = Math.max(...CONFIG_KEYS.map((k) => k.env.length)) + 2;

export const SERVE_HELP = `Usage: bucketbell serve [options]

Start the S3 API (default :9000) and the admin address (default :9001: /healthz, /metrics).
Data lives in one folder (SQLite database and object files) unless BUCKETBELL_DATABASE_URL
points at PostgreSQL.

Options:
  --data-dir DIR              data folder (env BUCKETBELL_DATA_DIR, default ./data)
  --address HOST:PORT         S3 API address (env BUCKETBELL_ADDRESS, default :9000)
  --admin-address HOST:PORT   admin address (env BUCKETBELL_ADMIN_ADDRESS, default :9001)
  --config FILE               YAML settings file (env BUCKETBELL_CONFIG); \${ENV} is expanded
  -h, --help                  show this help

Settings (YAML key, environment variable, default):
${CONFIG_KEYS.map((k) => `  ${k.key.padEnd(KEY_WIDTH)}${k.env.padEnd(ENV_WIDTH)}${k.doc} (default: ${k.def})`).join('\n')}

Precedence: command-line flags, then environment, then the YAML file, then defaults.
Without BUCKETBELL_ROOT_USER/BUCKETBELL_ROOT_PASSWORD, root credentials are generated at first
start and printed once; they are kept (encrypted) in the database.
`;

export async function runServe(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        'data-dir': { type: 'string' },
        address: { type: 'string' },
        'admin-address': { type: 'string' },
        config: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    process.stderr.write(`bucketbell serve: ${(err as Error).message}\n\n${SERVE_HELP}`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(env, {
      configFile: values.config,
      dataDir: values['data-dir'],
      address: values.address,
      adminAddress: values['admin-address'],
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`bucketbell serve: invalid setting ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const logger = createLogger(config.logLevel);
  let server;
  try {
    server = await startServer(config, logger, (accessKeyId, secretKey) => {
      process.stdout.write(
        `\nRoot credentials were generated (shown only this once; they are kept for later starts):\n` +
          `  Access key: ${accessKeyId}\n  Secret key: ${secretKey}\n` +
          `Set BUCKETBELL_ROOT_USER / BUCKETBELL_ROOT_PASSWORD to choose your own.\n\n`,
      );
    });
  } catch (err) {
    logger.fatal({ err }, 'bucketbell could not start');
    process.stderr.write(`bucketbell serve: ${(err as Error).message}\n`);
    return 1;
  }
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      server
        .stop()
        .catch((err: unknown) => {
          logger.error({ err }, 'error while stopping');
        })
        .finally(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await stopped;
  return 0;
}
