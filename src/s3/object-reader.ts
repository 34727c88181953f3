import { PassThrough, Readable } from 'node:stream';
import { findObjectParts, type ObjectPartRow, type ObjectRow } from '../db/object-repository.ts';
import type { Executor } from '../db/database.ts';
import type { BlobStore } from '../storage/blob-store.ts';

/** A piece of an object: a blob, or bytes kept in the object's row (a small object). */
type Segment =
  { readonly blobId: string; readonly size: number } | { readonly inline: Uint8Array; readonly size: number };

/** The pieces an object is made of, in order. */
export async function objectSegments(
  db: Executor,
  row: ObjectRow,
): Promise<{ segments: Segment[]; parts: ObjectPartRow[] }> {
  if (row.inline_data !== null) return { segments: [{ inline: row.inline_data, size: row.size }], parts: [] };
  if (row.blob_id !== null) return { segments: [{ blobId: row.blob_id, size: row.size }], parts: [] };
  const parts = await findObjectParts(db, row.id);
  return { segments: parts.map((p) => ({ blobId: p.blob_id, size: p.size })), parts };
}

/** Streams bytes `start`..`end` (inclusive) of an object made of `segments`. */
export async function readSegments(
  blobs: BlobStore,
  segments: readonly Segment[],
  start: number,
  end: number,
): Promise<Readable> {
  if (segments.length === 1 && end >= start) return readSegment(blobs, segments[0]!, start, end);
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  // Open the first blob now, so that a missing one fails before a status line is sent.
  const first = segments.find((s, i) => s.size > 0 && offsetOf(segments, i) + s.size - 1 >= start);
  if (first !== undefined) {
    const probe = await readSegment(blobs, first, 0, 0);
    probe.destroy();
  }
  void (async () => {
    let offset = 0;
    for (const segment of segments) {
      const segStart = offset;
      const segEnd = offset + segment.size - 1;
      offset += segment.size;
      if (segment.size === 0 || segEnd < start || segStart > end) continue;
      const from = Math.max(start, segStart) - segStart;
      const to = Math.min(end, segEnd) - segStart;
      for await (const chunk of await readSegment(blobs, segment, from, to)) {
        if (!out.write(chunk)) {
          await new Promise((resolve) => {
            out.once('drain', resolve);
            out.once('close', resolve);
          });
        }
        if (out.destroyed) return;
      }
    }
    out.end();
  })().catch((err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))));
  return out;
}

/** Bytes `start`..`end` (inclusive) of one segment. */
async function readSegment(
  blobs: BlobStore,
  segment: Segment,
  start: number,
  end: number,
): Promise<Readable> {
  if ('blobId' in segment) return blobs.read(segment.blobId, { start, end });
  return Readable.from([inlineSlice(segment.inline, start, end)], { objectMode: false });
}

/** Bytes `start`..`end` (inclusive) of an object kept in its row; undefined when it is not one. */
export function inlineRange(segments: readonly Segment[], start: number, end: number): Buffer | undefined {
  const only = segments.length === 1 ? segments[0]! : undefined;
  return only === undefined || !('inline' in only) ? undefined : inlineSlice(only.inline, start, end);
}

function inlineSlice(bytes: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).subarray(start, end + 1);
}

function offsetOf(segments: readonly Segment[], index: number): number {
  let offset = 0;
  for (let i = 0; i < index; i += 1) offset += segments[i]!.size;
  return offset;
}
