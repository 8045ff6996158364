import { metrics } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  MetricReader,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { METER_NAME, SECONDS_BUCKETS, WorkerMetrics, leaseEventHow } from '../../../lib/core/metrics';
import { packageVersion } from '../../../lib/core/package-version';

/** Collects when the test asks, through the SDK's own aggregation. */
class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const identity = { streamName: 'orders', appName: 'billing', workerId: 'worker-1' };
const SHARD = 'shardId-000000000000';

async function collect(reader: MetricReader): Promise<ResourceMetrics> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  return resourceMetrics;
}

function metric(collected: ResourceMetrics, name: string): MetricData {
  const found = collected.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name);
  if (!found)
    throw new Error(`no metric ${name}; have ${collected.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name)).join(', ')}`);
  return found;
}

class BadRecordError extends Error {}

/** A clock the test moves: each delivery below takes `ms` of it. */
class TestClock {
  nowMs = 1_000;
  readonly now = () => this.nowMs;
}

/** One processRecords call of `records` records and `bytes` bytes that takes `ms` and returns or throws. */
function deliver(worker: WorkerMetrics, clock: TestClock, records: number, bytes: number, ms: number, error?: Error): Promise<string> {
  return worker.delivery(SHARD, records, bytes, () => {
    clock.nowMs += ms;
    if (error) throw error;
    return 'returned';
  });
}

/** Exercises every instrument once, as an engine would. */
async function recordEverything(worker: WorkerMetrics, clock = new TestClock()): Promise<void> {
  // A batch of 3 records (120 bytes) fails once, then is delivered; a batch of 2 (80 bytes) is given up.
  await expect(deliver(worker, clock, 3, 120, 300, new BadRecordError('record 7 is not JSON'))).rejects.toThrow('record 7 is not JSON');
  await expect(deliver(worker, clock, 3, 120, 20)).resolves.toBe('returned');
  worker.batch(SHARD, true);
  worker.batch(SHARD, false);
  worker.checkpoint(SHARD, 0.004, true);
  worker.checkpoint(SHARD, 0.5, false);
  worker.throttled(SHARD);
  worker.lease({ type: 'leaseTaken', shardId: SHARD, how: 'expired', previousOwner: 'gone' });
  worker.lease({ type: 'leaseLost', shardId: SHARD, reason: 'renewal found leaseOwner=other leaseCounter=7, expected worker-1/6' });
}

afterEach(() => metrics.disable());

describe('WorkerMetrics without an OpenTelemetry SDK', () => {
  it('records nothing and throws nothing: the API hands out its no-op meter, and the observable callbacks are never read', async () => {
    metrics.disable();
    // An SDK exists in this process but is not registered: nothing may reach it.
    const reader = new CollectingReader();
    const unregistered = new MeterProvider({ readers: [reader] });
    const state = { leasesHeld: jest.fn(() => 1), shards: jest.fn(() => [{ shardId: SHARD, millisBehindLatest: 5 }]) };

    const worker = new WorkerMetrics(identity, undefined, state);
    await recordEverything(worker);

    expect((await collect(reader)).scopeMetrics).toEqual([]);
    expect(state.leasesHeld).not.toHaveBeenCalled();
    expect(state.shards).not.toHaveBeenCalled();
    await unregistered.shutdown();
  });
});

