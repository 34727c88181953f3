// `npm run bench`: bucketbell against s3rver, same client, same run, then the notification suite
// (bench/notifications.ts). See bench/README.md.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as prettier from 'prettier';
import { loadConfig, type BenchConfig, type TargetName } from './config.ts';
import {
  loadNotificationConfig,
  renderNotificationMarkdown,
  runNotificationSuite,
  type NotificationReport,
} from './notifications.ts';
import { statusKiB } from './proc-stats.ts';
import {
  cellCpuRatio,
  cellRatio,
  renderMarkdown,
  summarize,
  toTargetCell,
  type Cell,
  type Report,
  type TargetInfo,
  type Unit,
} from './report.ts';
import { startTarget, type Target } from './start-targets.ts';
import {
  createBucket,
  deleteKeys,
  getOp,
  getReturnsChecksum,
  makeClient,
  putKeys,
  putOp,
  runWorkers,
  type Op,
  type Stop,
} from './workload.ts';
import type { S3Client } from '@aws-sdk/client-s3';

const config = loadConfig(process.env);
/** BENCH_SUITES: which suites run (default both); a suite left out keeps its figures in the JSON file. */
const suites = new Set(
  (process.env['BENCH_SUITES'] ?? 'storage,notifications').split(',').map((part) => {
    const name = part.trim();
    if (name !== 'storage' && name !== 'notifications')
      throw new Error(`BENCH_SUITES: unknown suite "${name}" (storage, notifications)`);
    return name;
  }),
);
const notificationConfig = loadNotificationConfig(process.env);
const startedAt = new Date().toISOString();
const progress = (line: string): void => void process.stderr.write(`${line}\n`);

function sizeLabel(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}

function describeConfig(c: BenchConfig): string {
  return (
    `small ${sizeLabel(c.smallSizeBytes)} x ${c.seconds} s per cell (+${c.warmupSeconds} s warm-up) ` +
    `at concurrency ${c.smallConcurrency.join(',') || 'none'}; large ${sizeLabel(c.largeSizeBytes)} x ` +
    `${c.largeCount} per worker at concurrency ${c.largeConcurrency.join(',') || 'none'}; checksums ${c.checksums}`
  );
}

const targets: Target[] = [];
const infos: Partial<Record<TargetName, TargetInfo>> = {};
const cells: Cell[] = [];

async function stopAll(): Promise<void> {
  await Promise.all(targets.map((t) => t.stop(config.keepData)));
}

process.once('SIGINT', () => {
  progress('interrupted; stopping servers');
  void stopAll().finally(() => process.exit(130));
});

