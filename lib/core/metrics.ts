import { metrics, type Attributes, type Counter, type Histogram, type Meter, type MeterProvider } from '@opentelemetry/api';
import type { WorkerEvent } from './worker';

/** What a worker reports through its observable instruments, read when a metric reader collects. */
export interface ObservedWorkerState {
  leasesHeld(): number;
  shards(): readonly { shardId: string; millisBehindLatest?: number }[];
}

const SCOPE = 'nestjs-kinesis-worker';

/**
 * The worker's OpenTelemetry instruments, through @opentelemetry/api only: a no-op unless the app
 * registers an SDK (or passes `meterProvider`). Instruments are created once per worker and the
 * attributes once per shard, so the per-batch cost is a few counter adds, never per record.
 * Names follow OpenTelemetry's messaging conventions where they fit (messaging.*), the rest are
 * kinesis.worker.*; docs/metrics.md lists them with their units.
 */
export class WorkerMetrics {
  private readonly consumed: Counter;
  private readonly consumedBytes: Counter;
  private readonly batches: Counter;
  private readonly processDuration: Histogram;
  private readonly processingErrors: Counter;
  private readonly checkpointDuration: Histogram;
  private readonly checkpointFailures: Counter;
  private readonly throttles: Counter;
  private readonly leaseEvents: Counter;
  private readonly base: Attributes;
  private readonly perShard = new Map<string, Attributes>();

  constructor(
    identity: { streamName: string; appName: string; workerId: string },
    meterProvider: MeterProvider | undefined,
    state?: ObservedWorkerState,
  ) {
    const meter: Meter = (meterProvider ?? metrics).getMeter(SCOPE);
    this.base = {
      'messaging.system': 'aws_kinesis',
      'messaging.destination.name': identity.streamName,
      'messaging.consumer.group.name': identity.appName,
      'kinesis.worker.id': identity.workerId,
    };
    this.consumed = meter.createCounter('messaging.client.consumed.messages', { unit: '{message}', description: 'Records delivered to processRecords.' });
    this.consumedBytes = meter.createCounter('kinesis.worker.consumed.bytes', { unit: 'By', description: 'Bytes of record data delivered to processRecords.' });
    this.batches = meter.createCounter('kinesis.worker.batches', { unit: '{batch}', description: 'processRecords calls, by outcome (success, failure).' });
    this.processDuration = meter.createHistogram('messaging.process.duration', { unit: 's', description: 'Duration of one processRecords call.' });
    this.processingErrors = meter.createCounter('kinesis.worker.processing.errors', { unit: '{error}', description: 'processRecords calls that threw.' });
    this.checkpointDuration = meter.createHistogram('kinesis.worker.checkpoint.duration', { unit: 's', description: 'Duration of a checkpoint, retries included.' });
    this.checkpointFailures = meter.createCounter('kinesis.worker.checkpoint.failures', { unit: '{checkpoint}', description: 'Checkpoints that failed.' });
    this.throttles = meter.createCounter('kinesis.worker.get_records.throttles', { unit: '{call}', description: 'GetRecords calls answered with ProvisionedThroughputExceededException.' });
    this.leaseEvents = meter.createCounter('kinesis.worker.lease.events', { unit: '{event}', description: 'Leases taken, lost and released, by kind and how.' });
    if (state) {
      meter.createObservableGauge('kinesis.worker.leases.held', { unit: '{lease}', description: 'Leases this worker holds.' }).addCallback((result) => {
        result.observe(state.leasesHeld(), this.base);
      });
      meter
        .createObservableGauge('kinesis.worker.millis_behind_latest', { unit: 'ms', description: 'How far the last batch read was behind the tip of the shard.' })
        .addCallback((result) => {
          for (const shard of state.shards()) if (shard.millisBehindLatest !== undefined) result.observe(shard.millisBehindLatest, this.shard(shard.shardId));
        });
    }
  }

  /** One processRecords call and how it ended. */
  batch(shardId: string, records: number, bytes: number, seconds: number, ok: boolean): void {
    const attributes = this.shard(shardId);
    this.batches.add(1, { ...attributes, outcome: ok ? 'success' : 'failure' });
    this.processDuration.record(seconds, attributes);
    if (ok) {
      this.consumed.add(records, attributes);
      this.consumedBytes.add(bytes, attributes);
    } else {
      this.processingErrors.add(1, attributes);
    }
  }

  checkpoint(shardId: string, seconds: number, ok: boolean): void {
    const attributes = this.shard(shardId);
    this.checkpointDuration.record(seconds, attributes);
    if (!ok) this.checkpointFailures.add(1, attributes);
  }

  throttled(shardId: string): void {
    this.throttles.add(1, this.shard(shardId));
  }

  lease(event: WorkerEvent): void {
    const how = event.type === 'leaseTaken' ? event.how : event.type === 'leaseReleased' ? event.reason : event.type === 'leaseLost' ? 'lost' : 'ended';
    this.leaseEvents.add(1, { ...this.shard(event.shardId), 'kinesis.lease.event': event.type, 'kinesis.lease.how': how });
  }

  private shard(shardId: string): Attributes {
    let attributes = this.perShard.get(shardId);
    if (!attributes) this.perShard.set(shardId, (attributes = { ...this.base, 'messaging.destination.partition.id': shardId }));
    return attributes;
  }
}
