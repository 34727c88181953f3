import type { DeliveryLogPosition } from '../db/delivery-log-repository.ts';

/** The opaque `cursor` of the deliveries log: where the previous page ended, base64url-encoded. */
export function encodeLogCursor(position: DeliveryLogPosition): string {
  return Buffer.from(JSON.stringify([position.createdAt, position.id]), 'utf8').toString('base64url');
}

/** The position a cursor names, or undefined when it is not one this API handed out. */
export function decodeLogCursor(cursor: string): DeliveryLogPosition | undefined {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
    const createdAt: unknown = parsed[0];
    const id: unknown = parsed[1];
    if (typeof createdAt !== 'number' || !Number.isSafeInteger(createdAt)) return undefined;
    // Delivery ids are UUIDs; anything else (a NUL, which PostgreSQL refuses) was not handed out.
    if (typeof id !== 'string' || !/^[\w-]{1,64}$/.test(id)) return undefined;
    return { createdAt, id };
  } catch {
    return undefined;
  }
}
