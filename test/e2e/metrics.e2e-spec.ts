import { DataPointType, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { createNoopMeter, metrics } from '@opentelemetry/api';
import { createWorker, type KinesisWorker, type WorkerEvent } from '../../lib';
import { createStream, putRecords, startFaultProxy } from '../../lib/testing';
import { endpoints, kinesisClient, uniqueName } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';

/** A reader the test collects from when it wants: the OpenTelemetry SDK's own aggregation, in memory. */
class CollectingReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const kinesis = kinesisClient();
let worker: KinesisWorker | undefined;
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});
afterAll(() => kinesis.destroy());

interface Point {
  value: number | { count: number; sum?: number };
  attributes: Record<string, unknown>;
}

function points(collected: ResourceMetrics, name: string): Point[] {
  return collected.scopeMetrics.flatMap((scope) =>
    scope.metrics.filter((m) => m.descriptor.name === name).flatMap((m) => m.dataPoints as unknown as Point[]),
  );
}
const sum = (ps: Point[]) => ps.reduce((total, p) => total + (typeof p.value === 'number' ? p.value : p.value.count), 0);
/** The points of calls that succeeded (no error.type), and of those that failed. */
const succeeded = (ps: Point[]) => ps.filter((p) => !('error.type' in p.attributes));
const failedWith = (ps: Point[]) => ps.filter((p) => 'error.type' in p.attributes).map((p) => p.attributes['error.type']);

/** Each instrument as an OpenTelemetry backend sees it: unit, kind, and the attribute keys of its points. */
function instruments(collected: ResourceMetrics): Record<string, { unit: string; kind: string; attributes: string[] }> {
  const kindOf = (type: DataPointType, monotonic: boolean | undefined) =>
    type === DataPointType.SUM ? (monotonic ? 'counter' : 'updowncounter') : type === DataPointType.GAUGE ? 'gauge' : 'histogram';
  const all = collected.scopeMetrics.flatMap((scope) => scope.metrics);
  return Object.fromEntries(
    all.map((m) => [
      m.descriptor.name,
      {
        unit: m.descriptor.unit,
        kind: kindOf(m.dataPointType, 'isMonotonic' in m ? m.isMonotonic : undefined),
        attributes: [...new Set((m.dataPoints as { attributes: object }[]).flatMap((p) => Object.keys(p.attributes)))].sort(),
      },
    ]),
  );
}

/** The attributes every point has, and those of the points about one shard. */
const WORKER = ['messaging.client.id', 'messaging.consumer.group.name', 'messaging.destination.name', 'messaging.system'];
const SHARD = [...WORKER, 'messaging.destination.partition.id'];
const PROCESS = [...SHARD, 'messaging.operation.name', 'messaging.operation.type'];
const sorted = (keys: string[]) => [...keys].sort();

/** The lease events counted, as 'event/how/shard' lines, one per event: to compare with what onEvent saw. */
function leaseEventLines(collected: ResourceMetrics): string[] {
  return points(collected, 'kinesis.worker.lease.events')
    .flatMap((p) =>
      Array.from(
        { length: p.value as number },
        () => `${String(p.attributes['kinesis.lease.event'])}/${String(p.attributes['messaging.destination.partition.id'])}`,
      ),
    )
    .sort();
}
/** The lease events among onEvent's, as the lease-events counter has them (processorFailed is not one: a failed call is counted as a delivery with its error.type). */
const eventLines = (events: WorkerEvent[]) =>
  events
    .filter((e) => e.type !== 'processorFailed')
    .map((e) => `${e.type}/${e.shardId}`)
    .sort();

