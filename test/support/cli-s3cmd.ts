import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describeRun, isolatedEnv, requireTool, runCli, type CliResult } from './cli-run.ts';
import { ROOT_PASSWORD, ROOT_USER } from './test-server.ts';

export const S3CMD = '/usr/bin/s3cmd';

export interface S3cmd {
  /** Runs `s3cmd -c <temp file> ...args`; the result may be a failure. */
  run(args: readonly string[]): Promise<CliResult>;
  /** Runs and asserts exit code 0; returns stdout. */
  ok(args: readonly string[]): Promise<string>;
}

/** s3cmd for the test server (path style, Signature V4, plain HTTP), from a config file in `dir` only. */
export async function s3cmdFor(s3Url: string, dir: string): Promise<S3cmd> {
  await requireTool(S3CMD, 's3cmd');
  const { host } = new URL(s3Url);
  await mkdir(dir, { recursive: true });
  const configFile = path.join(dir, 's3cfg');
  await writeFile(
    configFile,
    [
      '[default]',
      `access_key = ${ROOT_USER}`,
      `secret_key = ${ROOT_PASSWORD}`,
      `host_base = ${host}`,
      `host_bucket = ${host}`,
      'bucket_location = us-east-1',
      'use_https = False',
      'signature_v2 = False',
      'check_ssl_certificate = False',
      'guess_mime_type = False',
      'progress_meter = False',
      '',
    ].join('\n'),
  );
  const env = isolatedEnv({ HOME: dir });
  const run = (args: readonly string[]) => runCli(S3CMD, ['-c', configFile, ...args], { env });
  return {
    run,
    ok: async (args) => {
      const result = await run(args);
      assert.equal(result.code, 0, describeRun('s3cmd', args, result));
      return result.stdout;
    },
  };
}
