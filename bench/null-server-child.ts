// A do-nothing S3 stand-in: it answers PUT with 200 and GET with the bytes last PUT under that
// path, kept in memory, without checking signatures. Benchmarked as the "ceiling" target, it shows
// how many operations per second the benchmark client itself can drive on this machine.
// Usage: node bench/null-server-child.ts. Prints one JSON line once it listens.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const objects = new Map<string, { body: Buffer; etag: string }>();

const server = http.createServer((req, res) => {
  const key = req.url?.split('?')[0] ?? '/';
  if (req.method === 'PUT') {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const etag = `"${createHash('md5').update(body).digest('hex')}"`;
      // Only the object path matters; a bucket PUT stores an empty entry.
      objects.set(key, { body, etag });
      res.writeHead(200, { ETag: etag, 'Content-Length': 0 });
      res.end();
    });
    return;
  }
  req.resume();
  if (req.method === 'GET' || req.method === 'HEAD') {
    const object = objects.get(key);
    if (object === undefined) {
      res.writeHead(404, { 'Content-Type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code></Error>');
      return;
    }
    res.writeHead(200, {
      ETag: object.etag,
      'Content-Length': object.body.length,
      'Content-Type': 'application/octet-stream',
    });
    res.end(req.method === 'GET' ? object.body : undefined);
    return;
  }
  if (req.method === 'DELETE') objects.delete(key);
  res.writeHead(204);
  res.end();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ msg: 'null server is serving', s3Port: port })}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
