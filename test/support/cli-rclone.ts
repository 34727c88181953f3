import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeRun, isolatedEnv, requireTool, runCli, type CliResult } from './cli-run.ts';
import { ROOT_PASSWORD, ROOT_USER } from './test-server.ts';

export const RCLONE = '/usr/bin/rclone';
/** The name of the rclone remote that points at the test server: `bb:bucket/key`. */
export const RCLONE_REMOTE = 'bb';

export interface Rclone {
  /** Runs `rclone --config <temp file> ...args`; the result may be a failure. */
  run(args: readonly string[]): Promise<CliResult>;
  /** Runs and asserts exit code 0; returns the result (rclone logs to stderr). */
  ok(args: readonly string[]): Promise<CliResult>;
}

/** rclone with one S3 remote (`bb:`) for the test server, from a config file in `dir` only. */
export async function rcloneFor(s3Url: string, dir: string): Promise<Rclone> {
  await requireTool(RCLONE, 'rclone');
  await mkdir(dir, { recursive: true });
  const configFile = path.join(dir, 'rclone.conf');
  await writeFile(
    configFile,
    [
      `[${RCLONE_REMOTE}]`,
      'type = s3',
      'provider = Other',
      'env_auth = false',
      `access_key_id = ${ROOT_USER}`,
      `secret_access_key = ${ROOT_PASSWORD}`,
      `endpoint = ${s3Url}`,
      'region = us-east-1',
      'force_path_style = true',
      'v2_auth = false',
      '',
    ].join('\n'),
  );
  const env = isolatedEnv({ HOME: dir, XDG_CONFIG_HOME: dir, XDG_CACHE_HOME: dir });
  const run = (args: readonly string[]) =>
    runCli(RCLONE, ['--config', configFile, '--retries', '1', '--low-level-retries', '1', ...args], { env });
  return {
    run,
    ok: async (args) => {
      const result = await run(args);
      assert.equal(result.code, 0, describeRun('rclone', args, result));
      return result;
    },
  };
}
