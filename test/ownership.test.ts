import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketNotificationConfigurationCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { adminClient, createUser, type CreatedUser } from './support/admin-api.ts';
import { queryServerDb } from './support/inspect-db.ts';
import { expectS3Error } from './support/s3-errors.ts';
import { startServer, type TestServer } from './support/test-server.ts';
import { WebhookReceiver } from './support/webhook-receiver.ts';

const A_BUCKET = 'tenant-a-data';
const A_EMPTY = 'tenant-a-empty';
const B_BUCKET = 'tenant-b-data';
const KEY = 'private/report.txt';
const CONTENT = 'only for tenant A';

describe('ownership: one user cannot read or change another user’s buckets over S3', () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  let a: CreatedUser;
  let b: CreatedUser;
  let aS3: S3Client;
  let bS3: S3Client;
  let webhookId: string;
  let webhookArn: string;

  /** What tenant A has, as A sees it, and what the server recorded for A's bucket. */
  async function stateOfA(): Promise<unknown> {
    const objects = await aS3.send(new ListObjectsV2Command({ Bucket: A_BUCKET }));
    const body = await (
      await aS3.send(new GetObjectCommand({ Bucket: A_BUCKET, Key: KEY }))
    ).Body!.transformToString();
    const notification = await aS3.send(new GetBucketNotificationConfigurationCommand({ Bucket: A_BUCKET }));
    const buckets = await aS3.send(new ListBucketsCommand({}));
    const events = await queryServerDb(server, 'SELECT count(*) AS n FROM events WHERE bucket = $1', [
      A_BUCKET,
    ]);
    const deliveries = await adminClient(server, keysOf(a)).request<{ deliveries: unknown[] }>(
      'GET',
      `/webhooks/${webhookId}/deliveries`,
    );
    return {
      objects: objects.Contents?.map((o) => [o.Key, o.ETag, o.Size]),
      body,
      notification: JSON.stringify({ ...notification, $metadata: undefined }),
      buckets: buckets.Buckets?.map((x) => x.Name).sort(),
      events: Number(events[0]?.['n']),
      deliveries: deliveries.deliveries.length,
    };
  }

  function keysOf(user: CreatedUser): { accessKeyId: string; secretAccessKey: string } {
    return { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey };
  }

  before(async () => {
    receiver = await new WebhookReceiver().start();
    server = await startServer({ env: { BUCKETBELL_WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32' } });
    a = await createUser(server, 'tenant-a');
    b = await createUser(server, 'tenant-b');
    aS3 = server.client(keysOf(a));
    bS3 = server.client(keysOf(b));
    await aS3.send(new CreateBucketCommand({ Bucket: A_BUCKET }));
    await aS3.send(new CreateBucketCommand({ Bucket: A_EMPTY }));
    await bS3.send(new CreateBucketCommand({ Bucket: B_BUCKET }));
    const { webhook } = await adminClient(server, keysOf(a)).request<{
      webhook: { id: string; arn: string };
    }>('POST', '/webhooks', {
      bucket: A_BUCKET,
      url: `${receiver.url}/a`,
      events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
    });
    webhookId = webhook.id;
    webhookArn = webhook.arn;
    await aS3.send(new PutObjectCommand({ Bucket: A_BUCKET, Key: KEY, Body: CONTENT }));
    // The one delivery of A's own upload is in; after that, nothing B tries may add to it.
    await receiver.waitFor((r) => r.length >= 1, 30_000);
  });

  after(async () => {
    await server.cleanup();
    await receiver.stop();
  });

  it('refuses every S3 operation on another user’s bucket with AccessDenied, and changes nothing', async () => {
    const before = await stateOfA();
    assert.match(JSON.stringify(before), new RegExp(webhookArn), 'A has a rule to lose');
    assert.equal((before as { events: number }).events, 1);

    await expectS3Error(
      bS3.send(new GetBucketNotificationConfigurationCommand({ Bucket: A_BUCKET })),
      'AccessDenied',
      403,
    );
    await expectS3Error(
      bS3.send(
        new PutBucketNotificationConfigurationCommand({ Bucket: A_BUCKET, NotificationConfiguration: {} }),
      ),
      'AccessDenied',
      403,
    );
    await expectS3Error(
      bS3.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: A_BUCKET,
          NotificationConfiguration: {
            QueueConfigurations: [{ Id: 'b-spy', QueueArn: webhookArn, Events: ['s3:ObjectCreated:*'] }],
          },
        }),
      ),
      'AccessDenied',
      403,
    );
    await expectS3Error(bS3.send(new GetObjectCommand({ Bucket: A_BUCKET, Key: KEY })), 'AccessDenied', 403);
    // A HEAD response has no body to carry the code: the status is all there is.
    const head = await bS3
      .send(new HeadObjectCommand({ Bucket: A_BUCKET, Key: KEY }))
      .catch((err: unknown) => err);
    assert.ok(head instanceof S3ServiceException, String(head));
    assert.equal(head.$metadata.httpStatusCode, 403);
    await expectS3Error(
      bS3.send(new DeleteObjectCommand({ Bucket: A_BUCKET, Key: KEY })),
      'AccessDenied',
      403,
    );
    await expectS3Error(
      bS3.send(new DeleteObjectsCommand({ Bucket: A_BUCKET, Delete: { Objects: [{ Key: KEY }] } })),
      'AccessDenied',
      403,
    );
    await expectS3Error(bS3.send(new DeleteBucketCommand({ Bucket: A_EMPTY })), 'AccessDenied', 403);
    await expectS3Error(bS3.send(new DeleteBucketCommand({ Bucket: A_BUCKET })), 'AccessDenied', 403);
    await expectS3Error(
      bS3.send(
        new CopyObjectCommand({ Bucket: B_BUCKET, Key: 'stolen.txt', CopySource: `${A_BUCKET}/${KEY}` }),
      ),
      'AccessDenied',
      403,
    );

    assert.deepEqual(await stateOfA(), before);
    const { Buckets } = await aS3.send(new ListBucketsCommand({}));
    assert.ok(
      Buckets?.some((x) => x.Name === A_EMPTY),
      'the empty bucket is still there',
    );
    const bObjects = await bS3.send(new ListObjectsV2Command({ Bucket: B_BUCKET }));
    assert.equal(bObjects.KeyCount, 0, 'nothing was copied into B’s bucket');
    assert.equal(receiver.requests.length, 1, 'no event reached A’s webhook');
  });

  it('lets each user do the same on its own bucket (the refusals were about ownership)', async () => {
    await bS3.send(new PutObjectCommand({ Bucket: B_BUCKET, Key: 'mine.txt', Body: 'b' }));
    await bS3.send(
      new CopyObjectCommand({ Bucket: B_BUCKET, Key: 'copy.txt', CopySource: `${B_BUCKET}/mine.txt` }),
    );
    await bS3.send(new HeadObjectCommand({ Bucket: B_BUCKET, Key: 'copy.txt' }));
    await bS3.send(new GetBucketNotificationConfigurationCommand({ Bucket: B_BUCKET }));
    await bS3.send(
      new DeleteObjectsCommand({ Bucket: B_BUCKET, Delete: { Objects: [{ Key: 'copy.txt' }] } }),
    );
    await bS3.send(new DeleteObjectCommand({ Bucket: B_BUCKET, Key: 'mine.txt' }));
    await bS3.send(new DeleteBucketCommand({ Bucket: B_BUCKET }));
    await aS3.send(new DeleteBucketCommand({ Bucket: A_EMPTY }));
  });
});
