import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT_PASSWORD, ROOT_USER } from './test-server.ts';

const run = promisify(execFile);

/** The `bucketbell` command of this checkout. */
export const BUCKETBELL_BIN = path.resolve(import.meta.dirname, '../../bin/bucketbell.js');

/**
 * Runs `bucketbell ARGS…` against the server's admin API as root (through BUCKETBELL_ENDPOINT,
 * BUCKETBELL_ACCESS_KEY and BUCKETBELL_SECRET_KEY); a non-zero exit rejects, with `code`, `stdout`
 * and `stderr` on the error.
 */
export function rootCli(server: {
  readonly adminUrl: string;
}): (...args: string[]) => Promise<{ stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    BUCKETBELL_ENDPOINT: server.adminUrl,
    BUCKETBELL_ACCESS_KEY: ROOT_USER,
    BUCKETBELL_SECRET_KEY: ROOT_PASSWORD,
  };
  return (...args) => run(process.execPath, [BUCKETBELL_BIN, ...args], { env });
}
