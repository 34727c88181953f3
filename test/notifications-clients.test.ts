// Bucket notifications driven by real clients: a browser form upload (PostObject), the aws CLI's
// s3api notification commands, another user's requests, and Lambda-style CloudFunctionConfiguration.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createPresignedPost, type PresignedPostOptions } from '@aws-sdk/s3-presigned-post';
import { z } from 'zod';
import { createUser, type CreatedUser } from './support/admin-api.ts';
import { headerValue } from './support/alarik-signature.ts';
import { awsCliFor, type AwsCli } from './support/cli-aws.ts';
import { rawRequest } from './support/raw-request.ts';
import { expectS3Error, parseErrorXml } from './support/s3-errors.ts';
import {
  putQueueNotification,
  startWithEndpoints,
  type NotificationSetup,
} from './support/notification-setup.ts';
import type { TestServer } from './support/test-server.ts';
import { expectedSignature, type ReceivedRequest, type WebhookReceiver } from './support/webhook-receiver.ts';

const SECRET = 'clients-hook-secret';
const HOOK_ARN = 'arn:bucketbell:webhook::hook';
const LAMBDA_ARN = 'arn:bucketbell:webhook::lambda';

interface S3Record {
  eventName: string;
  userIdentity: { principalId: string };
  s3: {
    configurationId: string;
    bucket: { name: string };
    object: { key: string; size?: number; eTag?: string; sequencer: string };
  };
}

function recordOf(request: ReceivedRequest): S3Record {
  return (JSON.parse(request.body) as { Records: S3Record[] }).Records[0]!;
}

/**
 * @aws-sdk/s3-presigned-post pins its own @aws-sdk/client-s3, so its S3Client is another class than ours;
 * it only reads the client's `config`, which ours has.
 */
function presignedPost(
  client: S3Client,
  options: PresignedPostOptions,
): ReturnType<typeof createPresignedPost> {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
  return createPresignedPost(client, options);
}

