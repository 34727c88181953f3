import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, it, mock } from 'node:test';
import { COMMANDS, main } from '../src/cli/main.ts';
import { CONFIG_KEYS } from '../src/config/config.ts';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const bin = path.join(root, 'bin/bucketbell.js');

/** Runs the CLI's entry point in this process: its exit code and what it printed. */
async function mainOutput(
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = mock.method(
    process.stdout,
    'write',
    (chunk: string | Uint8Array) => ((stdout += String(chunk)), true),
  );
  const err = mock.method(
    process.stderr,
    'write',
    (chunk: string | Uint8Array) => ((stderr += String(chunk)), true),
  );
  try {
    const code = await main(args, {});
    return { code, stdout, stderr };
  } finally {
    out.mock.restore();
    err.mock.restore();
  }
}

describe('documentation stays true', () => {
  it('README lists every setting with its environment variable and default', async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    for (const key of CONFIG_KEYS) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${key.key}\` |`));
      assert.ok(row, `README has a row for ${key.key}`);
      assert.ok(row.includes(key.env), `README row of ${key.key} names ${key.env}`);
    }
  });

  it('`bucketbell serve --help` lists every setting and flag', async () => {
    const { stdout } = await run(process.execPath, [bin, 'serve', '--help']);
    for (const key of CONFIG_KEYS) assert.ok(stdout.includes(key.env), `--help mentions ${key.env}`);
    for (const flag of ['--data-dir', '--address', '--admin-address', '--config'])
      assert.ok(stdout.includes(flag), flag);
  });

  it('`bucketbell --help` lists every command of the registry with its subcommands', async () => {
    const { stdout } = await run(process.execPath, [bin, '--help']);
    assert.deepEqual(Object.keys(COMMANDS).sort(), [
      'deliveries',
      'help',
      'key',
      'serve',
      'user',
      'version',
      'webhook',
    ]);
    for (const [name, command] of Object.entries(COMMANDS)) {
      const line = stdout.split('\n').find((l) => new RegExp(`^\\s+${name}\\s`).test(l));
      assert.ok(line, `--help lists ${name}`);
      for (const sub of Object.keys(command.subcommands ?? {}))
        assert.match(line, new RegExp(`[ (]${sub}[,)]`), `--help lists ${name} ${sub}`);
    }
    for (const [name, subs] of Object.entries({
      webhook: ['add', 'ls', 'show', 'update', 'rm', 'pause', 'resume', 'rotate-secret', 'ping'],
      deliveries: ['ls', 'show', 'resend', 'enable'],
      user: ['add', 'ls', 'show', 'disable', 'enable', 'rm'],
      key: ['add', 'ls', 'rm'],
    })) {
      for (const sub of subs) assert.ok(COMMANDS[name]?.subcommands?.[sub], `${name} ${sub} is registered`);
    }
  });

  it('`bucketbell <command> --help` exits 0 with its usage, for every command', async () => {
    const commands = Object.entries(COMMANDS);
    // Two at a time: every one is a fresh process.
    for (let i = 0; i < commands.length; i += 2) {
      await Promise.all(
        commands.slice(i, i + 2).map(async ([name, command]) => {
          const { stdout, stderr } = await run(process.execPath, [bin, name, '--help']);
          assert.ok(stdout.startsWith(`Usage: bucketbell ${name}`), `bucketbell ${name} --help:\n${stdout}`);
          assert.equal(stderr, '');
          for (const sub of Object.keys(command.subcommands ?? {}))
            assert.match(stdout, new RegExp(`^\\s+(?:.*\\| )?${sub}\\b`, 'm'), `${name} --help lists ${sub}`);
        }),
      );
    }
    const version = await run(process.execPath, [bin, 'version']);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it('`bucketbell <command> <subcommand> --help` (and -h, and `help <command> <subcommand>`) exits 0 with its usage', async () => {
    // In this process (what the binary runs, returning its exit code): one process each would take minutes.
    let checked = 0;
    for (const [name, command] of Object.entries(COMMANDS)) {
      for (const [sub, spec] of Object.entries(command.subcommands ?? {})) {
        for (const args of [
          [name, sub, '--help'],
          [name, sub, '-h'],
          [name, sub, 'SOME-ID', '--help'],
          ['help', name, sub],
        ]) {
          const { code, stdout, stderr } = await mainOutput(args);
          assert.equal(code, 0, `bucketbell ${args.join(' ')}`);
          assert.ok(stdout.startsWith(`Usage: ${spec.usage}\n`), `bucketbell ${args.join(' ')}:\n${stdout}`);
          assert.match(stdout, /--access-key/, 'with the connection flags');
          assert.equal(stderr, '');
          checked += 1;
        }
      }
    }
    assert.ok(checked >= 4 * 24, `${checked} subcommand helps`);
  });

  it('unknown commands and stray arguments fail with usage and exit code 2', async () => {
    await assert.rejects(
      run(process.execPath, [bin, 'frobnicate']),
      (err: { code?: number; stderr?: string }) => {
        assert.equal(err.code, 2);
        assert.match(err.stderr ?? '', /unknown command 'frobnicate'/);
        return true;
      },
    );
    for (const args of [
      ['help', 'frobnicate'],
      ['version', 'extra'],
      ['webhook', 'frobnicate'],
      ['webhook'],
    ]) {
      await assert.rejects(
        run(process.execPath, [bin, ...args]),
        (err: { code?: number; stderr?: string }) => {
          assert.equal(err.code, 2, args.join(' '));
          assert.match(err.stderr ?? '', /Usage: bucketbell/, args.join(' '));
          return true;
        },
      );
    }
  });

  it('`bucketbell serve` refuses bad settings with a clear message and exit code 2', async () => {
    await assert.rejects(
      run(process.execPath, [bin, 'serve', '--address', 'nonsense']),
      (err: { code?: number; stderr?: string }) => {
        assert.equal(err.code, 2);
        assert.match(err.stderr ?? '', /address: "nonsense" is not HOST:PORT/);
        return true;
      },
    );
    await assert.rejects(
      run(process.execPath, [bin, 'serve', '--bogus']),
      (err: { code?: number; stderr?: string }) => {
        assert.equal(err.code, 2);
        assert.match(err.stderr ?? '', /bogus/);
        return true;
      },
    );
    await assert.rejects(
      run(process.execPath, [bin, 'serve'], {
        env: { ...process.env, BUCKETBELL_DELIVERY_RETENTION: 'forever' },
      }),
      (err: { code?: number; stderr?: string }) => {
        assert.equal(err.code, 2);
        assert.match(err.stderr ?? '', /delivery_retention: "forever" is not a duration/);
        return true;
      },
    );
  });
});
