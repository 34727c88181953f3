// `bucketbell serve` as a new user starts it: without root credentials (generated at first start,
// printed once, kept across restarts), configured from the environment and a YAML file, with
// `/healthz` on the admin address. Settings precedence: flag > environment > YAML file > default.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { expectS3Error } from './support/s3-errors.ts';
import { TEST_DB } from './support/test-database.ts';
import { persistentStorage, type PersistentStorage } from './support/test-server.ts';
import { INLINE_MAX_BYTES } from '../src/mutations/object-bytes.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/bucketbell.js');
const GENERATED_BANNER = 'Root credentials were generated';

interface Served {
  readonly child: ChildProcess;
  /** `HOST:PORT` as the server reports them in its 'bucketbell is serving' line. */
  readonly s3: string;
  readonly admin: string;
  readonly s3Url: string;
  readonly adminUrl: string;
  readonly dataDir: string;
  readonly output: () => string;
  /** SIGTERM, and the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts the real binary with exactly these arguments and this environment (plus PATH and friends,
 * never an inherited BUCKETBELL_* setting), in `cwd`, and waits until it serves.
 */
async function serve(
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  cwd: string,
): Promise<Served> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] => !entry[0].startsWith('BUCKETBELL_') && entry[1] !== undefined,
    ),
  );
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    cwd,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      resolve(code);
    }),
  );
  const ready = new Promise<{
    s3: string;
    admin: string;
    s3Port: number;
    adminPort: number;
    dataDir: string;
  }>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += `${line}\n`;
      if (!line.startsWith('{')) return;
      const entry = JSON.parse(line) as {
        msg?: string;
        s3?: string;
        admin?: string;
        s3Port?: number;
        adminPort?: number;
        dataDir?: string;
      };
      if (entry.msg !== 'bucketbell is serving') return;
      const { s3, admin, s3Port, adminPort, dataDir } = entry;
      if (s3 === undefined || admin === undefined || s3Port === undefined || adminPort === undefined) return;
      if (dataDir === undefined) return;
      resolve({ s3, admin, s3Port, adminPort, dataDir });
    });
    void exited.then((code) => {
      reject(new Error(`bucketbell exited with ${code} before serving:\n${output}`));
    });
  });
  const serving = await ready;
  const host = (address: string) => address.slice(0, address.lastIndexOf(':'));
  return {
    child,
    s3: serving.s3,
    admin: serving.admin,
    s3Url: `http://${host(serving.s3)}:${serving.s3Port}`,
    adminUrl: `http://${host(serving.admin)}:${serving.adminPort}`,
    dataDir: serving.dataDir,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

function s3Client(url: string, accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
}

/** The database setting for the suite's database (SQLite needs none: it lives in the data folder). */
function databaseEnv(storage: PersistentStorage): Record<string, string> {
  return storage.databaseUrl === undefined ? {} : { BUCKETBELL_DATABASE_URL: storage.databaseUrl };
}

const occurrences = (text: string, part: string): number => text.split(part).length - 1;

describe('without BUCKETBELL_ROOT_USER / BUCKETBELL_ROOT_PASSWORD', () => {
  let storage: PersistentStorage;
  let cwd: string;
  const running: Served[] = [];
  const clients: S3Client[] = [];

  before(async () => {
    storage = await persistentStorage();
    cwd = await mkdtemp(path.join(tmpdir(), 'bucketbell-cwd-'));
  });
  after(async () => {
    for (const c of clients) c.destroy();
    for (const s of running) await s.stop();
    await storage.remove();
    await rm(cwd, { recursive: true, force: true });
  });

  const start = async (): Promise<Served> => {
    const served = await serve(
      ['--data-dir', storage.dataDir, '--address', '127.0.0.1:0', '--admin-address', '127.0.0.1:0'],
      databaseEnv(storage),
      cwd,
    );
    running.push(served);
    return served;
  };

  it('generates root credentials at first start, prints them once, and they work; a restart keeps them unprinted', async () => {
    const first = await start();
    const printed = /Access key: (\S+)\n\s*Secret key: (\S+)\n/.exec(first.output());
    assert.ok(printed !== null, `the credentials are printed:\n${first.output()}`);
    const [, accessKeyId = '', secretKey = ''] = printed;
    assert.match(accessKeyId, /^[A-Z0-9]{20}$/);
    assert.ok(secretKey.length >= 32, 'a long random secret');
    assert.equal(occurrences(first.output(), GENERATED_BANNER), 1);
    assert.equal(occurrences(first.output(), secretKey), 1, 'the secret is printed once and never logged');

    const s3 = s3Client(first.s3Url, accessKeyId, secretKey);
    clients.push(s3);
    await s3.send(new CreateBucketCommand({ Bucket: 'first-start' }));
    await s3.send(new PutObjectCommand({ Bucket: 'first-start', Key: 'hello.txt', Body: 'kept' }));
    const buckets = await s3.send(new ListBucketsCommand({}));
    assert.deepEqual(
      buckets.Buckets?.map((b) => b.Name),
      ['first-start'],
    );
    // One character off (never the same one: a secret ending in "x" made this test pass the right key).
    const wrongSecret = `${secretKey.slice(0, -1)}${secretKey.endsWith('x') ? 'y' : 'x'}`;
    const wrong = s3Client(first.s3Url, accessKeyId, wrongSecret);
    clients.push(wrong);
    await expectS3Error(wrong.send(new ListBucketsCommand({})), 'SignatureDoesNotMatch', 403);
    const keyFile = await stat(path.join(storage.dataDir, 'master.key'));
    assert.equal(keyFile.mode & 0o777, 0o600, 'the generated master key is owner-only');
    assert.equal(await first.stop(), 0, 'SIGTERM stops it cleanly');

    const second = await start();
    assert.equal(occurrences(second.output(), GENERATED_BANNER), 0, 'nothing is generated again');
    assert.equal(occurrences(second.output(), secretKey), 0, 'the secret is not printed again');
    const again = s3Client(second.s3Url, accessKeyId, secretKey);
    clients.push(again);
    const got = await again.send(new GetObjectCommand({ Bucket: 'first-start', Key: 'hello.txt' }));
    assert.equal(await got.Body?.transformToString(), 'kept');
    assert.equal(await second.stop(), 0);
  });
});

describe('settings from the environment', () => {
  let storage: PersistentStorage;
  let cwd: string;
  let served: Served;

  before(async () => {
    storage = await persistentStorage();
    cwd = await mkdtemp(path.join(tmpdir(), 'bucketbell-cwd-'));
    // No flags at all: everything comes from the environment.
    served = await serve(
      [],
      {
        BUCKETBELL_DATA_DIR: storage.dataDir,
        BUCKETBELL_ADDRESS: '127.0.0.2:0',
        BUCKETBELL_ADMIN_ADDRESS: '127.0.0.3:0',
        BUCKETBELL_ROOT_USER: 'env-root',
        BUCKETBELL_ROOT_PASSWORD: 'env-root-secret',
        ...databaseEnv(storage),
      },
      cwd,
    );
  });
  after(async () => {
    await served.stop();
    await storage.remove();
    await rm(cwd, { recursive: true, force: true });
  });

  it('listens where BUCKETBELL_ADDRESS and BUCKETBELL_ADMIN_ADDRESS say', async () => {
    assert.match(served.s3, /^127\.0\.0\.2:\d+$/);
    assert.match(served.admin, /^127\.0\.0\.3:\d+$/);
    const s3 = s3Client(served.s3Url, 'env-root', 'env-root-secret');
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'from-env' }));
      // Larger than INLINE_MAX_BYTES, so that it is stored as a blob file under the data folder.
      await s3.send(
        new PutObjectCommand({ Bucket: 'from-env', Key: 'k', Body: Buffer.alloc(INLINE_MAX_BYTES + 1, 'v') }),
      );
    } finally {
      s3.destroy();
    }
  });

  it('keeps its data where BUCKETBELL_DATA_DIR says, and nothing in the working folder', async () => {
    assert.equal(served.dataDir, storage.dataDir);
    const entries = await readdir(storage.dataDir);
    assert.ok(entries.includes('master.key'), entries.join(', '));
    assert.ok(entries.includes('blobs'), entries.join(', '));
    if (TEST_DB === 'sqlite') assert.ok(entries.includes('bucketbell.db'), entries.join(', '));
    assert.deepEqual(await readdir(cwd), []);
  });

  it('GET /healthz on the admin address answers 200 with the status of the database and workers', async () => {
    const res = await fetch(`${served.adminUrl}/healthz`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await res.json()) as {
      status: string;
      version: string;
      database: string;
      workers: { name: string; state: string }[];
    };
    assert.equal(body.status, 'ok');
    assert.equal(body.database, TEST_DB);
    assert.match(body.version, /^\d+\.\d+\.\d+/);
    assert.deepEqual(
      body.workers.map((w) => [w.name, w.state]),
      [
        ['delivery-dispatcher', 'running'],
        // PostgreSQL: other instances' commits wake this one through LISTEN; SQLite has one process.
        ['wake-listener', TEST_DB === 'postgres' ? 'listening' : 'in-process'],
      ],
    );
    // The S3 port does not answer it as a health check.
    const onS3 = await fetch(`${served.s3Url}/healthz`);
    assert.notEqual(onS3.status, 200);
  });
});

