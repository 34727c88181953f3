// Turns raw runs into result records and renders them as Markdown.
import type { BenchConfig, TargetName } from './config.ts';
import { percentile, type RawRun } from './workload.ts';

export type Unit = 'ops/s' | 'MB/s';

export interface TargetCell {
  /** ops/s for small objects, MB/s (10^6 bytes per second) for large ones. */
  readonly value: number;
  readonly ops: number;
  readonly bytes: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly elapsedSeconds: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  readonly maxMs: number | undefined;
  readonly serverCpuSeconds: number | undefined;
  /** Server CPU milliseconds per successful op. */
  readonly serverCpuMsPerOp: number | undefined;
  readonly clientCpuSeconds: number;
  /** Client (benchmark process) CPU milliseconds per successful op. */
  readonly clientCpuMsPerOp: number | undefined;
}

export interface Cell {
  readonly workload: string;
  readonly op: 'PUT' | 'GET';
  readonly size: 'small' | 'large';
  readonly sizeBytes: number;
  readonly concurrency: number;
  readonly unit: Unit;
  readonly results: Partial<Record<TargetName, TargetCell>>;
  /** Throughput, bucketbell / s3rver, when both ran without errors. */
  ratio: number | undefined;
  /** Server CPU per op, s3rver / bucketbell: how many times less CPU bucketbell spends per op. */
  cpuRatio: number | undefined;
}

export interface TargetInfo {
  readonly started: boolean;
  readonly startError?: string;
  readonly peakRssMiB?: number;
  /** Whether GetObject returned a stored checksum (so the SDK verified the body by default). */
  readonly getReturnsChecksum?: boolean;
  readonly warnings?: readonly string[];
  readonly logLines?: number;
  readonly diedDuringRun?: boolean;
}

export interface Summary {
  readonly smallRatioMin: number | undefined;
  readonly smallRatioGeomean: number | undefined;
  /** At least GOAL_RATIO in every small-object cell (undefined when a cell has no ratio). */
  readonly goalMet: boolean | undefined;
  readonly smallCpuRatioMin: number | undefined;
  readonly smallCpuRatioGeomean: number | undefined;
  readonly cpuGoalMet: boolean | undefined;
}

export interface Report {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly node: string;
    readonly platform: string;
  };
  readonly config: Omit<BenchConfig, 'outputPath' | 'keepData' | 'profileDir'>;
  readonly targets: Partial<Record<TargetName, TargetInfo>>;
  readonly cells: readonly Cell[];
  readonly summary: Summary;
}

export const GOAL_RATIO = 3;

export function toTargetCell(run: RawRun, unit: Unit): TargetCell {
  const perSecond = run.elapsedSeconds <= 0 ? 0 : 1 / run.elapsedSeconds;
  return {
    value: unit === 'ops/s' ? run.ops * perSecond : (run.bytes / 1e6) * perSecond,
    ops: run.ops,
    bytes: run.bytes,
    errors: run.errors,
    errorSamples: run.errorSamples,
    elapsedSeconds: run.elapsedSeconds,
    p50Ms: percentile(run.latenciesMs, 50),
    p99Ms: percentile(run.latenciesMs, 99),
    maxMs: percentile(run.latenciesMs, 100),
    serverCpuSeconds: run.serverCpuSeconds,
    serverCpuMsPerOp:
      run.serverCpuSeconds === undefined || run.ops === 0
        ? undefined
        : (run.serverCpuSeconds * 1000) / run.ops,
    clientCpuSeconds: run.clientCpuSeconds,
    clientCpuMsPerOp: run.ops === 0 ? undefined : (run.clientCpuSeconds * 1000) / run.ops,
  };
}

function bothClean(cell: Cell): boolean {
  const bb = cell.results.bucketbell;
  const s3rver = cell.results.s3rver;
  return bb !== undefined && s3rver !== undefined && bb.errors === 0 && s3rver.errors === 0;
}

export function cellRatio(cell: Cell): number | undefined {
  const bb = cell.results.bucketbell?.value;
  const s3rver = cell.results.s3rver?.value;
  if (!bothClean(cell) || bb === undefined || s3rver === undefined || s3rver === 0) return undefined;
  return bb / s3rver;
}

export function cellCpuRatio(cell: Cell): number | undefined {
  const bb = cell.results.bucketbell?.serverCpuMsPerOp;
  const s3rver = cell.results.s3rver?.serverCpuMsPerOp;
  if (!bothClean(cell) || bb === undefined || s3rver === undefined || bb === 0) return undefined;
  return s3rver / bb;
}

function aggregate(ratios: readonly (number | undefined)[]): {
  min: number | undefined;
  geomean: number | undefined;
  met: boolean | undefined;
} {
  const known = ratios.filter((r): r is number => r !== undefined);
  if (known.length === 0) return { min: undefined, geomean: undefined, met: undefined };
  const min = Math.min(...known);
  return {
    min,
    geomean: Math.exp(known.reduce((sum, r) => sum + Math.log(r), 0) / known.length),
    met: known.length === ratios.length ? min >= GOAL_RATIO : undefined,
  };
}

export function summarize(cells: readonly Cell[]): Summary {
  const small = cells.filter((c) => c.size === 'small');
  const throughput = aggregate(small.map((c) => c.ratio));
  const cpu = aggregate(small.map((c) => c.cpuRatio));
  return {
    smallRatioMin: throughput.min,
    smallRatioGeomean: throughput.geomean,
    goalMet: throughput.met,
    smallCpuRatioMin: cpu.min,
    smallCpuRatioGeomean: cpu.geomean,
    cpuGoalMet: cpu.met,
  };
}