it('the native engine reports deliveries, bytes, batches, processing and checkpoint durations, leases, lag and throttles, each instrument of the name, unit, kind and attributes the messaging conventions give', async () => {
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const proxy = await startFaultProxy({ target: endpoints().kinesis });
  try {
    const stream = uniqueName('metrics');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 2);
    const puts = await putRecords(kinesis, stream, records('m', 30));
    // Three throttled attempts in a row: with the SDK's default of three attempts per call, all three
    // happen inside one SDK call, which the worker only sees fail once. Each attempt must be counted.
    proxy.set('GetRecords', 'throttle', { times: 3 });
    let delivered = 0;
    let failuresLeft = 2;
    const events: WorkerEvent[] = [];
    worker = createWorker(
      {
        appName,
        streamName: stream,
        kinesis: { endpoint: proxy.url },
        dynamodb: { endpoint: endpoints().dynamodb },
        idleTimeBetweenReadsMs: 50,
        processingRetry: { baseDelayMs: 20, maxDelayMs: 50 },
        meterProvider,
        onEvent: (event) => events.push(event),
        logger: new CapturingLogger(),
      },
      () => ({
        async processRecords({ records: batch, checkpointer }) {
          // The first two calls fail; the worker retries the same batch, which then succeeds.
          if (failuresLeft > 0) {
            failuresLeft--;
            throw new SyntaxError('not JSON');
          }
          delivered += batch.length;
          await checkpointer.checkpoint();
        },
      }),
    );
    await worker.start();
    await waitFor(() => delivered >= 30, '30 records');
    // A batch is counted once processRecords returned and the batch ended: wait for the last one's metrics.
    let m!: ResourceMetrics;
    await waitFor(async () => {
      m = (await reader.collect()).resourceMetrics;
      return sum(succeeded(points(m, 'messaging.client.consumed.messages'))) >= 30 && sum(points(m, 'kinesis.worker.batches')) >= 2;
    }, 'the batches counted');
    const bytes = puts.reduce((total, p) => total + p.data.length, 0);

    expect(instruments(m)).toEqual({
      'messaging.client.consumed.messages': { unit: '{message}', kind: 'counter', attributes: sorted([...PROCESS, 'error.type']) },
      'kinesis.worker.consumed.bytes': { unit: 'By', kind: 'counter', attributes: sorted([...PROCESS, 'error.type']) },
      'messaging.process.duration': { unit: 's', kind: 'histogram', attributes: sorted([...PROCESS, 'error.type']) },
      'kinesis.worker.batches': { unit: '{batch}', kind: 'counter', attributes: sorted(SHARD) },
      'kinesis.worker.checkpoint.duration': { unit: 's', kind: 'histogram', attributes: sorted(SHARD) },
      'kinesis.worker.get_records.throttles': { unit: '{call}', kind: 'counter', attributes: sorted(SHARD) },
      'kinesis.worker.lease.events': {
        unit: '{event}',
        kind: 'counter',
        attributes: sorted([...SHARD, 'kinesis.lease.event', 'kinesis.lease.how']),
      },
      'kinesis.worker.leases.held': { unit: '{lease}', kind: 'updowncounter', attributes: sorted(WORKER) },
      'kinesis.worker.time_behind_latest': { unit: 's', kind: 'gauge', attributes: sorted(SHARD) },
    });

    const consumed = points(m, 'messaging.client.consumed.messages');
    expect(consumed[0].attributes).toMatchObject({
      'messaging.system': 'aws_kinesis',
      'messaging.destination.name': stream,
      'messaging.consumer.group.name': appName,
      'messaging.client.id': worker.workerId,
      'messaging.operation.name': 'process',
    });
    expect(new Set(consumed.map((p) => p.attributes['messaging.destination.partition.id']))).toEqual(
      new Set(['shardId-000000000000', 'shardId-000000000001']),
    );
    // Each record delivered once to a call that succeeded; the two failed calls are deliveries too,
    // counted with their error.type, the same batch's records each time.
    expect(sum(succeeded(consumed))).toBe(30);
    expect(sum(succeeded(points(m, 'kinesis.worker.consumed.bytes')))).toBe(bytes);
    const process = points(m, 'messaging.process.duration');
    expect(failedWith(process)).toEqual(['SyntaxError']);
    expect(sum(process) - sum(succeeded(process))).toBe(2);
    expect(failedWith(consumed)).toEqual(['SyntaxError']);
    // Every batch ended delivered: one call that succeeded and one checkpoint each.
    const batches = sum(points(m, 'kinesis.worker.batches'));
    expect(failedWith(points(m, 'kinesis.worker.batches'))).toEqual([]);
    expect(sum(succeeded(process))).toBe(batches);
    // The same two failed calls reached onEvent as processorFailed events, counted as deliveries above, not as lease events.
    expect(events.filter((e) => e.type === 'processorFailed').map((e) => (e.error as Error).name)).toEqual(['SyntaxError', 'SyntaxError']);
    expect(sum(points(m, 'kinesis.worker.checkpoint.duration'))).toBe(batches);
    const throttles = points(m, 'kinesis.worker.get_records.throttles');
    expect(sum(throttles)).toBe(3);
    expect(proxy.count('GetRecords')).toBeGreaterThan(3);
    expect(points(m, 'kinesis.worker.leases.held').map((p) => p.value)).toEqual([2]);
    expect(points(m, 'kinesis.worker.time_behind_latest')).toHaveLength(2);
    const taken = points(m, 'kinesis.worker.lease.events').filter((p) => p.attributes['kinesis.lease.event'] === 'leaseTaken');
    expect(sum(taken)).toBe(2);
    expect(taken[0].attributes['kinesis.lease.how']).toBe('unowned');

    // A graceful stop releases both leases: every lease event onEvent saw is counted, no more.
    await worker.stop();
    const afterStop = (await reader.collect()).resourceMetrics;
    expect(events.filter((e) => e.type === 'leaseReleased')).toHaveLength(2);
    expect(leaseEventLines(afterStop)).toEqual(eventLines(events));
  } finally {
    await worker?.stop();
    worker = undefined;
    await proxy.close();
    await meterProvider.shutdown();
  }
});

