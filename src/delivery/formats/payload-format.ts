import type { EventRecord } from '../../events/event-record.ts';

/** The server-wide facts a payload mentions. */
export interface PayloadSettings {
  readonly region: string;
  /** `eventSource` in AWS records, e.g. `bucketbell:s3` or `aws:s3`. */
  readonly eventSource: string;
}

/** One event as one endpoint receives it: the record plus the rule that matched it. */
export interface EventForDelivery {
  readonly event: EventRecord;
  /** The rule id (`configurationId`). */
  readonly ruleId: string;
}

/** A pure renderer from events to a request body. Formats never do I/O. */
export interface PayloadFormat {
  readonly name: string;
  readonly contentType: string;
  render(events: readonly EventForDelivery[], settings: PayloadSettings): string;
}
