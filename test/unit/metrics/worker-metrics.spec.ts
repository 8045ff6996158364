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

/** Exercises every instrument once, as an engine would. */
async function recordEverything(worker: WorkerMetrics): Promise<void> {
  await expect(worker.countingErrors(SHARD, () => Promise.reject(new BadRecordError('record 7 is not JSON')))).rejects.toThrow(
    'record 7 is not JSON',
  );
  await expect(worker.countingErrors(SHARD, () => 'returned')).resolves.toBe('returned');
  worker.batch(SHARD, 3, 120, 0.02, true);
  worker.batch(SHARD, 2, 80, 0.3, false);
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

    new WorkerMetrics(identity, undefined).batch(SHARD, 4, 10, 0.01, true);

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

    new WorkerMetrics(identity, provider).batch(SHARD, 4, 10, 0.01, true);

    expect(metric(await collect(reader), 'messaging.client.consumed.messages').dataPoints.map((p) => p.value)).toEqual([4]);
    expect((await collect(globalReader)).scopeMetrics).toEqual([]);
    await Promise.all([provider.shutdown(), globalProvider.shutdown()]);
  });

  it('every instrument has its name, unit and attributes: stream, shard, application, worker, and the messaging conventions', async () => {
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
      'kinesis.worker.id': 'worker-1',
      'messaging.destination.partition.id': SHARD,
    };
    const process = { ...shard, 'messaging.operation.name': 'process', 'messaging.operation.type': 'process' };
    const view = (name: string) => {
      const m = metric(collected, name);
      return {
        unit: m.descriptor.unit,
        type: m.dataPointType,
        points: m.dataPoints.map((p) => ({
          attributes: p.attributes,
          value: typeof p.value === 'number' ? p.value : (p.value as { count: number }).count,
        })),
      };
    };

    expect(view('messaging.client.consumed.messages')).toEqual({
      unit: '{message}',
      type: DataPointType.SUM,
      points: [{ attributes: process, value: 3 }],
    });
    expect(view('kinesis.worker.consumed.bytes')).toEqual({
      unit: 'By',
      type: DataPointType.SUM,
      points: [{ attributes: shard, value: 120 }],
    });
    expect(view('kinesis.worker.batches')).toEqual({
      unit: '{batch}',
      type: DataPointType.SUM,
      points: [
        { attributes: { ...shard, outcome: 'success' }, value: 1 },
        { attributes: { ...shard, outcome: 'failure' }, value: 1 },
      ],
    });
    expect(view('messaging.process.duration')).toEqual({
      unit: 's',
      type: DataPointType.HISTOGRAM,
      points: [
        { attributes: process, value: 1 },
        { attributes: { ...process, 'error.type': '_OTHER' }, value: 1 },
      ],
    });
    // One attempt threw; the failed batch (its retries given up) is counted in batches, not again here.
    expect(view('kinesis.worker.processing.errors')).toEqual({
      unit: '{error}',
      type: DataPointType.SUM,
      points: [{ attributes: { ...shard, 'error.type': 'BadRecordError' }, value: 1 }],
    });
    expect(view('kinesis.worker.checkpoint.duration')).toEqual({
      unit: 's',
      type: DataPointType.HISTOGRAM,
      points: [{ attributes: shard, value: 2 }],
    });
    expect(view('kinesis.worker.checkpoint.failures')).toEqual({
      unit: '{checkpoint}',
      type: DataPointType.SUM,
      points: [{ attributes: shard, value: 1 }],
    });
    expect(view('kinesis.worker.get_records.throttles')).toEqual({
      unit: '{call}',
      type: DataPointType.SUM,
      points: [{ attributes: shard, value: 1 }],
    });
    expect(view('kinesis.worker.lease.events')).toEqual({
      unit: '{event}',
      type: DataPointType.SUM,
      points: [
        { attributes: { ...shard, 'kinesis.lease.event': 'leaseTaken', 'kinesis.lease.how': 'expired' }, value: 1 },
        { attributes: { ...shard, 'kinesis.lease.event': 'leaseLost', 'kinesis.lease.how': 'taken_over' }, value: 1 },
      ],
    });
    const { 'messaging.destination.partition.id': _, ...worker1 } = shard;
    expect(view('kinesis.worker.leases.held')).toEqual({
      unit: '{lease}',
      type: DataPointType.GAUGE,
      points: [{ attributes: worker1, value: 2 }],
    });
    // A shard not read yet has no lag to report.
    expect(view('kinesis.worker.millis_behind_latest')).toEqual({
      unit: 'ms',
      type: DataPointType.GAUGE,
      points: [{ attributes: shard, value: 1500 }],
    });
    await provider.shutdown();
  });

  it('durations are in seconds, in the buckets the messaging conventions advise (not the SDK default meant for milliseconds)', async () => {
    const reader = new CollectingReader();
    const provider = new MeterProvider({ readers: [reader] });
    const worker = new WorkerMetrics(identity, provider);
    worker.batch(SHARD, 1, 1, 0.02, true);
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

  it('close() stops the observable gauges: a stopped worker is no longer read, its counters still count', async () => {
    const reader = new CollectingReader();
    const provider = new MeterProvider({ readers: [reader] });
    const state = { leasesHeld: jest.fn(() => 1), shards: jest.fn(() => [{ shardId: SHARD, millisBehindLatest: 5 }]) };
    const worker = new WorkerMetrics(identity, provider, state);
    worker.batch(SHARD, 2, 2, 0.001, true);
    expect(metric(await collect(reader), 'kinesis.worker.leases.held').dataPoints).toHaveLength(1);

    worker.close();
    state.leasesHeld.mockClear();
    state.shards.mockClear();
    worker.batch(SHARD, 3, 3, 0.001, true);
    const collected = await collect(reader);
    // The callbacks are gone (the SDK may still export the last value, as cumulative gauges do).
    expect(state.leasesHeld).not.toHaveBeenCalled();
    expect(state.shards).not.toHaveBeenCalled();
    expect(metric(collected, 'messaging.client.consumed.messages').dataPoints.map((p) => p.value)).toEqual([5]);
    await provider.shutdown();
  });

  it('without leasesHeld (the kcl engine) there is no leases gauge; a shard not identified or not read yet has no lag point', async () => {
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
      metric(collected, 'kinesis.worker.millis_behind_latest').dataPoints.map((p) => [
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
    for (let i = 0; i < 3; i++) worker.batch(SHARD, 1, 1, 0.001, true);
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
