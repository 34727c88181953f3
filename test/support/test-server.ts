import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { S3Client } from '@aws-sdk/client-s3';
import { freshPostgresSchema, TEST_DB } from './test-database.ts';

export const ROOT_USER = 'bucketbell-root';
export const ROOT_PASSWORD = 'bucketbell-root-secret-key';
const BIN = path.resolve(import.meta.dirname, '../../bin/bucketbell.js');

export interface TestServer {
  readonly s3Url: string;
  readonly adminUrl: string;
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  readonly child: ChildProcess;
  /** Everything the server printed on stdout and stderr so far. */
  readonly output: () => string;
  /** A client for the root user (or the given keys), path-style, default checksum settings. */
  client(credentials?: { accessKeyId: string; secretAccessKey: string }): S3Client;
  /** SIGTERM and wait; the data folder is kept until `cleanup`. */
  stop(): Promise<void>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Stops if running and removes the data folder (and the PostgreSQL schema). */
  cleanup(): Promise<void>;
}

export interface StartOptions {
  readonly dataDir?: string;
  readonly databaseUrl?: string | undefined;
  readonly env?: Readonly<Record<string, string>>;
  readonly args?: readonly string[];
}

/** A data folder and, on PostgreSQL, a schema that outlive one server: for crash and restart tests. */
export interface PersistentStorage {
  readonly dataDir: string;
  readonly databaseUrl: string | undefined;
  /** Removes the data folder and drops the schema; call once every server on it has exited. */
  remove(): Promise<void>;
}

/** Pass `{ dataDir, databaseUrl }` to every `startServer` that should see the same data. */
export async function persistentStorage(): Promise<PersistentStorage> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bucketbell-test-'));
  const schema = TEST_DB === 'postgres' ? await freshPostgresSchema() : undefined;
  return {
    dataDir,
    databaseUrl: schema?.url,
    remove: async () => {
      await rm(dataDir, { recursive: true, force: true });
      await schema?.drop();
    },
  };
}

/** Starts the real `bucketbell serve` binary on free loopback ports against the suite's database. */
export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'bucketbell-test-')));
  let databaseUrl = options.databaseUrl;
  let dropSchema: (() => Promise<void>) | undefined;
  if (databaseUrl === undefined && TEST_DB === 'postgres') {
    const schema = await freshPostgresSchema();
    databaseUrl = schema.url;
    dropSchema = schema.drop;
  }
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    BUCKETBELL_ROOT_USER: ROOT_USER,
    BUCKETBELL_ROOT_PASSWORD: ROOT_PASSWORD,
    BUCKETBELL_LOG_LEVEL: 'info',
    ...(databaseUrl === undefined ? {} : { BUCKETBELL_DATABASE_URL: databaseUrl }),
    ...options.env,
  };
  delete env['BUCKETBELL_CONFIG'];
  const child = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--data-dir',
      dataDir,
      '--address',
      '127.0.0.1:0',
      '--admin-address',
      '127.0.0.1:0',
      ...(options.args ?? []),
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const ready = new Promise<{ s3Port: number; adminPort: number }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      output += `${line}\n`;
      if (!line.startsWith('{')) return;
      const entry = JSON.parse(line) as { msg?: string; s3Port?: number; adminPort?: number };
      if (
        entry.msg === 'bucketbell is serving' &&
        entry.s3Port !== undefined &&
        entry.adminPort !== undefined
      ) {
        resolve({ s3Port: entry.s3Port, adminPort: entry.adminPort });
      }
    });
    child.once('exit', (code) => {
      reject(new Error(`bucketbell exited with ${code} before serving:\n${output}`));
    });
  });
  let ports: { s3Port: number; adminPort: number };
  try {
    ports = await ready;
  } catch (err) {
    // A server that never served leaves nothing behind: its schema (and data folder) go now.
    await dropSchema?.();
    if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  const s3Url = `http://127.0.0.1:${ports.s3Port}`;
  const clients: S3Client[] = [];
  const server: TestServer = {
    s3Url,
    adminUrl: `http://127.0.0.1:${ports.adminPort}`,
    dataDir,
    databaseUrl,
    child,
    output: () => output,
    client: (credentials = { accessKeyId: ROOT_USER, secretAccessKey: ROOT_PASSWORD }) => {
      const client = new S3Client({
        endpoint: s3Url,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials,
        maxAttempts: 1,
      });
      clients.push(client);
      return client;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      for (const c of clients) c.destroy();
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      for (const c of clients) c.destroy();
    },
    cleanup: async () => {
      await server.stop();
      if (options.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
      await dropSchema?.();
    },
  };
  return server;
}
