import type { RuleRow } from '../db/notification-repository.ts';
import { S3Error } from './s3-error.ts';
import { renderXml, xmlList, xmlText, type XmlTree } from './xml.ts';

export type RuleForm = RuleRow['form'];

/** One rule as a client wrote it in PutBucketNotificationConfiguration. */
export interface RuleInput {
  readonly form: RuleForm;
  /** Empty when the client gave none; the server assigns one. */
  readonly id: string;
  /** The ARN (AWS forms) or URL (VK's SimpleTopicConfiguration). */
  readonly destination: string;
  readonly events: readonly string[];
  readonly prefix: string;
  readonly suffix: string;
}

/** The element that holds the destination in each form. */
const DESTINATION_ELEMENT: Record<RuleForm, string> = {
  QueueConfiguration: 'Queue',
  TopicConfiguration: 'Topic',
  CloudFunctionConfiguration: 'CloudFunction',
  SimpleTopicConfiguration: 'Url',
};
const FORMS = Object.keys(DESTINATION_ELEMENT) as RuleForm[];

/** Parses a NotificationConfiguration document; throws MalformedXML or InvalidArgument as AWS does. */
export function parseNotificationConfiguration(
  text: string,
  parse: (text: string) => Record<string, unknown> | undefined,
): RuleInput[] {
  const doc = parse(text);
  const root = doc?.['NotificationConfiguration'];
  if (doc === undefined || root === undefined) throw new S3Error('MalformedXML');
  if (root === '') return [];
  if (typeof root !== 'object' || root === null) throw new S3Error('MalformedXML');
  const rules: RuleInput[] = [];
  for (const [element, value] of Object.entries(root as Record<string, unknown>)) {
    if (element === 'EventBridgeConfiguration') {
      throw new S3Error(
        'NotImplemented',
        'EventBridgeConfiguration is not supported: use webhook ARNs (arn:bucketbell:webhook::<id>).',
      );
    }
    if (!FORMS.includes(element as RuleForm))
      throw new S3Error('MalformedXML', `Unexpected element ${element} in NotificationConfiguration.`);
    const form = element as RuleForm;
    for (const entry of xmlList(value)) rules.push(parseRule(form, entry));
  }
  return rules;
}

function parseRule(form: RuleForm, entry: unknown): RuleInput {
  if (typeof entry !== 'object' || entry === null) throw new S3Error('MalformedXML');
  const fields = entry as Record<string, unknown>;
  const known = new Set(['Id', 'Event', 'Filter', DESTINATION_ELEMENT[form]]);
  for (const name of Object.keys(fields)) {
    if (!known.has(name)) throw new S3Error('MalformedXML', `Unexpected element ${name} in ${form}.`);
  }
  const destination = xmlText(fields[DESTINATION_ELEMENT[form]])?.trim();
  if (destination === undefined || destination === '') {
    throw new S3Error('MalformedXML', `${form} needs a ${DESTINATION_ELEMENT[form]} element.`);
  }
  const events = xmlList(fields['Event']).map((e) => {
    const text = xmlText(e)?.trim();
    if (text === undefined) throw new S3Error('MalformedXML');
    return text;
  });
  const { prefix, suffix } = parseFilter(fields['Filter']);
  return { form, id: xmlText(fields['Id'])?.trim() ?? '', destination, events, prefix, suffix };
}

function parseFilter(filter: unknown): { prefix: string; suffix: string } {
  if (filter === undefined || filter === '') return { prefix: '', suffix: '' };
  if (typeof filter !== 'object' || filter === null) throw new S3Error('MalformedXML');
  const s3Key = (filter as Record<string, unknown>)['S3Key'];
  if (s3Key === undefined || s3Key === '') return { prefix: '', suffix: '' };
  if (typeof s3Key !== 'object' || s3Key === null) throw new S3Error('MalformedXML');
  let prefix: string | undefined;
  let suffix: string | undefined;
  for (const rule of xmlList((s3Key as Record<string, unknown>)['FilterRule'])) {
    if (typeof rule !== 'object' || rule === null) throw new S3Error('MalformedXML');
    const name = xmlText((rule as Record<string, unknown>)['Name'])
      ?.trim()
      .toLowerCase();
    const value = xmlText((rule as Record<string, unknown>)['Value']) ?? '';
    if (name === 'prefix') {
      if (prefix !== undefined)
        throw invalidArgument(
          'Cannot specify more than one prefix rule in a filter.',
          'FilterRule',
          'prefix',
        );
      prefix = value;
    } else if (name === 'suffix') {
      if (suffix !== undefined)
        throw invalidArgument(
          'Cannot specify more than one suffix rule in a filter.',
          'FilterRule',
          'suffix',
        );
      suffix = value;
    } else {
      throw invalidArgument('filter rule name must be either prefix or suffix', 'FilterRule', name ?? '');
    }
  }
  return { prefix: prefix ?? '', suffix: suffix ?? '' };
}

export function invalidArgument(message: string, name: string, value: string): S3Error {
  return new S3Error('InvalidArgument', message, { ArgumentName: name, ArgumentValue: value });
}

/** Renders a bucket's rules, each in the form it was created in. */
export function renderNotificationConfiguration(
  rules: readonly (RuleRow & { readonly destination: string })[],
): string {
  const groups: Partial<Record<RuleForm, XmlTree[]>> = {};
  for (const rule of rules) {
    const filterRules: XmlTree[] = [];
    if (rule.prefix !== '') filterRules.push({ Name: 'Prefix', Value: rule.prefix });
    if (rule.suffix !== '') filterRules.push({ Name: 'Suffix', Value: rule.suffix });
    const tree: XmlTree = {
      Id: rule.id,
      [DESTINATION_ELEMENT[rule.form]]: rule.destination,
      Event: JSON.parse(rule.events) as string[],
      ...(filterRules.length > 0 ? { Filter: { S3Key: { FilterRule: filterRules } } } : {}),
    };
    (groups[rule.form] ??= []).push(tree);
  }
  const ordered: Record<string, XmlTree[]> = {};
  for (const form of FORMS) if (groups[form] !== undefined) ordered[form] = groups[form];
  return renderXml('NotificationConfiguration', ordered);
}
