// A trivial keep-alive webhook receiver for the notification benchmark (bench/notifications.ts), in its own
// process so that bucketbell, the benchmark client and the receiver each have an event loop of their own.
// Every POST is answered 200 with an empty body as soon as its body has arrived; only then is the body
// parsed and its arrival recorded. The parent (started with `fork`, advanced serialization) asks for
// counts and arrival times over IPC; nothing is printed per request.
//
// Groups: a POST to `/hook` is filed under the bucket named in its S3 event record (so one endpoint can
// serve several buckets, one per benchmark part); a POST to any other path, e.g. `/ceiling`, under that
// path without the slash. Within a group an event is identified by its object key: the first arrival of a
// key counts, later ones are duplicates (delivery is at-least-once).
//
// Usage: forked by bench/notifications.ts; sends `{ type: 'ready', port }` once it listens.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** Milliseconds on the wall clock at process start plus the monotonic clock since: comparable across processes. */
const clock = (): number => performance.timeOrigin + performance.now();

export type ReceiverRequest =
  | { readonly type: 'clock'; readonly id: number }
  | {
      readonly type: 'stats';
      readonly id: number;
      readonly group: string;
      readonly from: number;
      readonly to: number;
    }
  | { readonly type: 'arrivals'; readonly id: number; readonly group: string }
  | {
      readonly type: 'waitFor';
      readonly id: number;
      readonly group: string;
      readonly count: number;
      readonly timeoutMs: number;
    }
  | { readonly type: 'sample'; readonly id: number };

export interface GroupStats {
  /** POSTs received, duplicates included. */
  readonly requests: number;
  /** Distinct keys received. */
  readonly unique: number;
  readonly duplicates: number;
  /** Bodies that were not an S3 event record with a bucket and a key. */
  readonly unparsable: number;
  /** Distinct keys whose first arrival was within [from, to] (receiver clock). */
  readonly uniqueInWindow: number;
  /** Distinct keys whose first arrival was at or before `to`. */
  readonly uniqueUntil: number;
  /** POSTs (duplicates included) that arrived within [from, to]. */
  readonly requestsInWindow: number;
}

export type ReceiverReply =
  | { readonly type: 'ready'; readonly port: number }
  | { readonly type: 'clock'; readonly id: number; readonly now: number }
  | { readonly type: 'stats'; readonly id: number; readonly stats: GroupStats }
  | {
      readonly type: 'arrivals';
      readonly id: number;
      /** Keys in order of first arrival, with their first arrival time and the record's eventTime (ms, NaN if absent). */
      readonly keys: readonly string[];
      readonly at: Float64Array;
      readonly eventTimeMs: Float64Array;
    }
  | {
      readonly type: 'waitFor';
      readonly id: number;
      /** Receiver clock when the count was reached; undefined on timeout. */
      readonly reachedAt: number | undefined;
      readonly unique: number;
    }
  | { readonly type: 'sample'; readonly id: number; readonly body: string | undefined };

interface Waiter {
  readonly id: number;
  readonly count: number;
  readonly timer: NodeJS.Timeout;
}

interface Group {
  requests: number;
  duplicates: number;
  unparsable: number;
  /** Arrival time of every POST. */
  readonly requestAt: number[];
  readonly keys: string[];
  readonly firstAt: number[];
  readonly eventTimeMs: number[];
  readonly seen: Set<string>;
  readonly waiters: Set<Waiter>;
}

interface EventBody {
  readonly Records?: readonly {
    readonly eventTime?: unknown;
    readonly s3?: {
      readonly bucket?: { readonly name?: unknown };
      readonly object?: { readonly key?: unknown };
    };
  }[];
}

const groups = new Map<string, Group>();
let sampleBody: string | undefined;

function groupOf(name: string): Group {
  let group = groups.get(name);
  if (group === undefined) {
    group = {
      requests: 0,
      duplicates: 0,
      unparsable: 0,
      requestAt: [],
      keys: [],
      firstAt: [],
      eventTimeMs: [],
      seen: new Set(),
      waiters: new Set(),
    };
    groups.set(name, group);
  }
  return group;
}

