// The closed-loop load generator and the S3 operations it drives.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ChecksumMode } from './config.ts';
import { cpuSeconds } from './proc-stats.ts';
import type { Target } from './start-targets.ts';

export const BUCKET = 'bench-bucket';

/** One operation: resolves to the number of payload bytes moved. */
export type Op = (worker: number, seq: number) => Promise<number>;

export type Stop = { readonly seconds: number } | { readonly countPerWorker: number };

export interface RawRun {
  readonly ops: number;
  readonly bytes: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
  readonly elapsedSeconds: number;
  /** Latency of each successful op, milliseconds, sorted ascending. */
  readonly latenciesMs: Float64Array;
  /** CPU seconds the server process used during the run (undefined off Linux). */
  readonly serverCpuSeconds: number | undefined;
  /** CPU seconds this (client) process used during the run. */
  readonly clientCpuSeconds: number;
}

const MAX_ERROR_SAMPLES = 5;

function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const meta = (err as { $metadata?: { httpStatusCode?: number } }).$metadata;
  const status = meta?.httpStatusCode === undefined ? '' : ` (HTTP ${meta.httpStatusCode})`;
  return `${err.name}: ${err.message}${status}`;
}

/**
 * Runs `concurrency` workers, each issuing `op` back to back, until the time is up (an op in
 * flight at the deadline still completes and counts) or each worker did its count.
 */
export async function runWorkers(
  concurrency: number,
  stop: Stop,
  op: Op,
  serverPid?: number,
): Promise<RawRun> {
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let ops = 0;
  let bytes = 0;
  let errors = 0;
  let abandon = false;
  const serverCpuBefore = serverPid === undefined ? undefined : cpuSeconds(serverPid);
  const clientCpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = 'seconds' in stop ? start + stop.seconds * 1000 : Number.POSITIVE_INFINITY;
  const countPerWorker = 'countPerWorker' in stop ? stop.countPerWorker : Number.POSITIVE_INFINITY;

  const worker = async (w: number): Promise<void> => {
    for (let seq = 0; seq < countPerWorker && performance.now() < deadline && !abandon; seq++) {
      const t0 = performance.now();
      try {
        // Not `bytes += await op()`: that would read `bytes` before the await and lose other workers' adds.
        const moved = await op(w, seq);
        latencies.push(performance.now() - t0);
        bytes += moved;
        ops++;
      } catch (err) {
        errors++;
        if (errorSamples.length < MAX_ERROR_SAMPLES) errorSamples.push(describeError(err));
        // A target that only fails would otherwise spin for the whole cell.
        if (errors >= 100 && errors > ops) abandon = true;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));

  const elapsedSeconds = (performance.now() - start) / 1000;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const serverCpuAfter = serverPid === undefined ? undefined : cpuSeconds(serverPid);
  const sorted = Float64Array.from(latencies).sort();
  return {
    ops,
    bytes,
    errors,
    errorSamples,
    elapsedSeconds,
    latenciesMs: sorted,
    serverCpuSeconds:
      serverCpuBefore === undefined || serverCpuAfter === undefined
        ? undefined
        : serverCpuAfter - serverCpuBefore,
    clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6,
  };
}

export function percentile(sorted: Float64Array, p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

export interface BenchClient {
  readonly s3: S3Client;
  destroy(): void;
}

/** The one client configuration used for every target: path-style, keep-alive sockets = concurrency. */
export function makeClient(target: Target, concurrency: number, checksums: ChecksumMode): BenchClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const config: S3ClientConfig = {
    endpoint: target.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: target.credentials,
    // Failures are counted, not hidden behind retries.
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: agent, requestTimeout: 300_000 }),
  };
  if (checksums === 'when-required') {
    config.requestChecksumCalculation = 'WHEN_REQUIRED';
    config.responseChecksumValidation = 'WHEN_REQUIRED';
  }
  const s3 = new S3Client(config);
  return {
    s3,
    destroy: () => {
      s3.destroy();
      agent.destroy();
    },
  };
}

/** Reads a GetObject body to the end without keeping it; returns its length. */
export async function drain(body: unknown): Promise<number> {
  if (!(body instanceof Readable)) throw new Error('GetObject body is not a Node.js Readable');
  let length = 0;
  for await (const chunk of body) length += (chunk as Buffer).length;
  return length;
}

export async function createBucket(s3: S3Client): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
}

export function putOp(s3: S3Client, body: Buffer, key: (worker: number, seq: number) => string): Op {
  return async (worker, seq) => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key(worker, seq), Body: body }));
    return body.length;
  };
}

export function getOp(s3: S3Client, expectedSize: number, key: (worker: number, seq: number) => string): Op {
  return async (worker, seq) => {
    const output = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key(worker, seq) }));
    const length = await drain(output.Body);
    if (length !== expectedSize) throw new Error(`GET returned ${length} bytes, expected ${expectedSize}`);
    return length;
  };
}

/** Whether a GET response carried a stored checksum (which the SDK then verifies by default). */
export async function getReturnsChecksum(s3: S3Client, key: string): Promise<boolean> {
  const output = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
  await drain(output.Body);
  return (
    output.ChecksumCRC32 !== undefined ||
    output.ChecksumCRC32C !== undefined ||
    output.ChecksumCRC64NVME !== undefined ||
    output.ChecksumSHA1 !== undefined ||
    output.ChecksumSHA256 !== undefined
  );
}

/**
 * Deletes keys one request at a time (unmeasured housekeeping). Sequential on purpose: s3rver
 * answers concurrent deletes under one prefix with InternalError (its folder clean-up races).
 */
export async function deleteKeys(s3: S3Client, keys: readonly string[]): Promise<void> {
  for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
}

/** Writes `keys` (unmeasured), `concurrency` at a time. */
export async function putKeys(
  s3: S3Client,
  body: Buffer,
  keys: readonly string[],
  concurrency: number,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let key = keys[next++]; key !== undefined; key = keys[next++]) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
