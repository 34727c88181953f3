// Throughput of the object checksums on one 64 MiB buffer: node src/storage/crc-throughput.bench.ts
// Not a test: it prints MB/s (10^6 bytes per second), the best of several runs after a warm-up.
import { randomBytes } from 'node:crypto';
import { CHECKSUM_ALGORITHMS } from './checksum-algorithm.ts';
import { createChecksum } from './checksum.ts';

const SIZE = 64 * 1024 * 1024;
const CHUNK = 64 * 1024; // what a stream typically hands over
const RUNS = 5;
const data = randomBytes(SIZE);

function mbPerSecond(run: () => void): number {
  run(); // warm-up, lets the optimizing compiler settle
  let best = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    run();
    best = Math.min(best, performance.now() - start);
  }
  return SIZE / 1e6 / (best / 1000);
}

for (const alg of CHECKSUM_ALGORITHMS) {
  const whole = mbPerSecond(() => {
    const checksum = createChecksum(alg);
    checksum.update(data);
    checksum.digest();
  });
  const chunked = mbPerSecond(() => {
    const checksum = createChecksum(alg);
    for (let at = 0; at < SIZE; at += CHUNK) checksum.update(data.subarray(at, at + CHUNK));
    checksum.digest();
  });
  process.stdout.write(
    `${alg.padEnd(10)} one update: ${whole.toFixed(0).padStart(6)} MB/s   64 KiB updates: ${chunked.toFixed(0).padStart(6)} MB/s\n`,
  );
}
