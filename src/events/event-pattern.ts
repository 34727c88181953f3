import { EVENT_NAMES, type EventName } from './event-name.ts';

/**
 * An event pattern: an exact AWS event name, an AWS wildcard (`s3:ObjectCreated:*`), or a glob
 * (`*` matches any run of characters, as s3-orchestrator's endpoint configuration allows).
 */
export type EventPattern = string;

const AWS_PATTERNS = new Set<string>([...EVENT_NAMES, 's3:ObjectCreated:*', 's3:ObjectRemoved:*']);

/** True when AWS itself would accept this event name in a notification configuration. */
export function isAwsEventPattern(pattern: string): boolean {
  return AWS_PATTERNS.has(pattern);
}

/** True when `pattern` is a glob that matches at least one event bucketbell emits. */
export function isUsableGlob(pattern: string): boolean {
  return EVENT_NAMES.some((name) => matchesPattern(pattern, name));
}

const compiled = new Map<string, RegExp>();

export function matchesPattern(pattern: EventPattern, name: string): boolean {
  if (!pattern.includes('*')) return pattern === name;
  let re = compiled.get(pattern);
  if (re === undefined) {
    re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
    compiled.set(pattern, re);
  }
  return re.test(name);
}

/** The concrete event names a set of patterns covers. */
export function expandPatterns(patterns: readonly EventPattern[]): EventName[] {
  return EVENT_NAMES.filter((name) => patterns.some((p) => matchesPattern(p, name)));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
