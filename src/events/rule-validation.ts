import { expandPatterns, isAwsEventPattern, type EventPattern } from './event-pattern.ts';

/** Why a set of rules cannot be saved; the S3 layer turns these into InvalidArgument errors. */
export type RuleProblem =
  | { readonly kind: 'unknown-event'; readonly event: string }
  | { readonly kind: 'duplicate-id'; readonly id: string }
  | { readonly kind: 'ambiguous'; readonly first: string; readonly second: string }
  | { readonly kind: 'no-events'; readonly id: string }
  | { readonly kind: 'invalid-id'; readonly id: string };

export interface RuleDraft {
  readonly id: string;
  /** Where events go: two drafts with the same destination must not overlap. */
  readonly destination: string;
  readonly events: readonly EventPattern[];
  readonly prefix: string;
  readonly suffix: string;
}

/**
 * AWS's checks on a notification configuration: known event names, unique ids, and no two rules
 * for the same destination whose event types, prefixes and suffixes all overlap.
 */
export function validateRules(drafts: readonly RuleDraft[]): RuleProblem | undefined {
  const ids = new Set<string>();
  for (const draft of drafts) {
    if (draft.id.length > 255) return { kind: 'invalid-id', id: draft.id };
    if (ids.has(draft.id)) return { kind: 'duplicate-id', id: draft.id };
    ids.add(draft.id);
    if (draft.events.length === 0) return { kind: 'no-events', id: draft.id };
    for (const event of draft.events) if (!isAwsEventPattern(event)) return { kind: 'unknown-event', event };
  }
  for (let i = 0; i < drafts.length; i += 1) {
    for (let j = i + 1; j < drafts.length; j += 1) {
      const a = drafts[i]!;
      const b = drafts[j]!;
      if (a.destination === b.destination && overlaps(a, b))
        return { kind: 'ambiguous', first: a.id, second: b.id };
    }
  }
  return undefined;
}

function overlaps(a: RuleDraft, b: RuleDraft): boolean {
  const eventsA = new Set(expandPatterns(a.events));
  const sharesEvent = expandPatterns(b.events).some((e) => eventsA.has(e));
  const prefixesOverlap = a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix);
  const suffixesOverlap = a.suffix.endsWith(b.suffix) || b.suffix.endsWith(a.suffix);
  return sharesEvent && prefixesOverlap && suffixesOverlap;
}