it('without an SDK nothing is recorded and nothing throws (the global no-op meter)', async () => {
  // No SDK registered: the API hands out its no-op meter, whose instruments record nothing.
  expect(metrics.getMeterProvider().getMeter('nestjs-kinesis-worker')).toBeInstanceOf(createNoopMeter().constructor);
  const stream = uniqueName('nometrics');
  await createStream(kinesis, stream, 1);
  await putRecords(kinesis, stream, records('n', 5));
  let delivered = 0;
  worker = createWorker(
    {
      appName: uniqueName('app'),
      streamName: stream,
      kinesis: { endpoint: endpoints().kinesis },
      dynamodb: { endpoint: endpoints().dynamodb },
      idleTimeBetweenReadsMs: 50,
      logger: new CapturingLogger(),
    },
    () => ({
      async processRecords({ records: batch, checkpointer }) {
        delivered += batch.length;
        await checkpointer.checkpoint();
      },
    }),
  );
  await worker.start();
  await waitFor(() => delivered >= 5, '5 records');
  // The worker's instruments were made on that meter and used on every batch (each checkpointed) without an error.
  expect(delivered).toBe(5);
});

it('the kcl engine reports what this process sees: deliveries, bytes, batches, processing and checkpoint durations, lag, lease events', async () => {
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  try {
    const stream = uniqueName('kclmetrics');
    await createStream(kinesis, stream, 1);
    const puts = await putRecords(kinesis, stream, records('k', 10));
    let delivered = 0;
    const events: WorkerEvent[] = [];
    let failed = false;
    worker = createWorker(
      {
        engine: 'kcl',
        appName: uniqueName('app'),
        streamName: stream,
        kinesis: { endpoint: endpoints().kinesis },
        dynamodb: { endpoint: endpoints().dynamodb },
        idleTimeBetweenReadsMs: 100,
        failoverTimeMs: 3_000,
        processingRetry: { baseDelayMs: 20, maxDelayMs: 50 },
        meterProvider,
        onEvent: (event) => events.push(event),
        logger: new CapturingLogger(),
      },
      () => ({
        async processRecords({ records: batch, checkpointer }) {
          if (!failed) {
            failed = true;
            throw new RangeError('first call fails');
          }
          delivered += batch.length;
          await checkpointer.checkpoint();
        },
      }),
    );
    await worker.start();
    await waitFor(() => delivered >= 10, '10 records');
    let m!: ResourceMetrics;
    await waitFor(async () => {
      m = (await reader.collect()).resourceMetrics;
      return sum(succeeded(points(m, 'messaging.client.consumed.messages'))) >= 10 && sum(points(m, 'kinesis.worker.batches')) >= 1;
    }, 'the batches counted');
    expect(sum(succeeded(points(m, 'messaging.client.consumed.messages')))).toBe(10);
    expect(sum(succeeded(points(m, 'kinesis.worker.consumed.bytes')))).toBe(puts.reduce((total, p) => total + p.data.length, 0));
    const batches = sum(points(m, 'kinesis.worker.batches'));
    expect(batches).toBeGreaterThanOrEqual(1);
    const process = points(m, 'messaging.process.duration');
    expect(sum(succeeded(process))).toBe(batches);
    expect(failedWith(process)).toEqual(['RangeError']);
    expect(sum(process) - sum(succeeded(process))).toBe(1);
    expect(sum(points(m, 'kinesis.worker.checkpoint.duration'))).toBe(batches);
    expect(failedWith(points(m, 'kinesis.worker.checkpoint.duration'))).toEqual([]);
    // The lag the daemon passes with each batch, per shard; the leases are the Java KCL's, not counted here.
    expect(points(m, 'kinesis.worker.time_behind_latest').map((p) => p.attributes['messaging.destination.partition.id'])).toEqual([
      'shardId-000000000000',
    ]);
    expect(points(m, 'kinesis.worker.leases.held')).toEqual([]);
    const { 'kinesis.worker.leases.held': _none, 'kinesis.worker.get_records.throttles': _native, ...kcl } = instruments(m);
    expect(Object.keys(kcl).sort()).toEqual(
      [
        'messaging.client.consumed.messages',
        'kinesis.worker.consumed.bytes',
        'messaging.process.duration',
        'kinesis.worker.batches',
        'kinesis.worker.checkpoint.duration',
        'kinesis.worker.lease.events',
        'kinesis.worker.time_behind_latest',
      ].sort(),
    );

    // The lease events this process learns of (the daemon's assignment of the shard, the release at a
    // graceful stop) are counted as onEvent reports them.
    await worker.stop();
    // The failed first call is reported to onEvent too, and counted as a processing error, not as a lease event.
    expect(events.map((e) => e.type)).toEqual(['leaseTaken', 'processorFailed', 'leaseReleased']);
    expect(events[1]).toMatchObject({ type: 'processorFailed', call: 'processRecords', attempt: 1, error: expect.any(RangeError) });
    expect(events[0]).toMatchObject({ type: 'leaseTaken', shardId: 'shardId-000000000000', how: 'assigned' });
    expect(leaseEventLines((await reader.collect()).resourceMetrics)).toEqual(eventLines(events));
  } finally {
    await worker?.stop();
    worker = undefined;
    await meterProvider.shutdown();
  }
});

