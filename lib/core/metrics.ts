import {
  metrics,
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  type ObservableCallback,
} from '@opentelemetry/api';
import { performance } from 'node:perf_hooks';
import { packageVersion } from './package-version';
import type { WorkerEvent } from './worker';

/** What a worker reports through its observable instruments, read when a metric reader collects. */
export interface ObservedWorkerState {
  /** Absent where this process does not hold the leases itself (the kcl engine: the Java KCL does). */
  leasesHeld?(): number;
  /** The shards being read; one not identified yet, or not read yet, is left out. */
  shards(): readonly { shardId: string | undefined; millisBehindLatest?: number | undefined }[];
}

export const METER_NAME = 'nestjs-kinesis-worker';

/**
 * The bucket boundaries OpenTelemetry's messaging conventions advise for messaging.process.duration.
 * The SDK's default buckets (0 to 10 000) are meant for milliseconds and would put every batch
 * measured in seconds into the first two.
 */
export const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** The attribute sets of one shard, built once so that a batch that succeeds costs no allocation. */
interface ShardAttributes {
  readonly shard: Attributes;
  readonly processed: Attributes;
  readonly batchFailed: Attributes;
  readonly checkpointFailed: Attributes;
}

/**
 * The worker's OpenTelemetry instruments, through @opentelemetry/api only: a no-op unless the app
 * registers an SDK (or passes `meterProvider`). Instruments are created once per worker and the
 * attributes once per shard, so the per-batch cost is a few adds, never per record.
 * Names, units and attributes follow OpenTelemetry's messaging semantic conventions where one fits
 * (messaging.*, error.type, UCUM units, durations in seconds); the rest are kinesis.worker.*.
 * docs/metrics.md lists each instrument and the conventions it follows.
 */
export class WorkerMetrics {
  private readonly consumed: Counter;
  private readonly consumedBytes: Counter;
  private readonly processDuration: Histogram;
  private readonly batches: Counter;
  private readonly checkpointDuration: Histogram;
  private readonly throttles: Counter;
  private readonly leaseEvents: Counter;
  private readonly shedRecords: Counter;
  private readonly base: Attributes;
  private readonly perShard = new Map<string, ShardAttributes>();
  private readonly stopObserving: (() => void)[] = [];

  constructor(
    identity: { streamName: string; appName: string; workerId: string },
    meterProvider: MeterProvider | undefined,
    state?: ObservedWorkerState,
    /** Milliseconds, monotonic; a test passes its own to check the seconds recorded. */
    private readonly now: () => number = () => performance.now(),
  ) {
    // The global provider as it is now: @opentelemetry/api has no proxy for metrics, so an SDK
    // registered after the worker was created is not seen (docs/metrics.md says so).
    const meter: Meter = (meterProvider ?? metrics.getMeterProvider()).getMeter(METER_NAME, packageVersion());
    this.base = {
      'messaging.system': 'aws_kinesis',
      'messaging.destination.name': identity.streamName,
      'messaging.consumer.group.name': identity.appName,
      'messaging.client.id': identity.workerId,
    };
    const seconds = { unit: 's', advice: { explicitBucketBoundaries: SECONDS_BUCKETS } };
    this.consumed = meter.createCounter('messaging.client.consumed.messages', {
      unit: '{message}',
      description:
        'Records handed to processRecords, each call counted (a retry delivers its records again); error.type when the call threw.',
    });
    this.consumedBytes = meter.createCounter('kinesis.worker.consumed.bytes', {
      unit: 'By',
      description: 'Bytes of record data handed to processRecords, counted as messaging.client.consumed.messages is.',
    });
    this.processDuration = meter.createHistogram('messaging.process.duration', {
      ...seconds,
      description: 'Duration of one processRecords call; error.type when it threw or overran processingTimeoutMs.',
    });
    this.batches = meter.createCounter('kinesis.worker.batches', {
      unit: '{batch}',
      description:
        'Batches that ended: delivered, or (error.type) given up, their lease lost or the worker stopping before one call succeeded.',
    });
    this.checkpointDuration = meter.createHistogram('kinesis.worker.checkpoint.duration', {
      ...seconds,
      description: 'Duration of a checkpoint, its retries included; error.type when it was not stored.',
    });
    this.throttles = meter.createCounter('kinesis.worker.get_records.throttles', {
      unit: '{call}',
      description: 'GetRecords attempts Kinesis throttled, SDK retries included.',
    });
    this.leaseEvents = meter.createCounter('kinesis.worker.lease.events', {
      unit: '{event}',
      description: 'Leases taken, lost and released, and shards ended, by kind and how.',
    });
    this.shedRecords = meter.createCounter('kinesis.worker.records.shed', {
      unit: '{message}',
      description: 'Records not processed because they were older than failurePolicy.shedRecordsOlderThanMs, by where they went.',
    });
    if (state) this.observe(meter, state);
  }

  /**
   * Stops the observable instruments of this worker. The meter outlives the worker (an SDK hands out
   * one meter per name), and a callback left on it would keep the stopped worker alive and reporting,
   * under the same attributes as the worker a restart creates with the same workerId.
   */
  close(): void {
    for (const stop of this.stopObserving.splice(0)) stop();
  }

