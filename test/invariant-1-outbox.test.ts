// DESIGN invariant 1: an acknowledged mutation has its event and deliveries committed in the same
// transaction as the metadata change. A server killed with SIGKILL at random moments under PUT load
// and restarted delivers every PUT that got a 2xx at least once (0 lost); a change that fails after
// its bytes arrived, and so rolls back, delivers nothing. The unit-level half (a transaction that
// fails after writing its event rows) is src/mutations/commit-unit.test.ts.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3ServiceException,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { queryServerDb } from './support/inspect-db.ts';
import { rawRequest } from './support/raw-request.ts';
import { expectS3Error, parseErrorXml } from './support/s3-errors.ts';
import { TEST_DB } from './support/test-database.ts';
import {
  persistentStorage,
  startServer,
  type PersistentStorage,
  type TestServer,
} from './support/test-server.ts';
import { WebhookReceiver, type ReceivedRequest } from './support/webhook-receiver.ts';

const CYCLES = 3;
const CONCURRENCY = 8;
/**
 * A delivery that was in flight at the kill is claimed again once its lease ends: 30 s (the
 * dispatcher's default) plus the endpoint's timeout (1 s here). Until then the dead process's leases
 * also take places of the endpoint's max_in_flight (16). Waiting longer than
 * that covers it.
 */
const DELIVERY_DEADLINE_MS = 45_000;

interface EventRecord {
  readonly eventName: string;
  readonly s3: {
    readonly bucket: { readonly name: string };
    readonly object: { readonly key: string; readonly sequencer: string };
  };
}

function recordsOf(request: ReceivedRequest): EventRecord[] {
  return (JSON.parse(request.body) as { Records: EventRecord[] }).Records;
}

/** Event requests by `bucket/key` (keys here need no URL-decoding: [a-z0-9/-] only). */
function byKey(receiver: WebhookReceiver): Map<string, ReceivedRequest[]> {
  const seen = new Map<string, ReceivedRequest[]>();
  for (const request of receiver.eventRequests()) {
    for (const record of recordsOf(request)) {
      const id = `${record.s3.bucket.name}/${record.s3.object.key}`;
      seen.set(id, [...(seen.get(id) ?? []), request]);
    }
  }
  return seen;
}

/** The outbox as the server's own database sees it: deliveries by status (for failure messages). */
async function outboxStatus(server: TestServer): Promise<string> {
  const rows = await queryServerDb(
    server,
    'select status, count(*) as n, min(lease_until) as lease_until, max(attempts) as attempts from deliveries group by status',
  );
  return `now ${Date.now()}: ${JSON.stringify(rows)}`;
}

function crc32Base64(data: Buffer): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(data));
  return out.toString('base64');
}