async function main(): Promise<void> {
  if (!suites.has('storage')) return;
  progress(`bucketbell benchmark: ${describeConfig(config)}`);
  progress(
    `machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}`,
  );

  for (const name of config.targets) {
    try {
      const target = await startTarget(name, config.profileDir);
      targets.push(target);
      infos[name] = { started: true };
      progress(`${name}: pid ${target.pid}, S3 at ${target.endpoint}`);
    } catch (err) {
      const message = (err as Error).message;
      infos[name] = { started: false, startError: message };
      progress(`${name}: failed to start: ${message}`);
    }
  }
  if (targets.length === 0) throw new Error('no target started');

  const smallBody = randomBytes(config.smallSizeBytes);
  const getKey = (i: number): string => `small/get/${i}`;
  const getKeys = Array.from({ length: config.getKeys }, (_, i) => getKey(i));

  // Setup, unmeasured: the bucket and the objects the small GET cells read.
  const usable: Target[] = [];
  for (const target of targets) {
    const client = makeClient(target, 8, config.checksums);
    try {
      await createBucket(client.s3);
      await putKeys(client.s3, smallBody, getKeys, 8);
      const checksum = await getReturnsChecksum(client.s3, getKey(0));
      infos[target.name] = { ...infos[target.name], started: true, getReturnsChecksum: checksum };
      usable.push(target);
    } catch (err) {
      const message = `setup failed: ${(err as Error).name}: ${(err as Error).message}`;
      infos[target.name] = { ...infos[target.name], started: true, startError: message };
      progress(`${target.name}: ${message}`);
    } finally {
      client.destroy();
    }
  }

  const measure = async (
    cell: Cell,
    stop: Stop,
    warmup: Stop | undefined,
    makeOp: (s3: S3Client, phase: 'warmup' | 'measure') => Op,
  ): Promise<void> => {
    for (const target of usable) {
      if (!target.alive()) {
        infos[target.name] = { ...infos[target.name], started: true, diedDuringRun: true };
        continue;
      }
      const client = makeClient(target, cell.concurrency, config.checksums);
      try {
        if (warmup !== undefined) await runWorkers(cell.concurrency, warmup, makeOp(client.s3, 'warmup'));
        const run = await runWorkers(cell.concurrency, stop, makeOp(client.s3, 'measure'), target.pid);
        const result = toTargetCell(run, cell.unit);
        cell.results[target.name] = result;
        const errors = result.errors > 0 ? `, ${result.errors} errors (${result.errorSamples[0]})` : '';
        progress(
          `  ${cell.workload} c=${cell.concurrency} ${target.name}: ${result.value.toFixed(1)} ${cell.unit}` +
            ` p50 ${result.p50Ms?.toFixed(2) ?? '-'} ms p99 ${result.p99Ms?.toFixed(2) ?? '-'} ms${errors}`,
        );
      } finally {
        client.destroy();
      }
      await sleep(250);
    }
    cell.ratio = cellRatio(cell);
    cell.cpuRatio = cellCpuRatio(cell);
    cells.push(cell);
  };

  const newCell = (op: 'PUT' | 'GET', size: 'small' | 'large', concurrency: number): Cell => {
    const sizeBytes = size === 'small' ? config.smallSizeBytes : config.largeSizeBytes;
    const unit: Unit = size === 'small' ? 'ops/s' : 'MB/s';
    return {
      workload: `${op} ${sizeLabel(sizeBytes)}`,
      op,
      size,
      sizeBytes,
      concurrency,
      unit,
      results: {},
      ratio: undefined,
      cpuRatio: undefined,
    };
  };

  // Small objects: a fixed time per cell, after a warm-up at the same concurrency.
  const timed: Stop = { seconds: config.seconds };
  const warm: Stop = { seconds: config.warmupSeconds };
  for (const c of config.ops.includes('PUT') ? config.smallConcurrency : []) {
    await measure(newCell('PUT', 'small', c), timed, warm, (s3, phase) =>
      putOp(s3, smallBody, (w, seq) => `small/put-${phase}-c${c}/${w}/${seq}`),
    );
  }
  for (const c of config.ops.includes('GET') ? config.smallConcurrency : []) {
    await measure(newCell('GET', 'small', c), timed, warm, (s3) =>
      getOp(s3, config.smallSizeBytes, (w, seq) => getKey((w * 7919 + seq) % config.getKeys)),
    );
  }

  // Large objects: a fixed count per worker; each GET cell reads what the PUT cell wrote.
  if (config.largeConcurrency.length > 0) {
    const largeBody = randomBytes(config.largeSizeBytes);
    for (const target of usable) {
      // One unmeasured round trip per target so both start the large cells equally warm.
      const client = makeClient(target, 1, config.checksums);
      try {
        await putKeys(client.s3, largeBody, ['large/warmup'], 1);
        await runWorkers(
          1,
          { countPerWorker: 1 },
          getOp(client.s3, config.largeSizeBytes, () => 'large/warmup'),
        );
        await deleteKeys(client.s3, ['large/warmup']);
      } finally {
        client.destroy();
      }
    }
    const count: Stop = { countPerWorker: config.largeCount };
    for (const c of config.largeConcurrency) {
      const key = (w: number, seq: number): string => `large/c${c}/${w}/${seq}`;
      await measure(newCell('PUT', 'large', c), count, undefined, (s3) => putOp(s3, largeBody, key));
      await measure(newCell('GET', 'large', c), count, undefined, (s3) =>
        getOp(s3, config.largeSizeBytes, key),
      );
      const written = Array.from({ length: c * config.largeCount }, (_, i) =>
        key(Math.floor(i / config.largeCount), i % config.largeCount),
      );
      for (const target of usable) {
        if (!target.alive()) continue;
        const client = makeClient(target, 1, config.checksums);
        try {
          await deleteKeys(client.s3, written);
        } catch (err) {
          progress(`${target.name}: cleanup of large objects failed: ${(err as Error).message}`);
        } finally {
          client.destroy();
        }
      }
    }
  }
}

