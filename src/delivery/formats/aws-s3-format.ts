import { encodeEventKey, sequencerOf } from '../../events/event-record.ts';
import type { EventForDelivery, PayloadFormat, PayloadSettings } from './payload-format.ts';

/** Amazon S3's event message structure (version 2.1), as Alarik and AWS send it: `{"Records": [...]}`. */
export const awsS3Format: PayloadFormat = {
  name: 'aws',
  contentType: 'application/json',
  render(events: readonly EventForDelivery[], settings: PayloadSettings): string {
    return JSON.stringify({ Records: events.map((e) => awsRecord(e, settings)) });
  },
};

export function awsRecord(
  { event, ruleId }: EventForDelivery,
  settings: PayloadSettings,
): Record<string, unknown> {
  const isCreate = event.eventName.startsWith('s3:ObjectCreated:');
  return {
    eventVersion: '2.1',
    eventSource: settings.eventSource,
    awsRegion: settings.region,
    eventTime: new Date(event.time).toISOString(),
    eventName: event.eventName.slice('s3:'.length),
    userIdentity: { principalId: event.principal },
    requestParameters: { sourceIPAddress: event.sourceIp },
    responseElements: { 'x-amz-request-id': event.requestId, 'x-amz-id-2': event.requestId },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: ruleId,
      bucket: {
        name: event.bucket,
        ownerIdentity: { principalId: event.bucketOwner },
        arn: `arn:aws:s3:::${event.bucket}`,
      },
      object: {
        key: encodeEventKey(event.key),
        ...(isCreate ? { size: event.size, eTag: event.etag } : {}),
        ...(event.versionId === null ? {} : { versionId: event.versionId }),
        sequencer: sequencerOf(event.id),
      },
    },
  };
}

/** AWS's `s3:TestEvent`, sent when a destination is configured and by "ping". */
export function renderTestEvent(bucket: string, requestId: string, time: number): string {
  return JSON.stringify({
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: new Date(time).toISOString(),
    Bucket: bucket,
    RequestId: requestId,
    HostId: requestId,
  });
}
