import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Fails (never skips) when a third-party client is not installed: the end-to-end suite requires it,
 * and `scripts/install-test-tools.sh` (part of the README's test command) installs it.
 */
export async function requireTool(executable: string, debianPackage: string): Promise<void> {
  try {
    await access(executable, constants.X_OK);
  } catch {
    throw new Error(
      `${executable} is not installed; these tests need it. Install it with \`apt-get install ${debianPackage}\` (scripts/install-test-tools.sh does).`,
    );
  }
}

/**
 * The environment for a client process: ours without any AWS_* or S3-client settings inherited from
 * the machine, plus `overrides`, so that no user configuration can change what the test sees.
 */
export function isolatedEnv(overrides: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name.startsWith('AWS_') || name.startsWith('RCLONE_')) continue;
    env[name] = value;
  }
  return { ...env, ...overrides };
}

/** Runs a command to completion and collects its output; never throws on a non-zero exit. */
export function runCli(
  executable: string,
  args: readonly string[],
  options: { readonly env: Readonly<Record<string, string>>; readonly cwd?: string },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(executable, args, {
      env: options.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

/** A readable account of a run for assertion messages. */
export function describeRun(command: string, args: readonly string[], result: CliResult): string {
  return `${command} ${args.join(' ')} exited with ${String(result.code)}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}