const NotificationConfiguration = z.object({
  QueueConfigurations: z
    .array(
      z.object({
        Id: z.string(),
        QueueArn: z.string(),
        Events: z.array(z.string()),
        Filter: z
          .object({
            Key: z.object({ FilterRules: z.array(z.object({ Name: z.string(), Value: z.string() })) }),
          })
          .optional(),
      }),
    )
    .optional(),
  TopicConfigurations: z.array(z.unknown()).optional(),
  LambdaFunctionConfigurations: z.array(z.unknown()).optional(),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('bucket notifications with real clients', () => {
  let server: TestServer;
  let s3: S3Client;
  let receiver: WebhookReceiver;
  let dir: string;
  let aws: AwsCli;
  let mallory: CreatedUser;
  let setup: NotificationSetup;

  before(async () => {
    setup = await startWithEndpoints({
      endpoints: [{ name: 'hook', secret: '${HOOK_SECRET}' }, { name: 'lambda' }],
      env: { HOOK_SECRET: SECRET },
      bucketPrefix: 'clients',
    });
    ({ server, receiver, configDir: dir } = setup);
    s3 = server.client();
    aws = await awsCliFor(server.s3Url, dir);
    mallory = await createUser(server, 'mallory');
  });
  after(() => setup.cleanup());
  beforeEach(() => {
    setup.resetReceiver();
  });

  const eventsAt = (route: string) => receiver.eventRequests().filter((r) => r.path === route);

  it('delivers s3:ObjectCreated:Post for a browser form upload, with its key, size and ETag', async () => {
    const bucket = await setup.newBucket();
    await putQueueNotification(s3, bucket, {
      id: 'form-uploads',
      arn: HOOK_ARN,
      events: ['s3:ObjectCreated:Post'],
    });
    const data = randomBytes(2048);
    const { url, fields } = await presignedPost(s3, { Bucket: bucket, Key: 'forms/${filename}' });
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    form.append('file', new Blob([data]), 'holiday photo.bin');
    const response = await fetch(url, { method: 'POST', body: form, redirect: 'manual' });
    assert.equal(response.status, 204, await response.text());
    // A PUT is not a POST: the rule names ObjectCreated:Post only.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'forms/put.bin', Body: 'x' }));

    await receiver.waitFor(() => eventsAt('/hook').length >= 1, 20_000, 'the Post event');
    await sleep(300);
    const events = eventsAt('/hook');
    assert.equal(events.length, 1, 'only the form upload matches');
    const request = events[0]!;
    const record = recordOf(request);
    assert.equal(record.eventName, 'ObjectCreated:Post');
    assert.equal(record.s3.configurationId, 'form-uploads');
    assert.equal(record.s3.bucket.name, bucket);
    assert.equal(record.s3.object.key, 'forms/holiday+photo.bin');
    assert.equal(record.s3.object.size, data.length);
    assert.equal(record.s3.object.eTag, createHash('md5').update(data).digest('hex'));
    assert.equal(`"${record.s3.object.eTag}"`, response.headers.get('etag'));
    assert.equal(record.userIdentity.principalId, 'bucketbell-root');
    assert.equal(request.headers['x-bucketbell-event'], 's3:ObjectCreated:Post');
    assert.equal(
      headerValue(request.headers, 'X-Hub-Signature-256'),
      `sha256=${expectedSignature(SECRET, request.body)}`,
    );
  });

  it('is configured with aws s3api put- and get-bucket-notification-configuration, and delivers', async () => {
    const bucket = await setup.newBucket();
    const configuration = {
      QueueConfigurations: [
        {
          Id: 'cli-rule',
          QueueArn: HOOK_ARN,
          Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:Delete'],
          Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'cli/' }] } },
        },
      ],
    };
    await aws.ok([
      's3api',
      'put-bucket-notification-configuration',
      '--bucket',
      bucket,
      '--notification-configuration',
      JSON.stringify(configuration),
    ]);
    const got = await aws.json(
      ['s3api', 'get-bucket-notification-configuration', '--bucket', bucket],
      NotificationConfiguration,
    );
    assert.deepEqual(
      got.QueueConfigurations?.map((q) => ({
        Id: q.Id,
        QueueArn: q.QueueArn,
        Events: q.Events,
        Filter: q.Filter?.Key.FilterRules.map((r) => [r.Name.toLowerCase(), r.Value]),
      })),
      [
        {
          Id: 'cli-rule',
          QueueArn: HOOK_ARN,
          Events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:Delete'],
          Filter: [['prefix', 'cli/']],
        },
      ],
    );
    // The new destination got AWS's test message (the CLI does not skip destination validation).
    await receiver.waitFor(
      (rs) => rs.some((r) => r.path === '/hook' && r.body.includes('s3:TestEvent')),
      20_000,
      'the s3:TestEvent',
    );

    await writeFile(path.join(dir, 'cli-upload.txt'), 'from the aws CLI');
    await aws.ok(['s3', 'cp', path.join(dir, 'cli-upload.txt'), `s3://${bucket}/cli/upload.txt`]);
    await aws.ok(['s3', 'cp', path.join(dir, 'cli-upload.txt'), `s3://${bucket}/elsewhere.txt`]);
    await aws.ok(['s3api', 'delete-object', '--bucket', bucket, '--key', 'cli/upload.txt']);
    await receiver.waitFor(() => eventsAt('/hook').length >= 2, 20_000, 'the PUT and DELETE events');
    await sleep(300);
    const records = eventsAt('/hook').map(recordOf);
    assert.deepEqual(records.map((r) => [r.eventName, r.s3.object.key]).sort(), [
      ['ObjectCreated:Put', 'cli/upload.txt'],
      ['ObjectRemoved:Delete', 'cli/upload.txt'],
    ]);
    assert.ok(records.every((r) => r.s3.configurationId === 'cli-rule'));

    // An unknown ARN is refused as AWS refuses it, and the saved configuration stays.
    const refused = await aws.run([
      's3api',
      'put-bucket-notification-configuration',
      '--bucket',
      bucket,
      '--notification-configuration',
      JSON.stringify({
        QueueConfigurations: [
          { Id: 'x', QueueArn: 'arn:bucketbell:webhook::nope', Events: ['s3:ObjectCreated:*'] },
        ],
      }),
    ]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /InvalidArgument/);
    assert.match(refused.stderr, /Unable to validate the following destination configurations/);
    const still = await aws.json(
      ['s3api', 'get-bucket-notification-configuration', '--bucket', bucket],
      NotificationConfiguration,
    );
    assert.deepEqual(
      still.QueueConfigurations?.map((q) => q.Id),
      ['cli-rule'],
    );
  });

  it("refuses another user's GET and PUT ?notification with AccessDenied, and changes nothing", async () => {
    const bucket = await setup.newBucket();
    await putQueueNotification(s3, bucket, {
      id: 'owner-rule',
      arn: HOOK_ARN,
      events: ['s3:ObjectCreated:*'],
    });
    const asMallory = server.client(mallory);
    await expectS3Error(
      asMallory.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket })),
      'AccessDenied',
      403,
    );
    await expectS3Error(
      putQueueNotification(asMallory, bucket, {
        id: 'hijack',
        arn: LAMBDA_ARN,
        events: ['s3:ObjectCreated:*', 's3:ObjectRemoved:*'],
      }),
      'AccessDenied',
      403,
    );
    // Clearing it is refused too.
    await expectS3Error(
      asMallory.send(
        new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: {} }),
      ),
      'AccessDenied',
      403,
    );
    // The owner's configuration is unchanged, and events still go where the owner said.
    const got = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.deepEqual(
      got.QueueConfigurations?.map((q) => [q.Id, q.QueueArn]),
      [['owner-rule', HOOK_ARN]],
    );
    assert.equal(got.LambdaFunctionConfigurations, undefined);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'after-refusal', Body: 'x' }));
    await receiver.waitFor(() => eventsAt('/hook').length >= 1, 20_000, 'the owner’s event');
    await sleep(300);
    assert.equal(eventsAt('/lambda').length, 0);
    assert.equal(receiver.requests.filter((r) => r.body.includes('s3:TestEvent')).length, 0);
    // Mallory's own bucket is Mallory's to configure.
    await asMallory.send(new CreateBucketCommand({ Bucket: `${bucket}-mallory` }));
    const own = await asMallory.send(
      new GetBucketNotificationConfigurationCommand({ Bucket: `${bucket}-mallory` }),
    );
    assert.equal(own.QueueConfigurations, undefined);
  });

  it('keeps a CloudFunctionConfiguration in its form and delivers through it', async () => {
    const bucket = await setup.newBucket();
    const xml =
      '<NotificationConfiguration>' +
      `<CloudFunctionConfiguration><Id>thumbnails</Id><CloudFunction>${LAMBDA_ARN}</CloudFunction>` +
      '<Event>s3:ObjectCreated:Put</Event>' +
      '<Filter><S3Key><FilterRule><Name>suffix</Name><Value>.jpg</Value></FilterRule></S3Key></Filter>' +
      '</CloudFunctionConfiguration></NotificationConfiguration>';
    const put = await rawRequest(server.s3Url, { method: 'PUT', path: `/${bucket}?notification`, body: xml });
    assert.equal(put.status, 200, put.body);
    const raw = await rawRequest(server.s3Url, { method: 'GET', path: `/${bucket}?notification` });
    assert.match(
      raw.body,
      new RegExp(
        `<NotificationConfiguration[^>]*><CloudFunctionConfiguration><Id>thumbnails</Id><CloudFunction>${LAMBDA_ARN}</CloudFunction><Event>s3:ObjectCreated:Put</Event><Filter><S3Key><FilterRule><Name>Suffix</Name><Value>\\.jpg</Value></FilterRule></S3Key></Filter></CloudFunctionConfiguration></NotificationConfiguration>`,
      ),
    );
    assert.doesNotMatch(raw.body, /QueueConfiguration|TopicConfiguration/);
    // The SDK reads it as a Lambda function configuration.
    const got = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.equal(got.QueueConfigurations, undefined);
    assert.deepEqual(
      got.LambdaFunctionConfigurations?.map((l) => ({
        id: l.Id,
        arn: l.LambdaFunctionArn,
        events: l.Events,
        filter: l.Filter?.Key?.FilterRules?.map((r) => [r.Name?.toLowerCase(), r.Value]),
      })),
      [{ id: 'thumbnails', arn: LAMBDA_ARN, events: ['s3:ObjectCreated:Put'], filter: [['suffix', '.jpg']] }],
    );
    await receiver.waitFor(
      (rs) => rs.some((r) => r.path === '/lambda' && r.body.includes('s3:TestEvent')),
      20_000,
      'the s3:TestEvent',
    );

    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'photos/cat.jpg', Body: 'meow' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'photos/cat.png', Body: 'meow' }));
    await receiver.waitFor(() => eventsAt('/lambda').length >= 1, 20_000, 'the Put event');
    await sleep(300);
    const records = eventsAt('/lambda').map(recordOf);
    assert.deepEqual(
      records.map((r) => [r.eventName, r.s3.object.key, r.s3.configurationId]),
      [['ObjectCreated:Put', 'photos/cat.jpg', 'thumbnails']],
    );

    // Saved again by the SDK (LambdaFunctionConfigurations), it stays a CloudFunctionConfiguration.
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: {
          LambdaFunctionConfigurations: [
            { Id: 'thumbnails-2', LambdaFunctionArn: LAMBDA_ARN, Events: ['s3:ObjectCreated:*'] },
          ],
        },
      }),
    );
    const again = await rawRequest(server.s3Url, { method: 'GET', path: `/${bucket}?notification` });
    assert.match(
      again.body,
      new RegExp(
        `<CloudFunctionConfiguration><Id>thumbnails-2</Id><CloudFunction>${LAMBDA_ARN}</CloudFunction><Event>s3:ObjectCreated:\\*</Event></CloudFunctionConfiguration>`,
      ),
    );
    const refused = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: `/${bucket}?notification`,
      body: '<NotificationConfiguration><CloudFunctionConfiguration><Id>x</Id><CloudFunction>arn:aws:lambda:us-east-1:1:function:f</CloudFunction><Event>s3:ObjectCreated:*</Event></CloudFunctionConfiguration></NotificationConfiguration>',
    });
    assert.equal(refused.status, 400);
    assert.equal(parseErrorXml(refused.body).code, 'InvalidArgument');
    assert.match(parseErrorXml(refused.body).message, /Unable to validate/);
  });
});
