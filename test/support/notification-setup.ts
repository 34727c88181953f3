import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  CreateBucketCommand,
  PutBucketNotificationConfigurationCommand,
  type Event,
  type PutBucketNotificationConfigurationCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { startServer, type TestServer } from './test-server.ts';
import { WebhookReceiver } from './webhook-receiver.ts';

/**
 * One entry of the config file's `endpoints:` list. Its `url` is the receiver's `/<name>`; every other
 * key is written into the YAML as given (so `${VAR}` is left for the server to expand).
 */
export type EndpointYaml = { readonly name: string } & Readonly<Record<string, string>>;

export interface NotificationSetup {
  readonly server: TestServer;
  readonly receiver: WebhookReceiver;
  /** The temporary folder holding `bucketbell.yaml`, free for other files; `cleanup` removes it. */
  readonly configDir: string;
  /** Creates a new, empty bucket named `<bucketPrefix>-<n>`. */
  newBucket(): Promise<string>;
  /** Forgets what the receiver got and restores its default answers: call before each test. */
  resetReceiver(): void;
  /** Stops the server and the receiver, and removes the config folder. */
  cleanup(): Promise<void>;
}

/** Starts a webhook receiver and a server whose config file (`--config`) lists these endpoints. */
export async function startWithEndpoints(options: {
  readonly endpoints: readonly EndpointYaml[];
  /** The server's environment: the values the YAML's `${VAR}`s name. */
  readonly env: Readonly<Record<string, string>>;
  readonly bucketPrefix: string;
}): Promise<NotificationSetup> {
  const receiver = await new WebhookReceiver().start();
  const configDir = await mkdtemp(path.join(tmpdir(), 'bucketbell-config-'));
  const configFile = path.join(configDir, 'bucketbell.yaml');
  const entries = options.endpoints.flatMap(({ name, ...keys }) => [
    `  - name: ${name}`,
    `    url: ${receiver.url}/${name}`,
    ...Object.entries(keys).map(([key, value]) => `    ${key}: ${value}`),
  ]);
  await writeFile(configFile, ['endpoints:', ...entries, ''].join('\n'));
  const server = await startServer({ args: ['--config', configFile], env: options.env });
  const s3 = server.client();
  let buckets = 0;
  return {
    server,
    receiver,
    configDir,
    async newBucket() {
      buckets += 1;
      const bucket = `${options.bucketPrefix}-${buckets}`;
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      return bucket;
    },
    resetReceiver() {
      receiver.requests.length = 0;
      receiver.script.length = 0;
      receiver.defaultReply = { status: 200, body: 'ok' };
      receiver.vkAnswer = 'correct';
    },
    async cleanup() {
      await server.cleanup();
      await receiver.stop();
      await rm(configDir, { recursive: true, force: true });
    },
  };
}

export interface QueueRule {
  readonly id: string;
  readonly arn: string;
  readonly events: readonly Event[];
  readonly filter?: { readonly prefix?: string; readonly suffix?: string };
}

/** Sets `bucket`'s notification configuration to this one queue rule, destination validation skipped. */
export function putQueueNotification(
  client: S3Client,
  bucket: string,
  rule: QueueRule,
): Promise<PutBucketNotificationConfigurationCommandOutput> {
  const filterRules = [];
  if (rule.filter?.prefix !== undefined)
    filterRules.push({ Name: 'prefix' as const, Value: rule.filter.prefix });
  if (rule.filter?.suffix !== undefined)
    filterRules.push({ Name: 'suffix' as const, Value: rule.filter.suffix });
  return client.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: bucket,
      SkipDestinationValidation: true,
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Id: rule.id,
            QueueArn: rule.arn,
            Events: [...rule.events],
            ...(filterRules.length > 0 ? { Filter: { Key: { FilterRules: filterRules } } } : {}),
          },
        ],
      },
    }),
  );
}