  private observe(meter: Meter, state: ObservedWorkerState): void {
    // A gauge: how far behind a shard is does not add up across shards or workers.
    const lag = meter.createObservableGauge('kinesis.worker.time_behind_latest', {
      unit: 's',
      description: 'How far the last batch read from the shard was behind its tip (Kinesis MillisBehindLatest, in seconds).',
    });
    const observeLag: ObservableCallback = (result) => {
      for (const { shardId, millisBehindLatest } of state.shards()) {
        if (shardId !== undefined && millisBehindLatest !== undefined) result.observe(millisBehindLatest / 1000, this.shard(shardId).shard);
      }
    };
    lag.addCallback(observeLag);
    this.stopObserving.push(() => lag.removeCallback(observeLag));
    const leasesHeld = state.leasesHeld?.bind(state);
    if (!leasesHeld) return;
    // An up-down counter: the leases of the workers of an application add up to its leases.
    const held = meter.createObservableUpDownCounter('kinesis.worker.leases.held', {
      unit: '{lease}',
      description: 'Leases this worker holds; summed across workers, the leases held in the application.',
    });
    const observeHeld: ObservableCallback = (result) => result.observe(leasesHeld(), this.base);
    held.addCallback(observeHeld);
    this.stopObserving.push(() => held.removeCallback(observeHeld));
  }

  /**
   * Runs one processRecords call (one delivery of the batch's records) and records it: its duration,
   * its records and bytes, with error.type (the error's class) when it threw. Each attempt counts:
   * with the default processingRetry (retry forever) a failing batch never ends, and a count kept
   * per finished batch would stay at zero exactly when it matters.
   */
  async delivery<T>(shardId: string, records: number, bytes: number, call: () => T | Promise<T>): Promise<T> {
    const started = this.now();
    try {
      const result = await call();
      this.delivered(this.shard(shardId).processed, records, bytes, started);
      return result;
    } catch (error) {
      this.delivered({ ...this.shard(shardId).processed, 'error.type': errorType(error) }, records, bytes, started);
      throw error;
    }
  }

  private delivered(attributes: Attributes, records: number, bytes: number, started: number): void {
    this.processDuration.record((this.now() - started) / 1000, attributes);
    this.consumed.add(records, attributes);
    this.consumedBytes.add(bytes, attributes);
  }

  /** A batch ended: delivered, or not (its retries given up, its lease lost, the worker stopping). */
  batch(shardId: string, delivered: boolean): void {
    const attributes = this.shard(shardId);
    this.batches.add(1, delivered ? attributes.shard : attributes.batchFailed);
  }

  checkpoint(shardId: string, seconds: number, stored: boolean): void {
    const attributes = this.shard(shardId);
    this.checkpointDuration.record(seconds, stored ? attributes.shard : attributes.checkpointFailed);
  }

  /** Records shed for their age (failurePolicy.shedRecordsOlderThanMs): handed to the destination, or skipped. */
  shed(shardId: string, records: number, to: 'destination' | 'skip'): void {
    this.shedRecords.add(records, { ...this.shard(shardId).shard, 'kinesis.shed.to': to });
  }

  /** One GetRecords attempt answered with a throttling error. */
  throttled(shardId: string): void {
    this.throttles.add(1, this.shard(shardId).shard);
  }

  /** A lease event; processorFailed is not one (a failed call is counted as a delivery, with its error.type). */
  lease(event: WorkerEvent): void {
    if (event.type === 'processorFailed') return;
    this.leaseEvents.add(1, {
      ...this.shard(event.shardId).shard,
      'kinesis.lease.event': event.type,
      'kinesis.lease.how': leaseEventHow(event),
    });
  }

  private shard(shardId: string): ShardAttributes {
    let attributes = this.perShard.get(shardId);
    if (!attributes) this.perShard.set(shardId, (attributes = shardAttributes(this.base, shardId)));
    return attributes;
  }
}

function shardAttributes(base: Attributes, shardId: string): ShardAttributes {
  const shard = { ...base, 'messaging.destination.partition.id': shardId };
  return {
    shard,
    processed: { ...shard, 'messaging.operation.name': 'process', 'messaging.operation.type': 'process' },
    // The conventions' error.type: '_OTHER' where no better low-cardinality name is known.
    batchFailed: { ...shard, 'error.type': '_OTHER' },
    checkpointFailed: { ...shard, 'error.type': '_OTHER' },
  };
}

/** The conventions' error.type: the error's class (bounded by the code that throws), else '_OTHER'. */
function errorType(error: unknown): string {
  return error instanceof Error ? error.constructor.name || error.name : '_OTHER';
}

/**
 * A short, low-cardinality word for how a lease event came about. A lost lease's reason is free text
 * naming owners and counters (fine for a log line, not for an attribute): it is reduced to its kind.
 */
export function leaseEventHow(event: WorkerEvent): string {
  switch (event.type) {
    case 'leaseTaken':
      return event.how;
    case 'leaseReleased':
      return event.reason;
    case 'shardEnded':
      return 'SHARD_END';
    case 'leaseLost':
      return leaseLostHow(event.reason);
    case 'processorFailed':
      return event.call;
  }
}

function leaseLostHow(reason: string): string {
  if (/not renewed/i.test(reason)) return 'not_renewed';
  if (/found leaseOwner=/.test(reason)) return 'taken_over';
  if (/lease deleted/.test(reason)) return 'deleted';
  if (/Java KCL/.test(reason)) return 'reported_by_kcl';
  return 'other';
}