describe('settings precedence: flag, then environment, then YAML file, then default', () => {
  it('a flag beats the environment, which beats the YAML file, which beats the default', async () => {
    const storage = await persistentStorage();
    const cwd = await mkdtemp(path.join(tmpdir(), 'bucketbell-cwd-'));
    const config = path.join(cwd, 'bucketbell.yaml');
    // data_dir only in the file (with ${ENV} expansion); the addresses in the file, the environment and a flag.
    await writeFile(
      config,
      [
        'data_dir: ${PRECEDENCE_DATA_DIR}',
        'address: 127.0.0.3:0',
        'admin_address: 127.0.0.3:0',
        'root_user: yaml-root',
        'root_password: yaml-root-secret',
        '',
      ].join('\n'),
    );
    let served: Served | undefined;
    try {
      served = await serve(
        ['--address', '127.0.0.1:0'],
        {
          BUCKETBELL_CONFIG: config,
          PRECEDENCE_DATA_DIR: storage.dataDir,
          BUCKETBELL_ADDRESS: '127.0.0.2:0',
          BUCKETBELL_ADMIN_ADDRESS: '127.0.0.2:0',
          BUCKETBELL_ROOT_PASSWORD: 'env-root-secret',
          ...databaseEnv(storage),
        },
        cwd,
      );
      assert.match(served.s3, /^127\.0\.0\.1:\d+$/, '--address beats BUCKETBELL_ADDRESS');
      assert.match(served.admin, /^127\.0\.0\.2:\d+$/, 'BUCKETBELL_ADMIN_ADDRESS beats the file');
      assert.equal(served.dataDir, storage.dataDir, 'the file beats the default ./data');
      assert.ok((await readdir(storage.dataDir)).includes('master.key'));
      assert.deepEqual((await readdir(cwd)).sort(), ['bucketbell.yaml'], 'no ./data was made');
      // root_user from the file, BUCKETBELL_ROOT_PASSWORD from the environment.
      const s3 = s3Client(served.s3Url, 'yaml-root', 'env-root-secret');
      try {
        await s3.send(new ListBucketsCommand({}));
      } finally {
        s3.destroy();
      }
      const health = await fetch(`${served.adminUrl}/healthz`);
      assert.equal(health.status, 200);
    } finally {
      await served?.stop();
      await storage.remove();
      await rm(cwd, { recursive: true, force: true });
    }
  });
});
