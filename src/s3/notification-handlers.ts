import { randomBytes } from 'node:crypto';
import type { Insertable } from 'kysely';
import { isAdmin } from '../auth/identity.ts';
import {
  ENDPOINT_DEFAULTS,
  findEndpoint,
  listBucketRules,
  type EndpointRow,
} from '../db/notification-repository.ts';
import type { EndpointsTable } from '../db/schema.ts';
import { renderTestEvent } from '../delivery/formats/aws-s3-format.ts';
import { checkWebhookUrl } from '../delivery/url-policy.ts';
import { buildVkConfirmation, isValidVkAnswer } from '../delivery/vk-subscription.ts';
import { validateRules, type RuleProblem } from '../events/rule-validation.ts';
import {
  newRuleId,
  replaceNotificationConfiguration,
  type ConfigurationPlan,
  type PlannedRule,
} from '../mutations/notification-mutations.ts';
import { authorizeBucket } from './bucket-access.ts';
import { endpointArn, parseEndpointArn } from './endpoint-arn.ts';
import {
  invalidArgument,
  parseNotificationConfiguration,
  renderNotificationConfiguration,
  type RuleInput,
} from './notification-xml.ts';
import { header, type RequestContext } from './request-context.ts';
import { readSmallBody, sendEmpty } from './respond.ts';
import { S3Error } from './s3-error.ts';
import { parseXml } from './xml.ts';

const UNABLE_TO_VALIDATE = 'Unable to validate the following destination configurations';

export async function handleGetBucketNotificationConfiguration(
  rc: RequestContext,
  bucket: string,
): Promise<void> {
  await authorizeBucket(rc, bucket);
  const db = rc.services.database.db;
  const rules = await listBucketRules(db, bucket);
  const withDestinations = [];
  for (const rule of rules) {
    const endpoint = await findEndpoint(db, rule.endpoint_id);
    const destination =
      rule.form === 'SimpleTopicConfiguration' ? (endpoint?.url ?? '') : endpointArn(rule.endpoint_id);
    withDestinations.push({ ...rule, destination });
  }
  const body = renderNotificationConfiguration(withDestinations);
  rc.res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  rc.res.end(body);
}

/**
 * Replaces a bucket's notification configuration. AWS forms name endpoints by ARN; VK's
 * SimpleTopicConfiguration names a URL, which becomes a bucket-private endpoint once the receiver
 * passes VK's confirmation handshake. New destinations get an s3:TestEvent unless
 * `x-amz-skip-destination-validation: true`.
 */
export async function handlePutBucketNotificationConfiguration(
  rc: RequestContext,
  bucket: string,
): Promise<void> {
  const bucketRow = await authorizeBucket(rc, bucket);
  const body = await readSmallBody(rc, 1024 * 1024);
  const inputs = parseNotificationConfiguration(body.toString('utf8'), parseXml);
  const db = rc.services.database.db;
  const previous = await listBucketRules(db, bucket);
  const previousEndpoints = new Set(previous.map((r) => r.endpoint_id));
  const createEndpoints: Insertable<EndpointsTable>[] = [];
  const vkByUrl = new Map<string, string>();
  const failures: [string, string][] = [];
  const rules: PlannedRule[] = [];
  const now = rc.services.mutations.now();
  for (const input of inputs) {
    const endpointId =
      input.form === 'SimpleTopicConfiguration'
        ? await resolveVkEndpoint(rc, bucket, input, vkByUrl, createEndpoints, failures, now)
        : await resolveArn(rc, bucket, input.destination, failures);
    rules.push({
      id: input.id === '' ? newRuleId() : input.id,
      form: input.form,
      endpointId: endpointId ?? '',
      events: input.events,
      prefix: input.prefix,
      suffix: input.suffix,
    });
  }
  // A rule whose destination did not resolve has no destination to overlap with: it is reported as
  // "Unable to validate", never as ambiguous with another unresolved one.
  const problem = validateRules(
    rules.map((r, i) => ({
      id: r.id,
      destination: r.endpointId === '' ? `unresolved:${i}` : r.endpointId,
      events: r.events,
      prefix: r.prefix,
      suffix: r.suffix,
    })),
  );
  if (problem !== undefined) throw ruleProblemError(problem);
  if (failures.length > 0) throw unableToValidate(failures);
  // VK's handshake runs only once the document is otherwise valid, so a bad document sends nothing.
  // Each (Url, event) is its own subscription (TopicArn <owner>|<bucket>|<event>): every pair the
  // bucket's saved VK rules do not already hold is confirmed, for new and existing URLs alike.
  const vkEndpoints = new Map<string, string>([...vkByUrl].map(([url, id]) => [id, url]));
  const confirmed = new Set(
    previous
      .filter((r) => r.form === 'SimpleTopicConfiguration')
      .flatMap((r) => (JSON.parse(r.events) as string[]).map((event) => `${r.endpoint_id}\n${event}`)),
  );
  for (const rule of rules) {
    if (rule.form !== 'SimpleTopicConfiguration') continue;
    const url = vkEndpoints.get(rule.endpointId);
    if (url === undefined) continue;
    for (const event of rule.events) {
      const pair = `${rule.endpointId}\n${event}`;
      if (confirmed.has(pair)) continue;
      confirmed.add(pair);
      const reason = await confirmVkUrl(rc, url, `${bucketRow.owner}|${bucket}|${event}`);
      if (reason !== undefined) failures.push([url, reason]);
    }
  }
  if (failures.length > 0) throw unableToValidate(failures);
  const skipTest = header(rc, 'x-amz-skip-destination-validation')?.toLowerCase() === 'true';
  const testMessages: ConfigurationPlan['testMessages'][number][] = [];
  if (!skipTest) {
    const seen = new Set<string>();
    for (const rule of rules) {
      if (previousEndpoints.has(rule.endpointId) || seen.has(rule.endpointId)) continue;
      seen.add(rule.endpointId);
      testMessages.push({
        endpointId: rule.endpointId,
        ruleId: rule.id,
        body: renderTestEvent(bucket, rc.requestId, now),
      });
    }
  }
  await replaceNotificationConfiguration(rc.services.mutations, rc.actor, bucket, {
    rules,
    createEndpoints,
    testMessages,
  });
  sendEmpty(rc, 200);
}

