import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  UploadPartCommand,
  type Event,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  putQueueNotification,
  startWithEndpoints,
  type NotificationSetup,
} from './support/notification-setup.ts';
import type { TestServer } from './support/test-server.ts';
import { expectS3Error, parseErrorXml } from './support/s3-errors.ts';
import { rawRequest } from './support/raw-request.ts';
import { headerValue, isValidAlarikSignature } from './support/alarik-signature.ts';
import { expectedSignature, type WebhookReceiver } from './support/webhook-receiver.ts';

interface S3Record {
  eventVersion: string;
  eventSource: string;
  awsRegion: string;
  eventTime: string;
  eventName: string;
  userIdentity: { principalId: string };
  requestParameters: { sourceIPAddress: string };
  responseElements: Record<string, string>;
  s3: {
    s3SchemaVersion: string;
    configurationId: string;
    bucket: { name: string; ownerIdentity: { principalId: string }; arn: string };
    object: { key: string; size?: number; eTag?: string; versionId?: string; sequencer: string };
  };
}

function records(body: string): S3Record[] {
  return (JSON.parse(body) as { Records: S3Record[] }).Records;
}

const SECRET = 'whsec-test-secret';
const ARN = 'arn:bucketbell:webhook::hook';

describe('bucket notifications', () => {
  let server: TestServer;
  let s3: S3Client;
  let receiver: WebhookReceiver;
  let setup: NotificationSetup;

  before(async () => {
    setup = await startWithEndpoints({
      endpoints: [
        {
          name: 'hook',
          secret: '${HOOK_SECRET}',
          signature_header: 'X-Alarik-Signature-256',
          signature_format: 'hex',
        },
        { name: 'other' },
        { name: 'everywhere', events: '["s3:ObjectRemoved:*"]', prefix: 'global/' },
      ],
      env: { HOOK_SECRET: SECRET },
      bucketPrefix: 'notify',
    });
    ({ server, receiver } = setup);
    s3 = server.client();
  });
  after(() => setup.cleanup());
  beforeEach(() => {
    setup.resetReceiver();
  });

  async function configure(
    bucket: string,
    events: Event[],
    filter?: { prefix?: string; suffix?: string },
  ): Promise<void> {
    await putQueueNotification(s3, bucket, {
      id: 'rule-1',
      arn: ARN,
      events,
      ...(filter === undefined ? {} : { filter }),
    });
  }

  it('starts with an empty configuration', async () => {
    const bucket = await setup.newBucket();
    const res = await rawRequest(server.s3Url, { method: 'GET', path: `/${bucket}?notification` });
    assert.equal(res.status, 200);
    assert.match(
      res.body,
      /<NotificationConfiguration[^>]*\/>|<NotificationConfiguration[^>]*><\/NotificationConfiguration>/,
    );
    const out = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.equal(out.QueueConfigurations, undefined);
  });

  it('saves an AWS-form configuration, returns it, and sends an s3:TestEvent to the new destination', async () => {
    const bucket = await setup.newBucket();
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: {
          QueueConfigurations: [
            {
              Id: 'images',
              QueueArn: ARN,
              Events: ['s3:ObjectCreated:*'],
              Filter: {
                Key: {
                  FilterRules: [
                    { Name: 'prefix', Value: 'images/' },
                    { Name: 'suffix', Value: '.jpg' },
                  ],
                },
              },
            },
          ],
          TopicConfigurations: [
            { Id: 'deletes', TopicArn: 'arn:bucketbell:webhook::other', Events: ['s3:ObjectRemoved:Delete'] },
          ],
        },
      }),
    );
    const got = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.equal(got.QueueConfigurations?.length, 1);
    assert.equal(got.QueueConfigurations?.[0]?.Id, 'images');
    assert.equal(got.QueueConfigurations?.[0]?.QueueArn, ARN);
    assert.deepEqual(got.QueueConfigurations?.[0]?.Events, ['s3:ObjectCreated:*']);
    assert.deepEqual(
      got.QueueConfigurations?.[0]?.Filter?.Key?.FilterRules?.map((r) => [r.Name?.toLowerCase(), r.Value]),
      [
        ['prefix', 'images/'],
        ['suffix', '.jpg'],
      ],
    );
    assert.equal(got.TopicConfigurations?.[0]?.TopicArn, 'arn:bucketbell:webhook::other');
    await receiver.waitFor(
      (rs) => rs.filter((r) => r.body.includes('s3:TestEvent')).length >= 2,
      10_000,
      'two test events',
    );
    const test = receiver.requests.find((r) => r.path === '/hook')!;
    const message = JSON.parse(test.body) as Record<string, string>;
    assert.equal(message['Service'], 'Amazon S3');
    assert.equal(message['Event'], 's3:TestEvent');
    assert.equal(message['Bucket'], bucket);
    assert.ok(message['RequestId']);
    assert.ok(!Number.isNaN(Date.parse(message['Time']!)));
  });

  it('delivers every object event type with the AWS record shape, signed with the exact Alarik recipe', async () => {
    const bucket = await setup.newBucket();
    await configure(bucket, ['s3:ObjectCreated:*', 's3:ObjectRemoved:*']);
    const put = await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'dir/red flower+1.jpg', Body: 'petals' }),
    );
    await s3.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: 'copy.jpg',
        CopySource: `${bucket}/dir/red%20flower%2B1.jpg`,
      }),
    );
    const mpu = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'big.bin' }));
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: bucket,
        Key: 'big.bin',
        UploadId: mpu.UploadId,
        PartNumber: 1,
        Body: 'tiny',
      }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: 'big.bin',
        UploadId: mpu.UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag! }] },
      }),
    );
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'copy.jpg' }));
    await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: [{ Key: 'big.bin' }, { Key: 'never-existed' }] },
      }),
    );
    await receiver.waitFor(
      (rs) => rs.filter((r) => r.body.startsWith('{"Records"')).length >= 6,
      10_000,
      'six event deliveries',
    );
    const events = receiver.eventRequests().map((r) => ({ request: r, record: records(r.body)[0]! }));
    const byName = (name: string) => events.filter((e) => e.record.eventName === name);
    assert.equal(byName('ObjectCreated:Put').length, 1);
    assert.equal(byName('ObjectCreated:Copy').length, 1);
    assert.equal(byName('ObjectCreated:CompleteMultipartUpload').length, 1);
    assert.equal(byName('ObjectRemoved:Delete').length, 3);
    const putEvent = byName('ObjectCreated:Put')[0]!;
    const record = putEvent.record;
    assert.equal(record.eventVersion.startsWith('2.'), true);
    assert.equal(record.awsRegion, 'us-east-1');
    assert.match(record.eventTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(record.userIdentity.principalId, 'bucketbell-root');
    assert.equal(record.requestParameters.sourceIPAddress, '127.0.0.1');
    assert.ok(record.responseElements['x-amz-request-id']);
    assert.ok(record.responseElements['x-amz-id-2']);
    assert.equal(record.s3.s3SchemaVersion, '1.0');
    assert.equal(record.s3.configurationId, 'rule-1');
    assert.equal(record.s3.bucket.name, bucket);
    assert.equal(record.s3.bucket.arn, `arn:aws:s3:::${bucket}`);
    assert.equal(record.s3.bucket.ownerIdentity.principalId, 'bucketbell-root');
    assert.equal(record.s3.object.key, 'dir/red+flower%2B1.jpg');
    assert.equal(record.s3.object.size, 6);
    assert.equal(`"${record.s3.object.eTag}"`, put.ETag);
    assert.equal(record.s3.object.versionId, undefined);
    assert.match(record.s3.object.sequencer, /^[0-9A-F]+$/);
    const headers = putEvent.request.headers;
    assert.equal(headers['content-type'], 'application/json');
    assert.match(String(headers['user-agent']), /^bucketbell\/\d+\.\d+\.\d+/);
    assert.ok(headers['x-bucketbell-delivery']);
    // Alarik's receiver compares the bare hex digest with the whole header value.
    const signature = headerValue(headers, 'X-Alarik-Signature-256') ?? '';
    assert.equal(signature, expectedSignature(SECRET, putEvent.request.body));
    for (const { request } of events) {
      assert.ok(
        isValidAlarikSignature(
          Buffer.from(request.body, 'utf8'),
          headerValue(request.headers, 'X-Alarik-Signature-256') ?? '',
          SECRET,
        ),
        `Alarik's recipe verifies ${request.body.slice(0, 80)}`,
      );
    }
    assert.ok(!isValidAlarikSignature(Buffer.from(`${putEvent.request.body} `), signature, SECRET));
    assert.ok(!isValidAlarikSignature(Buffer.from(putEvent.request.body), signature, 'wrong secret'));
    const deletes = byName('ObjectRemoved:Delete')
      .map((e) => e.record.s3.object.key)
      .sort();
    assert.deepEqual(deletes, ['big.bin', 'copy.jpg', 'never-existed']);
    const sequencers = events.map((e) => e.record.s3.object.sequencer);
    assert.equal(new Set(sequencers).size, sequencers.length);
  });

  it('gives each key increasing sequencers in event order', async () => {
    const bucket = await setup.newBucket();
    await configure(bucket, ['s3:ObjectCreated:Put']);
    const etags: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const out = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'same', Body: `version ${i}` }));
      etags.push(out.ETag!.replaceAll('"', ''));
    }
    await receiver.waitFor((rs) => rs.filter((r) => r.body.startsWith('{"Records"')).length >= 5);
    const byWrite = receiver
      .eventRequests()
      .map((r) => records(r.body)[0]!)
      .sort((a, b) => etags.indexOf(a.s3.object.eTag!) - etags.indexOf(b.s3.object.eTag!));
    assert.deepEqual(
      byWrite.map((r) => r.s3.object.eTag),
      etags,
    );
    const sequencers = byWrite.map((r) => BigInt(`0x${r.s3.object.sequencer}`));
    for (let i = 1; i < sequencers.length; i += 1)
      assert.ok(sequencers[i]! > sequencers[i - 1]!, 'sequencer increases with each write');
  });

  it('matches event names exactly and wildcards, and filters by prefix and suffix', async () => {
    const bucket = await setup.newBucket();
    await configure(bucket, ['s3:ObjectCreated:Put'], { prefix: 'images/', suffix: '.jpg' });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'images/a.jpg', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'images/a.png', Body: 'x' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'docs/a.jpg', Body: 'x' }));
    await s3.send(
      new CopyObjectCommand({ Bucket: bucket, Key: 'images/b.jpg', CopySource: `${bucket}/images/a.jpg` }),
    );
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'images/a.jpg' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'images/last.jpg', Body: 'x' }));
    await receiver.waitFor((rs) => rs.some((r) => r.body.includes('images/last.jpg')));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const keys = receiver.eventRequests().map((r) => records(r.body)[0]!.s3.object.key);
    assert.deepEqual(keys.sort(), ['images/a.jpg', 'images/last.jpg']);
  });

  it('delivers events of every bucket to a YAML endpoint that declares events and a prefix', async () => {
    const bucket = await setup.newBucket();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'global/a.txt', Body: 'x' }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'global/a.txt' }));
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'elsewhere/b.txt' }));
    await receiver.waitFor((rs) => rs.some((r) => r.path === '/everywhere'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const delivered = receiver.requests
      .filter((r) => r.path === '/everywhere')
      .map((r) => records(r.body)[0]!);
    assert.equal(delivered.length, 1, 'only the matching event (removed, under global/) is delivered');
    assert.equal(delivered[0]?.eventName, 'ObjectRemoved:Delete');
    assert.equal(delivered[0]?.s3.object.key, 'global/a.txt');
    assert.equal(delivered[0]?.s3.bucket.name, bucket);
    assert.equal(delivered[0]?.s3.configurationId, 'config:everywhere');
    const own = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.equal(
      own.QueueConfigurations,
      undefined,
      "server-wide rules are not part of a bucket's configuration",
    );
  });

  it("drops a deleted bucket's rules, so a bucket created later under the same name notifies nobody", async () => {
    const bucket = await setup.newBucket();
    await configure(bucket, ['s3:ObjectCreated:*']);
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const config = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.equal(config.QueueConfigurations, undefined);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'reborn', Body: 'x' }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(!receiver.requests.some((r) => r.body.includes('reborn')));
  });

  it('refuses bad configurations with AWS errors and keeps the old one', async () => {
    const bucket = await setup.newBucket();
    await configure(bucket, ['s3:ObjectCreated:*']);
    const put = (xml: string) =>
      rawRequest(server.s3Url, { method: 'PUT', path: `/${bucket}?notification`, body: xml });
    const rule = (body: string) => `<NotificationConfiguration>${body}</NotificationConfiguration>`;
    const cases: [string, string, RegExp][] = [
      [
        rule(
          `<QueueConfiguration><Id>x</Id><Queue>arn:bucketbell:webhook::nope</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration>`,
        ),
        'InvalidArgument',
        /Unable to validate the following destination configurations/,
      ],
      [
        rule(
          `<QueueConfiguration><Id>x</Id><Queue>arn:aws:sqs:us-east-1:1:q</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration>`,
        ),
        'InvalidArgument',
        /Unable to validate/,
      ],
      [
        // Two unknown ARNs whose events overlap: the destinations are what is wrong, not an ambiguity.
        rule(
          `<QueueConfiguration><Id>a</Id><Queue>arn:bucketbell:webhook::nope</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration>` +
            `<QueueConfiguration><Id>b</Id><Queue>arn:bucketbell:webhook::nope</Queue><Event>s3:ObjectCreated:Put</Event></QueueConfiguration>` +
            `<TopicConfiguration><Id>c</Id><Topic>arn:bucketbell:webhook::also-nope</Topic><Event>s3:ObjectCreated:*</Event></TopicConfiguration>`,
        ),
        'InvalidArgument',
        /Unable to validate the following destination configurations/,
      ],
      [
        rule(
          `<QueueConfiguration><Id>x</Id><Queue>${ARN}</Queue><Event>s3:ObjectCreated:Nope</Event></QueueConfiguration>`,
        ),
        'InvalidArgument',
        /not supported/,
      ],
      [
        rule(
          `<QueueConfiguration><Id>a</Id><Queue>${ARN}</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>img/</Value></FilterRule></S3Key></Filter></QueueConfiguration>` +
            `<QueueConfiguration><Id>b</Id><Queue>${ARN}</Queue><Event>s3:ObjectCreated:Put</Event><Filter><S3Key><FilterRule><Name>prefix</Name><Value>img/2024/</Value></FilterRule></S3Key></Filter></QueueConfiguration>`,
        ),
        'InvalidArgument',
        /ambiguously defined/,
      ],
      [
        rule(
          `<QueueConfiguration><Id>a</Id><Queue>${ARN}</Queue><Event>s3:ObjectCreated:*</Event></QueueConfiguration><QueueConfiguration><Id>a</Id><Queue>arn:bucketbell:webhook::other</Queue><Event>s3:ObjectRemoved:*</Event></QueueConfiguration>`,
        ),
        'InvalidArgument',
        /Duplicate/,
      ],
      [
        rule(
          `<QueueConfiguration><Id>x</Id><Queue>${ARN}</Queue><Event>s3:ObjectCreated:*</Event><Filter><S3Key><FilterRule><Name>middle</Name><Value>x</Value></FilterRule></S3Key></Filter></QueueConfiguration>`,
        ),
        'InvalidArgument',
        /prefix or suffix/,
      ],
      ['<NotificationConfiguration><QueueConfiguration>', 'MalformedXML', /./],
      ['not xml at all', 'MalformedXML', /./],
      [rule('<Unknown/>'), 'MalformedXML', /./],
    ];
    for (const [xml, code, message] of cases) {
      const res = await put(xml);
      const error = parseErrorXml(res.body);
      assert.equal(res.status, code === 'MalformedXML' ? 400 : 400, xml);
      assert.equal(error.code, code, xml);
      assert.match(error.message, message, xml);
    }
    const still = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.deepEqual(
      still.QueueConfigurations?.map((q) => q.Id),
      ['rule-1'],
    );
    await expectS3Error(
      s3.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: 'no-such-bucket',
          NotificationConfiguration: {},
        }),
      ),
      'NoSuchBucket',
      404,
    );
  });

  it('skips the test event with x-amz-skip-destination-validation, and an empty document clears the configuration', async () => {
    const bucket = await setup.newBucket();
    await configure(bucket, ['s3:ObjectCreated:*']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(receiver.requests.filter((r) => r.body.includes('TestEvent')).length, 0);
    await s3.send(
      new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: {} }),
    );
    const cleared = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.equal(cleared.QueueConfigurations, undefined);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'quiet', Body: 'x' }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(receiver.eventRequests().length, 0);
  });

  it("confirms VK SimpleTopicConfiguration URLs with VK's handshake and returns the rule in VK form", async () => {
    const bucket = await setup.newBucket();
    const url = `${receiver.url}/vk`;
    const xml = `<NotificationConfiguration><SimpleTopicConfiguration><Id>vk-rule</Id><Url>${url}</Url><Event>s3:ObjectCreated:Put</Event></SimpleTopicConfiguration></NotificationConfiguration>`;
    const res = await rawRequest(server.s3Url, { method: 'PUT', path: `/${bucket}?notification`, body: xml });
    assert.equal(res.status, 200, res.body);
    const handshake = receiver.requests.find((r) => r.body.includes('SubscriptionConfirmation'))!;
    const message = JSON.parse(handshake.body) as Record<string, unknown>;
    assert.equal(message['Type'], 'SubscriptionConfirmation');
    assert.equal(message['SignatureVersion'], 1);
    assert.equal(message['TopicArn'], `bucketbell-root|${bucket}|s3:ObjectCreated:Put`);
    assert.ok(
      typeof message['Token'] === 'string' &&
        typeof message['Timestamp'] === 'string' &&
        typeof message['Message'] === 'string',
    );
    const got = await rawRequest(server.s3Url, { method: 'GET', path: `/${bucket}?notification` });
    assert.match(
      got.body,
      /<SimpleTopicConfiguration><Id>vk-rule<\/Id><Url>[^<]+\/vk<\/Url><Event>s3:ObjectCreated:Put<\/Event><\/SimpleTopicConfiguration>/,
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'vk-object', Body: 'x' }));
    await receiver.waitFor((rs) => rs.some((r) => r.path === '/vk' && r.body.includes('vk-object')));
  });

  it('confirms each new (Url, event) pair when a saved VK URL is saved again with more events', async () => {
    const bucket = await setup.newBucket();
    const url = `${receiver.url}/vk-resave`;
    const vkXml = (events: string[]) =>
      `<NotificationConfiguration><SimpleTopicConfiguration><Id>vk</Id><Url>${url}</Url>${events.map((e) => `<Event>${e}</Event>`).join('')}</SimpleTopicConfiguration></NotificationConfiguration>`;
    const save = (events: string[]) =>
      rawRequest(server.s3Url, { method: 'PUT', path: `/${bucket}?notification`, body: vkXml(events) });
    const handshakeTopics = () =>
      receiver.requests
        .filter((r) => r.body.includes('SubscriptionConfirmation'))
        .map((r) => (JSON.parse(r.body) as { TopicArn: string }).TopicArn);
    const owner = 'bucketbell-root';

    const first = await save(['s3:ObjectCreated:Put']);
    assert.equal(first.status, 200, first.body);
    assert.deepEqual(handshakeTopics(), [`${owner}|${bucket}|s3:ObjectCreated:Put`]);

    receiver.requests.length = 0;
    const more = await save(['s3:ObjectCreated:Put', 's3:ObjectRemoved:Delete']);
    assert.equal(more.status, 200, more.body);
    assert.deepEqual(
      handshakeTopics(),
      [`${owner}|${bucket}|s3:ObjectRemoved:Delete`],
      'only the new event is a new subscription to confirm',
    );

    receiver.requests.length = 0;
    const same = await save(['s3:ObjectRemoved:Delete', 's3:ObjectCreated:Put']);
    assert.equal(same.status, 200, same.body);
    assert.deepEqual(handshakeTopics(), [], 'nothing new, nothing to confirm');

    // A receiver that fails the handshake for the new pair refuses the PUT, and the saved rule (as
    // last saved) stays.
    receiver.vkAnswer = 'wrong';
    receiver.requests.length = 0;
    const refused = await save(['s3:ObjectCreated:Put', 's3:ObjectRemoved:Delete', 's3:ObjectCreated:Copy']);
    assert.equal(refused.status, 400);
    assert.equal(parseErrorXml(refused.body).code, 'InvalidArgument');
    assert.match(refused.body, /URL confirmation failed/);
    assert.deepEqual(handshakeTopics(), [`${owner}|${bucket}|s3:ObjectCreated:Copy`]);
    const got = await rawRequest(server.s3Url, { method: 'GET', path: `/${bucket}?notification` });
    assert.match(
      got.body,
      /<SimpleTopicConfiguration><Id>vk<\/Id><Url>[^<]+\/vk-resave<\/Url><Event>s3:ObjectRemoved:Delete<\/Event><Event>s3:ObjectCreated:Put<\/Event><\/SimpleTopicConfiguration>/,
    );
    assert.doesNotMatch(got.body, /ObjectCreated:Copy/);

    receiver.vkAnswer = 'correct';
    receiver.requests.length = 0;
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'vk-deleted' }));
    await receiver.waitFor((rs) => rs.some((r) => r.path === '/vk-resave' && r.body.includes('vk-deleted')));
  });

  it('rejects a VK URL whose receiver fails the handshake, and changes nothing', async () => {
    const bucket = await setup.newBucket();
    await configure(bucket, ['s3:ObjectCreated:*']);
    for (const answer of ['wrong', 500] as const) {
      receiver.vkAnswer = answer;
      const xml = `<NotificationConfiguration><SimpleTopicConfiguration><Id>vk</Id><Url>${receiver.url}/vk-bad</Url><Event>s3:ObjectCreated:*</Event></SimpleTopicConfiguration></NotificationConfiguration>`;
      const res = await rawRequest(server.s3Url, {
        method: 'PUT',
        path: `/${bucket}?notification`,
        body: xml,
      });
      assert.equal(res.status, 400);
      const error = parseErrorXml(res.body);
      assert.equal(error.code, 'InvalidArgument');
      assert.match(res.body, /URL confirmation failed/);
    }
    const unreachable = `<NotificationConfiguration><SimpleTopicConfiguration><Id>vk</Id><Url>http://127.0.0.1:1/none</Url><Event>s3:ObjectCreated:*</Event></SimpleTopicConfiguration></NotificationConfiguration>`;
    const res = await rawRequest(server.s3Url, {
      method: 'PUT',
      path: `/${bucket}?notification`,
      body: unreachable,
    });
    assert.equal(parseErrorXml(res.body).code, 'InvalidArgument');
    const still = await s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: bucket }));
    assert.deepEqual(
      still.QueueConfigurations?.map((q) => q.Id),
      ['rule-1'],
    );
  });
});