function fmt(value: number | undefined, digits?: number): string {
  if (value === undefined) return '–';
  const d = digits ?? (value >= 100 ? 0 : value >= 10 ? 1 : 2);
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

function valueCell(result: TargetCell | undefined, unit: Unit): string {
  if (result === undefined) return 'n/a';
  const errors = result.errors > 0 ? ` (${result.errors} errors)` : '';
  return `${fmt(result.value)} ${unit}${errors}`;
}

function latencyCell(result: TargetCell | undefined): string {
  if (result === undefined || result.p50Ms === undefined) return '–';
  return `${fmt(result.p50Ms)} / ${fmt(result.p99Ms)}`;
}

function cpuCell(ms: number | undefined): string {
  return ms === undefined ? '–' : fmt(ms, ms >= 10 ? 0 : 3);
}

function ratioCell(ratio: number | undefined): string {
  return ratio === undefined ? '–' : `${fmt(ratio)}x`;
}

function verdict(met: boolean | undefined): string {
  return met === undefined ? 'undecided (missing cells)' : met ? 'met' : 'NOT met';
}

export function renderMarkdown(report: Report): string {
  const lines: string[] = [];
  const ceiling = report.cells.some((c) => c.results.ceiling !== undefined);
  lines.push(
    `| workload | concurrency | bucketbell | s3rver | ratio |${ceiling ? ' client ceiling |' : ''} ` +
      'bucketbell p50 / p99 ms | s3rver p50 / p99 ms |',
  );
  lines.push(`| --- | ---: | ---: | ---: | ---: |${ceiling ? ' ---: |' : ''} ---: | ---: |`);
  for (const cell of report.cells) {
    lines.push(
      `| ${cell.workload} | ${cell.concurrency} | ${valueCell(cell.results.bucketbell, cell.unit)} | ` +
        `${valueCell(cell.results.s3rver, cell.unit)} | ${ratioCell(cell.ratio)} |` +
        `${ceiling ? ` ${valueCell(cell.results.ceiling, cell.unit)} |` : ''} ` +
        `${latencyCell(cell.results.bucketbell)} | ${latencyCell(cell.results.s3rver)} |`,
    );
  }
  if (ceiling) {
    lines.push('');
    lines.push(
      'Client ceiling: the same client against a do-nothing in-memory server (bench/null-server-child.ts). ' +
        'No server can be measured above it here, so a ratio above ceiling/s3rver cannot show in that cell.',
    );
  }
  lines.push('');
  lines.push(
    'CPU per operation, ms (user+system; server = the server process, client = this benchmark process). ' +
      'Efficiency ratio = s3rver server CPU / bucketbell server CPU:',
  );
  lines.push('');
  lines.push(
    '| workload | concurrency | bucketbell server | s3rver server | efficiency ratio | bucketbell client | s3rver client |',
  );
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const cell of report.cells) {
    const bb = cell.results.bucketbell;
    const s3rver = cell.results.s3rver;
    lines.push(
      `| ${cell.workload} | ${cell.concurrency} | ${cpuCell(bb?.serverCpuMsPerOp)} | ` +
        `${cpuCell(s3rver?.serverCpuMsPerOp)} | ${ratioCell(cell.cpuRatio)} | ` +
        `${cpuCell(bb?.clientCpuMsPerOp)} | ${cpuCell(s3rver?.clientCpuMsPerOp)} |`,
    );
  }
  lines.push('');
  const summary = report.summary;
  if (summary.smallRatioMin !== undefined) {
    lines.push(
      `Small objects, throughput: bucketbell/s3rver min ${fmt(summary.smallRatioMin)}x, geometric mean ` +
        `${fmt(summary.smallRatioGeomean)}x; goal (>= ${GOAL_RATIO}x in every small-object cell): ` +
        `${verdict(summary.goalMet)}.`,
    );
  }
  if (summary.smallCpuRatioMin !== undefined) {
    lines.push(
      `Small objects, server CPU per op: s3rver/bucketbell min ${fmt(summary.smallCpuRatioMin)}x, geometric mean ` +
        `${fmt(summary.smallCpuRatioGeomean)}x; >= ${GOAL_RATIO}x in every cell: ${verdict(summary.cpuGoalMet)}.`,
    );
  }
  const rss = Object.entries(report.targets)
    .filter(([, info]) => info.peakRssMiB !== undefined)
    .map(([name, info]) => `${name} ${fmt(info.peakRssMiB, 0)} MiB`);
  if (rss.length > 0) lines.push(`Peak RSS (VmHWM): ${rss.join(', ')}.`);
  const checksums = Object.entries(report.targets)
    .filter(([, info]) => info.getReturnsChecksum !== undefined)
    .map(([name, info]) => `${name} ${info.getReturnsChecksum === true ? 'yes' : 'no'}`);
  if (checksums.length > 0)
    lines.push(`GET returns a stored checksum (verified by the SDK): ${checksums.join(', ')}.`);
  for (const [name, info] of Object.entries(report.targets)) {
    if (info.startError !== undefined) lines.push(`${name} unavailable: ${info.startError.split('\n')[0]}`);
    if (info.diedDuringRun === true) lines.push(`${name} exited during the run.`);
    if (info.warnings !== undefined && info.warnings.length > 0) {
      lines.push(`${name} logged ${info.warnings.length} warning/error lines, e.g.: ${info.warnings[0]}`);
    }
  }
  for (const cell of report.cells) {
    for (const [name, result] of Object.entries(cell.results)) {
      if (result.errors > 0) {
        lines.push(
          `${cell.workload} c=${cell.concurrency} ${name}: ${result.errors} errors, e.g. ${result.errorSamples[0]}`,
        );
      }
    }
  }
  return lines.join('\n');
}