describe('invariant 1: the outbox commits with the change', () => {
  let receiver: WebhookReceiver;
  let storage: PersistentStorage;
  let configDir: string;
  let configFile: string;
  let server: TestServer | undefined;

  before(async () => {
    receiver = await new WebhookReceiver().start();
    storage = await persistentStorage();
    configDir = await mkdtemp(path.join(tmpdir(), 'bucketbell-config-'));
    configFile = path.join(configDir, 'bucketbell.yaml');
    await writeFile(
      configFile,
      [
        'endpoints:',
        '  - name: hook',
        `    url: ${receiver.url}/hook`,
        "    events: ['s3:ObjectCreated:*']",
        '    timeout: 1s',
        '    backoff_initial: 200ms',
        '    backoff_max: 1s',
      ].join('\n'),
    );
    server = await start();
  });
  after(async () => {
    await server?.kill();
    await storage.remove();
    await rm(configDir, { recursive: true, force: true });
    await receiver.stop();
  });

  function start(): Promise<TestServer> {
    return startServer({
      dataDir: storage.dataDir,
      databaseUrl: storage.databaseUrl,
      args: ['--config', configFile],
    });
  }

  it('delivers nothing for changes that fail after their bytes arrived (BadDigest, InvalidPart, EntityTooSmall)', async () => {
    const bucket = 'rolled-back';
    const s3: S3Client = server!.client();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    // A bucket rule too, so the bucket has its own matching rule besides the every-bucket config rule.
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        SkipDestinationValidation: true,
        NotificationConfiguration: {
          QueueConfigurations: [
            { Id: 'created', QueueArn: 'arn:bucketbell:webhook::hook', Events: ['s3:ObjectCreated:*'] },
          ],
        },
      }),
    );

    const badCrc = await rawRequest(server!.s3Url, {
      method: 'PUT',
      path: `/${bucket}/bad-crc`,
      body: 'hello',
      headers: { 'x-amz-checksum-crc32': crc32Base64(Buffer.from('other')) },
    });
    assert.equal(badCrc.status, 400);
    assert.equal(parseErrorXml(badCrc.body).code, 'BadDigest');
    const badMd5 = await rawRequest(server!.s3Url, {
      method: 'PUT',
      path: `/${bucket}/bad-md5`,
      body: 'hello',
      headers: { 'content-md5': createHash('md5').update('other').digest('base64') },
    });
    assert.equal(badMd5.status, 400);
    assert.equal(parseErrorXml(badMd5.body).code, 'BadDigest');

    const upload = async (key: string, parts: Buffer[]) => {
      const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
      const etags: string[] = [];
      for (const [i, body] of parts.entries()) {
        const out = await s3.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: created.UploadId,
            PartNumber: i + 1,
            Body: body,
          }),
        );
        etags.push(out.ETag!);
      }
      return { uploadId: created.UploadId!, etags };
    };
    const complete = (key: string, uploadId: string, parts: { ETag: string; PartNumber: number }[]) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    const invalid = await upload('invalid-part', [Buffer.from('only part')]);
    await expectS3Error(
      complete('invalid-part', invalid.uploadId, [
        { ETag: '"00000000000000000000000000000000"', PartNumber: 1 },
      ]),
      'InvalidPart',
      400,
    );
    await expectS3Error(
      complete('invalid-part', invalid.uploadId, [{ ETag: invalid.etags[0]!, PartNumber: 2 }]),
      'InvalidPart',
      400,
    );
    const small = await upload('too-small', [
      Buffer.from('first part, far below 5 MiB'),
      Buffer.from('last'),
    ]);
    await expectS3Error(
      complete(
        'too-small',
        small.uploadId,
        small.etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })),
      ),
      'EntityTooSmall',
      400,
    );

    // A change that does commit, sent after the failures: once it arrives (twice: the bucket rule and
    // the every-bucket rule), anything the failures had queued would have been sent before it.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'sentinel', Body: 'x' }));
    await receiver.waitFor(() => byKey(receiver).has(`${bucket}/sentinel`), 10_000, 'the sentinel');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const delivered = [...byKey(receiver).keys()].filter((id) => id.startsWith(`${bucket}/`));
    assert.deepEqual(delivered, [`${bucket}/sentinel`]);
    for (const key of ['bad-crc', 'bad-md5', 'invalid-part', 'too-small'])
      await expectS3Error(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })), 'NotFound', 404);
    for (const [key, uploadId] of [
      ['invalid-part', invalid.uploadId],
      ['too-small', small.uploadId],
    ] as const)
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
  });

  it(`delivers every acknowledged PUT at least once across ${CYCLES} SIGKILLs under load (0 lost)`, async () => {
    const bucket = 'load';
    // Answer a little late, so that a kill often finds deliveries the receiver has already seen but
    // the server has not recorded: those are sent again after the restart (duplicates).
    receiver.defaultReply = { status: 200, body: 'ok', delayMs: 25 };
    await server!.client().send(new CreateBucketCommand({ Bucket: bucket }));
    const acked = new Set<string>();
    const unanswered = new Set<string>();
    let next = 0;
    const summary: string[] = [];
    for (let cycle = 1; cycle <= CYCLES; cycle += 1) {
      const s3 = server!.client();
      let stopping = false;
      const serverErrors: unknown[] = [];
      const worker = async (): Promise<void> => {
        while (!stopping) {
          const key = `c${cycle}/k${(next += 1)}`;
          unanswered.add(key);
          try {
            await s3.send(
              new PutObjectCommand({ Bucket: bucket, Key: key, Body: randomBytes(randomInt(1, 2048)) }),
            );
          } catch (err) {
            if (err instanceof S3ServiceException && err.$metadata.httpStatusCode !== undefined && !stopping)
              serverErrors.push(err);
            return;
          }
          unanswered.delete(key);
          acked.add(key);
        }
      };
      const ackedBefore = acked.size;
      const workers = Array.from({ length: CONCURRENCY }, worker);
      const killAfter = randomInt(300, 1500);
      await new Promise((resolve) => setTimeout(resolve, killAfter));
      stopping = true;
      await server!.kill();
      await Promise.all(workers);
      assert.deepEqual(serverErrors, [], `cycle ${cycle}: S3 errors before the kill`);
      summary.push(
        `cycle ${cycle}: killed after ${killAfter} ms, ${acked.size - ackedBefore} PUTs acknowledged, ` +
          `${byKey(receiver).size} keys delivered so far`,
      );
      server = await start();
    }

    const started = Date.now();
    const missing = () => {
      const delivered = byKey(receiver);
      return [...acked].filter((key) => !delivered.has(`${bucket}/${key}`));
    };
    await receiver
      .waitFor(() => missing().length === 0, DELIVERY_DEADLINE_MS, 'every acknowledged key')
      .catch(async (err: unknown) => {
        assert.fail(
          `${missing().length} of ${acked.size} acknowledged PUTs were never delivered ` +
            `(e.g. ${missing().slice(0, 5).join(', ')}); ${summary.join('; ')}; ` +
            `outbox ${await outboxStatus(server!)}: ${String(err).slice(0, 200)}`,
        );
      });
    const waited = Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 1000)); // late duplicates, if any

    const delivered = byKey(receiver);
    let duplicates = 0;
    for (const [id, requests] of delivered) {
      if (requests.length < 2) continue;
      duplicates += requests.length - 1;
      // One endpoint, one rule, one PUT per key: one delivery, however often it was sent.
      const ids = new Set(requests.map((r) => r.headers['x-bucketbell-delivery']));
      assert.equal(ids.size, 1, `${id}: duplicates carry one stable X-Bucketbell-Delivery`);
      const sequencers = new Set(requests.flatMap(recordsOf).map((r) => r.s3.object.sequencer));
      assert.equal(sequencers.size, 1, `${id}: duplicates carry one sequencer`);
    }
    for (const request of receiver.eventRequests())
      assert.ok(request.headers['x-bucketbell-delivery'], 'every delivery carries X-Bucketbell-Delivery');
    const committedUnacked = [...unanswered].filter((key) => delivered.has(`${bucket}/${key}`)).length;
    summary.push(
      `${acked.size} acknowledged PUTs, all delivered (${waited} ms after the last restart); ` +
        `${duplicates} duplicate deliveries; ${committedUnacked} of ${unanswered.size} unanswered PUTs ` +
        `had committed and were delivered too`,
    );
    process.stderr.write(`invariant-1-outbox (${TEST_DB}):\n  ${summary.join('\n  ')}\n`);
  });
});