/** Warning and error lines from a server's log (pino levels 40 and up, or plain text mentioning them). */
function problemLines(log: string): { warnings: string[]; lines: number } {
  const warnings: string[] = [];
  const all = log.split('\n').filter((l) => l.trim() !== '');
  for (const line of all) {
    let problem: boolean;
    if (line.startsWith('{')) {
      try {
        const entry = JSON.parse(line) as { level?: unknown };
        problem =
          typeof entry.level === 'number' ? entry.level >= 40 : /warn|error|fatal/i.test(String(entry.level));
      } catch {
        problem = true;
      }
    } else {
      problem = /error|warn|exception/i.test(line);
    }
    if (problem && warnings.length < 20) warnings.push(line.slice(0, 500));
  }
  return { warnings, lines: all.length };
}

let failure: unknown;
try {
  await main();
} catch (err) {
  failure = err;
} finally {
  for (const target of targets) {
    const hwm = statusKiB(target.pid, 'VmHWM');
    const died = !target.alive();
    const { warnings, lines } = problemLines(await target.log());
    infos[target.name] = {
      ...infos[target.name],
      started: true,
      ...(hwm === undefined ? {} : { peakRssMiB: hwm / 1024 }),
      ...(died ? { diedDuringRun: true } : {}),
      warnings,
      logLines: lines,
    };
  }
  await stopAll();
}

let notifications: NotificationReport | undefined;
if (suites.has('notifications')) {
  try {
    progress('notification suite: P1 webhook cost, P2 delivery rate, P3 latency, receiver ceiling');
    notifications = await runNotificationSuite({
      config: notificationConfig,
      checksums: config.checksums,
      keepData: config.keepData,
      profileDir: config.profileDir,
      progress,
    });
    if (notifications.errors.length > 0) failure ??= new Error(notifications.errors.join('; '));
  } catch (err) {
    failure ??= err;
  }
}

const { outputPath: _outputPath, keepData: _keepData, profileDir, ...reportedConfig } = config;
const report: Report = {
  startedAt,
  finishedAt: new Date().toISOString(),
  machine: {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  },
  config: reportedConfig,
  targets: infos,
  cells,
  summary: summarize(cells),
};
await mkdir(path.dirname(config.outputPath), { recursive: true });
// A suite that did not run keeps the figures the file already has.
const previous: Record<string, unknown> = await readFile(config.outputPath, 'utf8').then(
  (text) => JSON.parse(text) as Record<string, unknown>,
  () => ({}),
);
const output = suites.has('storage')
  ? { ...report, notifications: notifications ?? previous['notifications'] }
  : { ...previous, notifications };
// Formatted the way `prettier --check .` (npm run lint) expects, so a fresh result file passes lint.
const prettierOptions = (await prettier.resolveConfig(config.outputPath)) ?? {};
await writeFile(
  config.outputPath,
  await prettier.format(JSON.stringify(output), { ...prettierOptions, parser: 'json' }),
);
const tables = [
  ...(suites.has('storage') ? [renderMarkdown(report)] : []),
  ...(notifications === undefined ? [] : [renderNotificationMarkdown(notifications)]),
];
process.stdout.write(
  `\n${tables.join('\n\n')}\n\nJSON: ${path.relative(process.cwd(), config.outputPath)}\n`,
);
if (profileDir !== undefined) progress(`bucketbell CPU profile written to ${profileDir}`);
if (failure !== undefined) {
  progress(
    `benchmark failed: ${failure instanceof Error ? (failure.stack ?? failure.message) : JSON.stringify(failure)}`,
  );
  process.exitCode = 1;
}
