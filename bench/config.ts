// Benchmark settings, all overridable from the environment (see bench/README.md).
import path from 'node:path';

/** `ceiling` is a do-nothing server (bench/null-server-child.ts): what the client alone can drive. */
export type TargetName = 'bucketbell' | 's3rver' | 'ceiling';
export const TARGET_NAMES: readonly TargetName[] = ['bucketbell', 's3rver', 'ceiling'];
const DEFAULT_TARGETS: readonly TargetName[] = ['bucketbell', 's3rver'];

/** `default`: the SDK's own checksum behaviour; `when-required`: checksums only where S3 demands them. */
export type ChecksumMode = 'default' | 'when-required';

export interface BenchConfig {
  /** Measured seconds per small-object cell. */
  readonly seconds: number;
  /** Unmeasured seconds before each small-object cell. */
  readonly warmupSeconds: number;
  /** Large objects each worker PUTs (and then GETs) per large cell. */
  readonly largeCount: number;
  readonly smallSizeBytes: number;
  readonly largeSizeBytes: number;
  readonly smallConcurrency: readonly number[];
  readonly largeConcurrency: readonly number[];
  /** How many small objects the GET cells read from (written once per target before measuring). */
  readonly getKeys: number;
  /** Which small-object operations to measure (large GETs need the large PUTs, so those always run). */
  readonly ops: readonly ('PUT' | 'GET')[];
  readonly targets: readonly TargetName[];
  readonly checksums: ChecksumMode;
  readonly outputPath: string;
  readonly keepData: boolean;
  /** Where bucketbell's V8 CPU profile goes (`--cpu-prof-dir`), if profiling. */
  readonly profileDir: string | undefined;
}

const BENCH_DIR = import.meta.dirname;

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
}

function positiveInteger(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = positiveNumber(env, name, fallback);
  if (!Number.isInteger(value)) throw new Error(`${name} must be a whole number, got "${env[name]}"`);
  return value;
}

/** A comma-separated list of concurrency levels; an empty value skips that family of cells. */
function integerList(env: NodeJS.ProcessEnv, name: string, fallback: readonly number[]): readonly number[] {
  const raw = env[name];
  if (raw === undefined) return fallback;
  if (raw.trim() === '') return [];
  return raw.split(',').map((part) => {
    const value = Number(part.trim());
    if (!Number.isInteger(value) || value <= 0)
      throw new Error(`${name}: "${part}" is not a positive integer`);
    return value;
  });
}

function targetList(env: NodeJS.ProcessEnv): readonly TargetName[] {
  const raw = env['BENCH_TARGETS'];
  const ceiling = env['BENCH_CEILING'] !== '0';
  if (raw === undefined || raw.trim() === '')
    return ceiling ? [...DEFAULT_TARGETS, 'ceiling'] : DEFAULT_TARGETS;
  return raw.split(',').map((part) => {
    const name = part.trim();
    const known = TARGET_NAMES.find((t) => t === name);
    if (known === undefined) throw new Error(`BENCH_TARGETS: unknown target "${name}"`);
    return known;
  });
}

function opList(env: NodeJS.ProcessEnv): readonly ('PUT' | 'GET')[] {
  const raw = env['BENCH_OPS'];
  if (raw === undefined || raw.trim() === '') return ['PUT', 'GET'];
  return raw.split(',').map((part) => {
    const op = part.trim().toUpperCase();
    if (op !== 'PUT' && op !== 'GET') throw new Error(`BENCH_OPS: unknown operation "${part}"`);
    return op;
  });
}

function checksumMode(env: NodeJS.ProcessEnv): ChecksumMode {
  const raw = env['BENCH_CHECKSUMS'] ?? 'default';
  if (raw === 'default' || raw === 'when-required') return raw;
  throw new Error(`BENCH_CHECKSUMS must be "default" or "when-required", got "${raw}"`);
}

export function loadConfig(env: NodeJS.ProcessEnv): BenchConfig {
  return {
    seconds: positiveNumber(env, 'BENCH_SECONDS', 5),
    warmupSeconds: positiveNumber(env, 'BENCH_WARMUP_SECONDS', 1),
    largeCount: positiveInteger(env, 'BENCH_LARGE_COUNT', 3),
    smallSizeBytes: positiveInteger(env, 'BENCH_SMALL_KIB', 4) * 1024,
    largeSizeBytes: positiveInteger(env, 'BENCH_LARGE_MIB', 64) * 1024 * 1024,
    smallConcurrency: integerList(env, 'BENCH_SMALL_CONCURRENCY', [1, 8, 32]),
    largeConcurrency: integerList(env, 'BENCH_LARGE_CONCURRENCY', [1, 4]),
    getKeys: positiveInteger(env, 'BENCH_GET_KEYS', 256),
    ops: opList(env),
    targets: targetList(env),
    checksums: checksumMode(env),
    outputPath: path.resolve(env['BENCH_OUTPUT'] ?? path.join(BENCH_DIR, 'results', 'latest.json')),
    keepData: env['BENCH_KEEP_DATA'] === '1',
    profileDir:
      env['BENCH_PROFILE'] === undefined || env['BENCH_PROFILE'] === ''
        ? undefined
        : path.resolve(env['BENCH_PROFILE']),
  };
}