it('a checkpoint that could not be stored is recorded with its duration and error.type', async () => {
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const dynamodb = await startFaultProxy({ target: endpoints().dynamodb });
  try {
    const stream = uniqueName('cpmetrics');
    await createStream(kinesis, stream, 1);
    // Only checkpoint writes fail (lease renewals pass), until the processor has seen one fail.
    const checkpointWrites = dynamodb.set(
      (request) => request.operation === 'UpdateItem' && String(request.body?.UpdateExpression).includes('checkpoint = :checkpoint'),
      'http500',
    );
    const outcomes: string[] = [];
    worker = createWorker(
      {
        appName: uniqueName('app'),
        streamName: stream,
        kinesis: { endpoint: endpoints().kinesis },
        dynamodb: { endpoint: dynamodb.url },
        idleTimeBetweenReadsMs: 50,
        checkpointRetry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
        meterProvider,
        logger: new CapturingLogger(),
      },
      () => ({
        async processRecords({ checkpointer }) {
          try {
            await checkpointer.checkpoint();
            outcomes.push('stored');
          } catch {
            outcomes.push('failed');
            checkpointWrites.remove();
          }
        },
      }),
    );
    await worker.start();
    await putRecords(kinesis, stream, records('c', 3));
    await waitFor(() => outcomes.includes('failed'), 'a failed checkpoint');
    await putRecords(kinesis, stream, records('d', 3));
    await waitFor(() => outcomes.includes('stored'), 'a stored checkpoint');

    const m = (await reader.collect()).resourceMetrics;
    const checkpoints = points(m, 'kinesis.worker.checkpoint.duration');
    expect(sum(checkpoints)).toBe(outcomes.length);
    expect(failedWith(checkpoints)).toEqual(['_OTHER']);
    expect(sum(checkpoints) - sum(succeeded(checkpoints))).toBe(1);
  } finally {
    await worker?.stop();
    worker = undefined;
    await dynamodb.close();
    await meterProvider.shutdown();
  }
});

it('a processRecords that overran processingTimeoutMs is a failed delivery (error.type ProcessingTimeoutError), its late return not counted', async () => {
  const reader = new CollectingReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  let release: () => void = () => undefined;
  const hang = new Promise<void>((resolve) => (release = resolve));
  let lateReturn = false;
  try {
    const stream = uniqueName('timeoutmetrics');
    await createStream(kinesis, stream, 1);
    await putRecords(kinesis, stream, records('t', 5));
    let instances = 0;
    let delivered = 0;
    worker = createWorker(
      {
        appName: uniqueName('app'),
        streamName: stream,
        kinesis: { endpoint: endpoints().kinesis },
        dynamodb: { endpoint: endpoints().dynamodb },
        idleTimeBetweenReadsMs: 50,
        processingTimeoutMs: 500,
        leaseTakerIntervalMs: 300,
        meterProvider,
        logger: new CapturingLogger(),
      },
      () => {
        const instance = ++instances;
        return {
          async processRecords({ records: batch, checkpointer }) {
            // The first processor hangs past the timeout: the lease is given up and taken again.
            if (instance === 1) return hang.then(() => void (lateReturn = true));
            delivered += batch.length;
            await checkpointer.checkpoint();
          },
        };
      },
    );
    await worker.start();
    await waitFor(() => delivered === 5, 'the records, by the next processor');
    release();
    await waitFor(() => lateReturn, 'the hung call to return');

    const m = (await reader.collect()).resourceMetrics;
    const process = points(m, 'messaging.process.duration');
    expect(failedWith(process)).toEqual(['ProcessingTimeoutError']);
    const consumed = points(m, 'messaging.client.consumed.messages');
    expect(sum(consumed) - sum(succeeded(consumed))).toBe(5);
    // The late return of the abandoned call is not a second successful delivery.
    expect(sum(succeeded(consumed))).toBe(5);
    expect(failedWith(points(m, 'kinesis.worker.batches'))).toEqual(['_OTHER']);
  } finally {
    release();
    await worker?.stop();
    worker = undefined;
    await meterProvider.shutdown();
  }
});
