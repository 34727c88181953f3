import type { EventName } from './event-name.ts';
import { matchesPattern, type EventPattern } from './event-pattern.ts';

/** One rule of a bucket's notification configuration: which events under which keys go to which endpoint. */
export interface NotificationRule {
  /** The S3 configuration id (`configurationId` in payloads). */
  readonly id: string;
  readonly bucket: string;
  readonly endpointId: string;
  readonly events: readonly EventPattern[];
  readonly prefix: string;
  readonly suffix: string;
}

/** What a rule is matched against. */
export interface MatchableEvent {
  readonly bucket: string;
  readonly key: string;
  readonly eventName: EventName;
}

export function ruleMatches(rule: NotificationRule, event: MatchableEvent): boolean {
  return (
    rule.bucket === event.bucket &&
    event.key.startsWith(rule.prefix) &&
    event.key.endsWith(rule.suffix) &&
    rule.events.some((pattern) => matchesPattern(pattern, event.eventName))
  );
}

/**
 * The rules an event matches, at most one per endpoint (the first, in configuration order):
 * an endpoint gets one delivery per event even when several of its rules match.
 */
export function matchRules(rules: readonly NotificationRule[], event: MatchableEvent): NotificationRule[] {
  const seen = new Set<string>();
  const matched: NotificationRule[] = [];
  for (const rule of rules) {
    if (seen.has(rule.endpointId) || !ruleMatches(rule, event)) continue;
    seen.add(rule.endpointId);
    matched.push(rule);
  }
  return matched;
}
