import type { EventName } from '../events/event-name.ts';

/** One committed change to one object key: the seed of an event. */
export interface ObjectChange {
  readonly eventName: EventName;
  readonly bucket: string;
  /** The bucket owner's access key id (`ownerIdentity` in payloads). */
  readonly bucketOwner: string;
  readonly key: string;
  readonly versionId: string | null;
  readonly size: number;
  readonly etag: string;
  readonly contentType: string | null;
  readonly userMetadata: Readonly<Record<string, string>>;
  readonly time: number;
}
