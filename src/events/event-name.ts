/** The S3 event names bucketbell emits, spelled exactly as AWS does. */
export const EVENT_NAMES = [
  's3:ObjectCreated:Put',
  's3:ObjectCreated:Post',
  's3:ObjectCreated:Copy',
  's3:ObjectCreated:CompleteMultipartUpload',
  's3:ObjectRemoved:Delete',
] as const;

export type EventName = (typeof EVENT_NAMES)[number];
