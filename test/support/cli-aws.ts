import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { describeRun, isolatedEnv, requireTool, runCli, type CliResult } from './cli-run.ts';
import { ROOT_PASSWORD, ROOT_USER } from './test-server.ts';

/** Debian's aws CLI v2. Called by full path: a pyenv aws v1 may come first on PATH. */
export const AWS_CLI = '/usr/bin/aws';

/** Multipart settings the aws CLI is given, so tests know what its uploads look like. */
export const AWS_MULTIPART_CHUNK_BYTES = 8 * 1024 * 1024;

export interface AwsCli {
  /** Runs `aws --endpoint-url <server> ...args`; the result may be a failure. */
  run(args: readonly string[], cwd?: string): Promise<CliResult>;
  /** Runs and asserts exit code 0; returns stdout. */
  ok(args: readonly string[], cwd?: string): Promise<string>;
  /** Runs a command with JSON output, asserts exit code 0 and parses stdout with `schema`. */
  json<T>(args: readonly string[], schema: z.ZodType<T>): Promise<T>;
}

/**
 * An aws CLI configured for one test server, through environment variables and files in `dir` only
 * (never the machine's ~/.aws): root keys, us-east-1, path style, no pager, no instance metadata.
 */
export async function awsCliFor(s3Url: string, dir: string): Promise<AwsCli> {
  await requireTool(AWS_CLI, 'awscli');
  const configFile = path.join(dir, 'aws-config');
  const credentialsFile = path.join(dir, 'aws-credentials');
  await writeFile(
    configFile,
    [
      '[default]',
      'region = us-east-1',
      'output = json',
      's3 =',
      '  addressing_style = path',
      `  multipart_threshold = ${AWS_MULTIPART_CHUNK_BYTES}`,
      `  multipart_chunksize = ${AWS_MULTIPART_CHUNK_BYTES}`,
      '',
    ].join('\n'),
  );
  await writeFile(credentialsFile, '');
  const env = isolatedEnv({
    HOME: dir,
    AWS_ACCESS_KEY_ID: ROOT_USER,
    AWS_SECRET_ACCESS_KEY: ROOT_PASSWORD,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: configFile,
    AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    AWS_MAX_ATTEMPTS: '1',
  });
  const run = (args: readonly string[], cwd?: string) =>
    runCli(AWS_CLI, ['--endpoint-url', s3Url, ...args], cwd === undefined ? { env } : { env, cwd });
  const ok = async (args: readonly string[], cwd?: string) => {
    const result = await run(args, cwd);
    assert.equal(result.code, 0, describeRun('aws', args, result));
    return result.stdout;
  };
  return {
    run,
    ok,
    json: async (args, schema) => {
      const stdout = await ok([...args, '--output', 'json']);
      return schema.parse(stdout.trim() === '' ? {} : JSON.parse(stdout));
    },
  };
}