describe('WorkerMetrics with an SDK', () => {
  it('uses the global MeterProvider by default, under the meter name nestjs-kinesis-worker and this package version', async () => {
    const reader = new CollectingReader();
    const provider = new MeterProvider({ readers: [reader] });
    metrics.setGlobalMeterProvider(provider);

    await new WorkerMetrics(identity, undefined).delivery(SHARD, 4, 10, () => undefined);

    const collected = await collect(reader);
    expect(collected.scopeMetrics.map((s) => s.scope)).toEqual([expect.objectContaining({ name: METER_NAME, version: packageVersion() })]);
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(metric(collected, 'messaging.client.consumed.messages').dataPoints.map((p) => p.value)).toEqual([4]);
    await provider.shutdown();
  });

  it('an explicit meterProvider wins over the global one', async () => {
    const globalReader = new CollectingReader();
    const globalProvider = new MeterProvider({ readers: [globalReader] });
    metrics.setGlobalMeterProvider(globalProvider);
    const reader = new CollectingReader();
    const provider = new MeterProvider({ readers: [reader] });

    await new WorkerMetrics(identity, provider).delivery(SHARD, 4, 10, () => undefined);

    expect(metric(await collect(reader), 'messaging.client.consumed.messages').dataPoints.map((p) => p.value)).toEqual([4]);
    expect((await collect(globalReader)).scopeMetrics).toEqual([]);
    await Promise.all([provider.shutdown(), globalProvider.shutdown()]);
  });

  it('every instrument has its name, unit, kind and attributes: the messaging conventions, error.type on failure', async () => {
    const reader = new CollectingReader();
    const provider = new MeterProvider({ readers: [reader] });
    const worker = new WorkerMetrics(identity, provider, {
      leasesHeld: () => 2,
      shards: () => [{ shardId: SHARD, millisBehindLatest: 1500 }, { shardId: 'shardId-000000000001' }],
    });
    await recordEverything(worker);
    const collected = await collect(reader);

    const shard = {
      'messaging.system': 'aws_kinesis',
      'messaging.destination.name': 'orders',
      'messaging.consumer.group.name': 'billing',
      'messaging.client.id': 'worker-1',
      'messaging.destination.partition.id': SHARD,
    };
    const process = { ...shard, 'messaging.operation.name': 'process', 'messaging.operation.type': 'process' };
    const failed = { ...process, 'error.type': 'BadRecordError' };
    const view = (name: string) => {
      const m = metric(collected, name);
      return {
        unit: m.descriptor.unit,
        type: m.dataPointType,
        monotonic: m.dataPointType === DataPointType.SUM ? m.isMonotonic : undefined,
        points: m.dataPoints.map((p) => ({
          attributes: p.attributes,
          value: typeof p.value === 'number' ? p.value : (p.value as { count: number }).count,
        })),
      };
    };
    const counter = { type: DataPointType.SUM, monotonic: true };
    const histogram = { type: DataPointType.HISTOGRAM, monotonic: undefined };

    // Each processRecords call is a delivery: the failed one counted with its error.type, then the retry.
    expect(view('messaging.client.consumed.messages')).toEqual({
      unit: '{message}',
      ...counter,
      points: [
        { attributes: failed, value: 3 },
        { attributes: process, value: 3 },
      ],
    });
    expect(view('kinesis.worker.consumed.bytes')).toEqual({
      unit: 'By',
      ...counter,
      points: [
        { attributes: failed, value: 120 },
        { attributes: process, value: 120 },
      ],
    });
    expect(view('messaging.process.duration')).toEqual({
      unit: 's',
      ...histogram,
      points: [
        { attributes: failed, value: 1 },
        { attributes: process, value: 1 },
      ],
    });
    expect(view('kinesis.worker.batches')).toEqual({
      unit: '{batch}',
      ...counter,
      points: [
        { attributes: shard, value: 1 },
        { attributes: { ...shard, 'error.type': '_OTHER' }, value: 1 },
      ],
    });
    expect(view('kinesis.worker.checkpoint.duration')).toEqual({
      unit: 's',
      ...histogram,
      points: [
        { attributes: shard, value: 1 },
        { attributes: { ...shard, 'error.type': '_OTHER' }, value: 1 },
      ],
    });
    expect(view('kinesis.worker.get_records.throttles')).toEqual({
      unit: '{call}',
      ...counter,
      points: [{ attributes: shard, value: 1 }],
    });
    expect(view('kinesis.worker.lease.events')).toEqual({
      unit: '{event}',
      ...counter,
      points: [
        { attributes: { ...shard, 'kinesis.lease.event': 'leaseTaken', 'kinesis.lease.how': 'expired' }, value: 1 },
        { attributes: { ...shard, 'kinesis.lease.event': 'leaseLost', 'kinesis.lease.how': 'taken_over' }, value: 1 },
      ],
    });
    // Leases held add up across workers: an up-down counter (a non-monotonic sum), not a gauge.
    const { 'messaging.destination.partition.id': _, ...worker1 } = shard;
    expect(view('kinesis.worker.leases.held')).toEqual({
      unit: '{lease}',
      type: DataPointType.SUM,
      monotonic: false,
      points: [{ attributes: worker1, value: 2 }],
    });
    // How far behind a shard is does not add up: a gauge, in seconds. A shard not read yet has no point.
    expect(view('kinesis.worker.time_behind_latest')).toEqual({
      unit: 's',
      type: DataPointType.GAUGE,
      monotonic: undefined,
      points: [{ attributes: shard, value: 1.5 }],
    });
    // Nothing else: the instruments renamed or folded into error.type are gone.
    expect(collected.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name)).sort()).toEqual(
      [
        'messaging.client.consumed.messages',
        'kinesis.worker.consumed.bytes',
        'messaging.process.duration',
        'kinesis.worker.batches',
        'kinesis.worker.checkpoint.duration',
        'kinesis.worker.get_records.throttles',
        'kinesis.worker.lease.events',
        'kinesis.worker.leases.held',
        'kinesis.worker.time_behind_latest',
      ].sort(),
    );
    await provider.shutdown();
  });

  it('durations are in seconds, in the buckets the messaging conventions advise (not the SDK default meant for milliseconds)', async () => {
    const reader = new CollectingReader();
    const provider = new MeterProvider({ readers: [reader] });
    const clock = new TestClock();
    const worker = new WorkerMetrics(identity, provider, undefined, clock.now);
    await deliver(worker, clock, 1, 1, 20);
    worker.checkpoint(SHARD, 0.004, true);
    const collected = await collect(reader);
    for (const name of ['messaging.process.duration', 'kinesis.worker.checkpoint.duration']) {
      const [point] = metric(collected, name).dataPoints as { value: { buckets: { boundaries: number[]; counts: number[] } } }[];
      expect(point.value.buckets.boundaries).toEqual(SECONDS_BUCKETS);
    }
    const [process] = metric(collected, 'messaging.process.duration').dataPoints as {
      value: { buckets: { counts: number[] }; sum: number };
    }[];
    expect(process.value.sum).toBeCloseTo(0.02);
    expect(process.value.buckets.counts[SECONDS_BUCKETS.indexOf(0.025)]).toBe(1);
    await provider.shutdown();
  });

  it('close() stops the observable instruments: a stopped worker is no longer read, its counters still count', async () => {
    const reader = new CollectingReader();
    const provider = new MeterProvider({ readers: [reader] });
    const state = { leasesHeld: jest.fn(() => 1), shards: jest.fn(() => [{ shardId: SHARD, millisBehindLatest: 5 }]) };
    const worker = new WorkerMetrics(identity, provider, state);
    await worker.delivery(SHARD, 2, 2, () => undefined);
    expect(metric(await collect(reader), 'kinesis.worker.leases.held').dataPoints).toHaveLength(1);

    worker.close();
    state.leasesHeld.mockClear();
    state.shards.mockClear();
    await worker.delivery(SHARD, 3, 3, () => undefined);
    const collected = await collect(reader);
    // The callbacks are gone (the SDK may still export the last value, as cumulative gauges do).
    expect(state.leasesHeld).not.toHaveBeenCalled();
    expect(state.shards).not.toHaveBeenCalled();
    expect(metric(collected, 'messaging.client.consumed.messages').dataPoints.map((p) => p.value)).toEqual([5]);
    await provider.shutdown();
  });

  it('without leasesHeld (the kcl engine) there is no leases held instrument; a shard not identified or not read yet has no lag point', async () => {
    const reader = new CollectingReader();
    const provider = new MeterProvider({ readers: [reader] });
    new WorkerMetrics(identity, provider, {
      shards: () => [
        { shardId: undefined, millisBehindLatest: 9 },
        { shardId: 'shardId-000000000001', millisBehindLatest: undefined },
        { shardId: SHARD, millisBehindLatest: 0 },
      ],
    });
    const collected = await collect(reader);
    expect(collected.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name))).not.toContain('kinesis.worker.leases.held');
    expect(
      metric(collected, 'kinesis.worker.time_behind_latest').dataPoints.map((p) => [
        p.attributes['messaging.destination.partition.id'],
        p.value,
      ]),
    ).toEqual([[SHARD, 0]]);
    await provider.shutdown();
  });

  it('builds the attributes of a shard once: the same objects on every batch', async () => {
    const reader = new CollectingReader();
    const provider = new MeterProvider({ readers: [reader] });
    const worker = new WorkerMetrics(identity, provider);
    const seen: object[] = [];
    // The records counter of this worker: note which attribute objects it is given.
    const consumed = (worker as unknown as { consumed: { add: (n: number, a: object) => void } }).consumed;
    const add = consumed.add.bind(consumed);
    consumed.add = (n, attributes) => (seen.push(attributes), add(n, attributes));
    for (let i = 0; i < 3; i++) await worker.delivery(SHARD, 1, 1, () => undefined);
    expect(seen).toHaveLength(3);
    expect(seen[1]).toBe(seen[0]);
    expect(seen[2]).toBe(seen[0]);
    await provider.shutdown();
  });
});

describe('leaseEventHow', () => {
  it('keeps the taken and released kinds and reduces a lost lease reason (free text) to a few words', () => {
    expect(leaseEventHow({ type: 'leaseTaken', shardId: SHARD, how: 'stolen' })).toBe('stolen');
    expect(leaseEventHow({ type: 'leaseReleased', shardId: SHARD, reason: 'GAVE_UP' })).toBe('GAVE_UP');
    expect(leaseEventHow({ type: 'shardEnded', shardId: SHARD, childShardIds: [] })).toBe('SHARD_END');
    const lost = (reason: string) => leaseEventHow({ type: 'leaseLost', shardId: SHARD, reason });
    expect(lost('not renewed within failoverTimeMs (10000 ms)')).toBe('not_renewed');
    expect(lost('not renewed for failoverTimeMs (10000 ms): ECONNRESET')).toBe('not_renewed');
    expect(lost('checkpoint found leaseOwner=w2 leaseCounter=9, expected w1/8')).toBe('taken_over');
    expect(lost('renewal found the lease deleted')).toBe('deleted');
    expect(lost('the Java KCL reported the lease lost')).toBe('reported_by_kcl');
    expect(lost('something new')).toBe('other');
  });
});
