import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface QueueSnapshot {
  readonly queueDepth: number;
  readonly held: number;
}

/** Every metric the server exports, registered on one registry per server instance. */
export interface Metrics {
  readonly registry: Registry;
  readonly s3Requests: Counter<'operation' | 'status'>;
  readonly s3RequestDuration: Histogram<'operation'>;
  readonly s3BytesReceived: Counter;
  readonly s3BytesSent: Counter;
  readonly blobsSwept: Counter;
  readonly deliveryAttempts: Counter<'outcome' | 'error_code'>;
  readonly deliveryAttemptDuration: Histogram;
  /** Endpoints disabled by auto-disable, by trigger (`failures` or `duration`). */
  readonly webhookAutoDisabled: Counter<'trigger'>;
  /** Where the queue gauges read from at scrape time (the dispatcher's status). */
  watchDeliveryQueue(source: () => QueueSnapshot): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'bucketbell_process_' });
  let queueSource: (() => QueueSnapshot) | undefined;
  new Gauge({
    name: 'bucketbell_delivery_queue_depth',
    help: 'Deliveries waiting or in flight',
    registers: [registry],
    collect() {
      if (queueSource !== undefined) this.set(queueSource().queueDepth);
    },
  });
  new Gauge({
    name: 'bucketbell_delivery_held',
    help: 'Deliveries held for paused or disabled endpoints',
    registers: [registry],
    collect() {
      if (queueSource !== undefined) this.set(queueSource().held);
    },
  });
  return {
    registry,
    s3Requests: new Counter({
      name: 'bucketbell_s3_requests_total',
      help: 'S3 API requests by operation and HTTP status',
      labelNames: ['operation', 'status'],
      registers: [registry],
    }),
    s3RequestDuration: new Histogram({
      name: 'bucketbell_s3_request_duration_seconds',
      help: 'S3 API request duration by operation',
      labelNames: ['operation'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    s3BytesReceived: new Counter({
      name: 'bucketbell_s3_received_bytes_total',
      help: 'Object bytes received by the S3 API',
      registers: [registry],
    }),
    s3BytesSent: new Counter({
      name: 'bucketbell_s3_sent_bytes_total',
      help: 'Object bytes sent by the S3 API',
      registers: [registry],
    }),
    blobsSwept: new Counter({
      name: 'bucketbell_storage_swept_blobs_total',
      help: 'Orphaned blob files removed by the sweeper',
      registers: [registry],
    }),
    deliveryAttempts: new Counter({
      name: 'bucketbell_delivery_attempts_total',
      help: 'Webhook POST attempts by outcome (succeeded, retrying, dead, lost) and error code',
      labelNames: ['outcome', 'error_code'],
      registers: [registry],
    }),
    deliveryAttemptDuration: new Histogram({
      name: 'bucketbell_delivery_attempt_duration_seconds',
      help: 'Duration of webhook POST attempts',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers: [registry],
    }),
    webhookAutoDisabled: autoDisabledCounter(registry),
    watchDeliveryQueue: (source) => {
      queueSource = source;
    },
  };
}

/** Both triggers are exported from the start (at 0), so an alert on their increase needs no first event. */
function autoDisabledCounter(registry: Registry): Counter<'trigger'> {
  const counter = new Counter({
    name: 'bucketbell_webhook_auto_disabled_total',
    help: 'Webhook endpoints disabled automatically after consecutive failed deliveries (trigger=failures) or failing too long (trigger=duration)',
    labelNames: ['trigger'],
    registers: [registry],
  });
  for (const trigger of ['failures', 'duration']) counter.inc({ trigger }, 0);
  return counter;
}
