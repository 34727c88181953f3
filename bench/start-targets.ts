// Starts bucketbell and s3rver as child processes on free loopback ports, the same way.
// Each child's stdout and stderr go to a log file in its temporary folder, so the benchmark
// process spends nothing reading them; the ready line is found by polling that file.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TargetName } from './config.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BUCKETBELL_BIN = path.join(ROOT, 'bin', 'bucketbell.js');
const S3RVER_CHILD = path.join(import.meta.dirname, 's3rver-child.ts');
const NULL_CHILD = path.join(import.meta.dirname, 'null-server-child.ts');
const START_TIMEOUT_MS = 60_000;

export const BUCKETBELL_USER = 'benchroot';
export const BUCKETBELL_SECRET = 'benchroot-secret';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface Target {
  readonly name: TargetName;
  readonly endpoint: string;
  readonly credentials: Credentials;
  readonly pid: number;
  readonly dataDir: string;
  readonly logPath: string;
  /** Whether the process is still running. */
  alive(): boolean;
  /** Everything the server printed so far. */
  log(): Promise<string>;
  /** SIGTERM (SIGKILL after 10 s), then remove the data folder unless `keepData`. */
  stop(keepData: boolean): Promise<void>;
}

interface ReadyLine {
  readonly msg?: unknown;
  readonly s3Port?: unknown;
  readonly adminPort?: unknown;
}

function exitedPromise(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
}

async function waitForReady(
  child: ChildProcess,
  logPath: string,
  readyMsg: string,
): Promise<{ s3Port: number; adminPort: number | undefined }> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const text = await readFile(logPath, 'utf8');
    for (const line of text.split('\n')) {
      if (!line.startsWith('{')) continue;
      let entry: ReadyLine;
      try {
        entry = JSON.parse(line) as ReadyLine;
      } catch {
        continue;
      }
      if (entry.msg === readyMsg && typeof entry.s3Port === 'number') {
        return {
          s3Port: entry.s3Port,
          adminPort: typeof entry.adminPort === 'number' ? entry.adminPort : undefined,
        };
      }
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `exited (${child.exitCode ?? child.signalCode}) before serving; its output:\n${text.slice(-4000)}`,
      );
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`did not print "${readyMsg}" within ${START_TIMEOUT_MS / 1000} s`);
}

async function waitForHealth(url: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.status === 200) return;
      last = `status ${response.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`${url} not healthy within ${START_TIMEOUT_MS / 1000} s (${last})`);
}

async function startChild(
  name: TargetName,
  args: (dataDir: string) => readonly string[],
  env: NodeJS.ProcessEnv,
  readyMsg: string,
  credentials: Credentials,
): Promise<Target> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `bench-${name}-`));
  const logPath = path.join(tmpdir(), `${path.basename(dataDir)}.log`);
  const logFd = openSync(logPath, 'a');
  const child = spawn(process.execPath, args(dataDir), { env, stdio: ['ignore', logFd, logFd], cwd: ROOT });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: spawn failed`);
  const exited = exitedPromise(child);
  const removeFiles = async (): Promise<void> => {
    await rm(dataDir, { recursive: true, force: true });
    await rm(logPath, { force: true });
  };
  let ports: { s3Port: number; adminPort: number | undefined };
  try {
    ports = await waitForReady(child, logPath, readyMsg);
    if (ports.adminPort !== undefined) await waitForHealth(`http://127.0.0.1:${ports.adminPort}/healthz`);
  } catch (err) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await removeFiles();
    throw new Error(`${name}: ${(err as Error).message}`, { cause: err });
  }
  return {
    name,
    endpoint: `http://127.0.0.1:${ports.s3Port}`,
    credentials,
    pid,
    dataDir,
    logPath,
    alive: () => child.exitCode === null && child.signalCode === null,
    log: () => readFile(logPath, 'utf8').catch(() => ''),
    stop: async (keepData) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (!keepData) await removeFiles();
    },
  };
}

/** `node bin/bucketbell.js serve --data-dir <tmp> --address 127.0.0.1:0 --admin-address 127.0.0.1:0` */
export function startBucketbell(profileDir?: string): Promise<Target> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BUCKETBELL_ROOT_USER: BUCKETBELL_USER,
    BUCKETBELL_ROOT_PASSWORD: BUCKETBELL_SECRET,
  };
  // Default settings: no config file, default log level (info, needed for the ready line).
  delete env['BUCKETBELL_CONFIG'];
  delete env['BUCKETBELL_LOG_LEVEL'];
  delete env['BUCKETBELL_DATABASE_URL'];
  return startChild(
    'bucketbell',
    (dataDir) => [
      ...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]),
      BUCKETBELL_BIN,
      'serve',
      '--data-dir',
      dataDir,
      '--address',
      '127.0.0.1:0',
      '--admin-address',
      '127.0.0.1:0',
    ],
    env,
    'bucketbell is serving',
    { accessKeyId: BUCKETBELL_USER, secretAccessKey: BUCKETBELL_SECRET },
  );
}

/** `node bench/s3rver-child.ts <tmp>`: s3rver 3.x, which accepts its default S3RVER/S3RVER keys. */
export function startS3rver(): Promise<Target> {
  return startChild('s3rver', (dataDir) => [S3RVER_CHILD, dataDir], { ...process.env }, 's3rver is serving', {
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
  });
}

/** `node bench/null-server-child.ts`: answers without storing anything durable or checking signatures. */
export function startCeiling(): Promise<Target> {
  return startChild('ceiling', () => [NULL_CHILD], { ...process.env }, 'null server is serving', {
    accessKeyId: 'ceiling',
    secretAccessKey: 'ceiling',
  });
}

/** `profileDir`: run bucketbell with `--cpu-prof` and write its profile there on exit. */
export function startTarget(name: TargetName, profileDir?: string): Promise<Target> {
  switch (name) {
    case 'bucketbell':
      return startBucketbell(profileDir);
    case 's3rver':
      return startS3rver();
    case 'ceiling':
      return startCeiling();
  }
}