function send(reply: ReceiverReply): void {
  process.send?.(reply);
}

function record(path: string, body: string, at: number): void {
  let record: NonNullable<EventBody['Records']>[number] | undefined;
  try {
    record = (JSON.parse(body) as EventBody).Records?.[0];
  } catch {
    record = undefined;
  }
  const bucket = record?.s3?.bucket?.name;
  const key = record?.s3?.object?.key;
  const name = path === '/hook' ? (typeof bucket === 'string' ? bucket : 'unparsable') : path.slice(1);
  const group = groupOf(name);
  group.requests++;
  group.requestAt.push(at);
  if (typeof key !== 'string') {
    group.unparsable++;
    return;
  }
  if (path === '/hook') sampleBody ??= body;
  if (group.seen.has(key)) {
    group.duplicates++;
    return;
  }
  group.seen.add(key);
  group.keys.push(key);
  group.firstAt.push(at);
  group.eventTimeMs.push(typeof record?.eventTime === 'string' ? Date.parse(record.eventTime) : Number.NaN);
  for (const waiter of group.waiters) {
    if (group.keys.length >= waiter.count) {
      clearTimeout(waiter.timer);
      group.waiters.delete(waiter);
      send({ type: 'waitFor', id: waiter.id, reachedAt: at, unique: group.keys.length });
    }
  }
}

function count(times: readonly number[], from: number, to: number): number {
  let n = 0;
  for (const t of times) if (t >= from && t <= to) n++;
  return n;
}

function handle(message: ReceiverRequest): void {
  switch (message.type) {
    case 'clock':
      send({ type: 'clock', id: message.id, now: clock() });
      return;
    case 'stats': {
      const g = groupOf(message.group);
      send({
        type: 'stats',
        id: message.id,
        stats: {
          requests: g.requests,
          unique: g.keys.length,
          duplicates: g.duplicates,
          unparsable: g.unparsable,
          uniqueInWindow: count(g.firstAt, message.from, message.to),
          uniqueUntil: count(g.firstAt, Number.NEGATIVE_INFINITY, message.to),
          requestsInWindow: count(g.requestAt, message.from, message.to),
        },
      });
      return;
    }
    case 'arrivals': {
      const g = groupOf(message.group);
      send({
        type: 'arrivals',
        id: message.id,
        keys: g.keys,
        at: Float64Array.from(g.firstAt),
        eventTimeMs: Float64Array.from(g.eventTimeMs),
      });
      return;
    }
    case 'waitFor': {
      const g = groupOf(message.group);
      if (g.keys.length >= message.count) {
        send({
          type: 'waitFor',
          id: message.id,
          reachedAt: g.firstAt[message.count - 1],
          unique: g.keys.length,
        });
        return;
      }
      const waiter: Waiter = {
        id: message.id,
        count: message.count,
        timer: setTimeout(() => {
          g.waiters.delete(waiter);
          send({ type: 'waitFor', id: message.id, reachedAt: undefined, unique: g.keys.length });
        }, message.timeoutMs),
      };
      g.waiters.add(waiter);
      return;
    }
    case 'sample':
      send({ type: 'sample', id: message.id, body: sampleBody });
      return;
  }
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const at = clock();
    res.writeHead(200, { 'Content-Length': 0 });
    res.end();
    record(req.url ?? '/', Buffer.concat(chunks).toString('utf8'), at);
  });
});
// Longer than any sender keeps an idle connection, so the receiver never closes one first.
server.keepAliveTimeout = 120_000;

process.on('message', (message) => {
  handle(message as ReceiverRequest);
});
// The parent is gone (or done): stop.
process.once('disconnect', () => {
  server.close();
  server.closeAllConnections();
});
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  if (process.connected) process.disconnect();
});

server.listen(0, '127.0.0.1', () => {
  send({ type: 'ready', port: (server.address() as AddressInfo).port });
});
