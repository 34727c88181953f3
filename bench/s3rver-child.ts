// Runs s3rver out of process, like bucketbell, so the benchmark client is the only thing in the
// parent. Usage: node bench/s3rver-child.ts <data-dir>. Prints one JSON line once it listens.
import S3rver from 's3rver';

const directory = process.argv[2];
if (directory === undefined) {
  process.stderr.write('usage: node bench/s3rver-child.ts <data-dir>\n');
  process.exit(2);
}

const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory });
const address = await server.run();
process.stdout.write(`${JSON.stringify({ msg: 's3rver is serving', s3Port: address.port })}\n`);

const shutdown = (): void => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
