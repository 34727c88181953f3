import type { EventName } from './event-name.ts';

/** A committed event as stored in the outbox: everything a payload is rendered from. */
export interface EventRecord {
  /** Monotonic across the whole server: the source of `sequencer`. */
  readonly id: number;
  readonly eventName: EventName;
  readonly bucket: string;
  readonly bucketOwner: string;
  readonly key: string;
  readonly versionId: string | null;
  readonly size: number;
  readonly etag: string;
  readonly contentType: string | null;
  readonly userMetadata: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly principal: string;
  readonly sourceIp: string;
  readonly requestId: string;
}

/** A hex string that sorts (as text and as a number) in event order; AWS's `sequencer`. */
export function sequencerOf(eventId: number): string {
  return eventId.toString(16).toUpperCase().padStart(16, '0');
}

/** Encodes a key as S3 event messages do: form-style (`+` for space), slashes kept. */
export function encodeEventKey(key: string): string {
  let out = '';
  for (const byte of Buffer.from(key, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9.\-*_/]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