/** Finds the endpoint an ARN names and checks this bucket may send to it; records a failure otherwise. */
async function resolveArn(
  rc: RequestContext,
  bucket: string,
  arn: string,
  failures: [string, string][],
): Promise<string | undefined> {
  const id = parseEndpointArn(arn);
  if (id === undefined) {
    failures.push([
      arn,
      'The destination ARN is not a bucketbell webhook ARN (arn:bucketbell:webhook::<endpoint-id>).',
    ]);
    return undefined;
  }
  const endpoint = await findEndpoint(rc.services.database.db, id);
  if (endpoint === undefined || !mayUseEndpoint(rc, endpoint, bucket)) {
    failures.push([arn, 'The destination endpoint does not exist or this bucket may not publish to it.']);
    return undefined;
  }
  return endpoint.id;
}

/** A bucket-private endpoint serves only its bucket; a shared one serves its owner's buckets, or any bucket when an admin configures it. */
function mayUseEndpoint(rc: RequestContext, endpoint: EndpointRow, bucket: string): boolean {
  if (endpoint.bucket !== null) return endpoint.bucket === bucket;
  return endpoint.owner === rc.identity.userName || isAdmin(rc.identity);
}

async function resolveVkEndpoint(
  rc: RequestContext,
  bucket: string,
  input: RuleInput,
  vkByUrl: Map<string, string>,
  createEndpoints: Insertable<EndpointsTable>[],
  failures: [string, string][],
  now: number,
): Promise<string | undefined> {
  const url = input.destination;
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    failures.push([url, 'The Url must be an http or https URL.']);
    return undefined;
  }
  const known = vkByUrl.get(url);
  if (known !== undefined) return known;
  const existing = await rc.services.database.db
    .selectFrom('endpoints')
    .select('id')
    .where('origin', '=', 'vk')
    .where('bucket', '=', bucket)
    .where('url', '=', url)
    .executeTakeFirst();
  if (existing !== undefined) {
    vkByUrl.set(url, existing.id);
    return existing.id;
  }
  // A new endpoint: its owner must be allowed to reach the URL's addresses (checked again at every dial).
  const verdict = await checkWebhookUrl(url, {
    allowPrivate: isAdmin(rc.identity),
    allowedCidrs: rc.services.webhookAllowedCidrs,
  });
  if (!verdict.ok) {
    failures.push([url, `The Url is refused (${verdict.code}): ${verdict.reason}.`]);
    return undefined;
  }
  const id = `vk_${randomBytes(10).toString('hex')}`;
  vkByUrl.set(url, id);
  createEndpoints.push({
    ...ENDPOINT_DEFAULTS,
    id,
    name: input.id === '' ? url : input.id,
    url,
    owner: rc.identity.userName,
    bucket,
    origin: 'vk',
    created_at: now,
    updated_at: now,
  });
  return id;
}

/** Runs VK's SubscriptionConfirmation against a URL; returns why it failed, or undefined. */
async function confirmVkUrl(rc: RequestContext, url: string, topicArn: string): Promise<string | undefined> {
  const request = buildVkConfirmation(url, topicArn, rc.services.mutations.now());
  // The endpoint will be the requester's: the handshake may reach what its deliveries may reach.
  const sender = isAdmin(rc.identity) ? rc.services.trustedSender : rc.services.sender;
  const result = await sender.send({
    url,
    headers: { 'content-type': 'application/json', 'user-agent': rc.services.userAgent },
    body: request.body,
    timeoutMs: 10_000,
  });
  if (result.statusCode === undefined)
    return `URL confirmation failed: ${result.errorCode ?? 'ERROR'} ${result.error ?? ''}`.trim();
  if (result.statusCode < 200 || result.statusCode > 299)
    return `URL confirmation failed: the receiver answered HTTP ${result.statusCode}`;
  if (!isValidVkAnswer(result.responseBody ?? '', request.expectedSignature)) {
    return 'URL confirmation failed: the receiver did not answer with the expected signature';
  }
  return undefined;
}

function unableToValidate(failures: readonly [string, string][]): S3Error {
  const extra: Record<string, string> = {};
  failures.forEach(([name, value], i) => {
    extra[`ArgumentName${i + 1}`] = name;
    extra[`ArgumentValue${i + 1}`] = value;
  });
  return new S3Error('InvalidArgument', UNABLE_TO_VALIDATE, extra);
}

function ruleProblemError(problem: RuleProblem): S3Error {
  switch (problem.kind) {
    case 'unknown-event':
      return invalidArgument(
        `The event is not supported for notifications: ${problem.event}`,
        'Event',
        problem.event,
      );
    case 'duplicate-id':
      return invalidArgument('Duplicate notification configuration id', 'Id', problem.id);
    case 'ambiguous':
      return invalidArgument(
        'Configuration is ambiguously defined. Cannot have overlapping suffixes in two rules if the prefixes are overlapping for the same event type.',
        'Event',
        `${problem.first}, ${problem.second}`,
      );
    case 'no-events':
      return invalidArgument('A notification configuration needs at least one Event.', 'Event', problem.id);
    case 'invalid-id':
      return invalidArgument(
        'The configuration id is longer than 255 characters.',
        'Id',
        problem.id.slice(0, 64),
      );
  }
}
