import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
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
const eventLines = (events: WorkerEvent[]) => events.map((e) => `${e.type}/${e.shardId}`).sort();

it('the native engine reports records, bytes, batches, processing errors, processing and checkpoint durations, leases, lag and throttles through OpenTelemetry', async () => {
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
    // A batch is counted once processRecords returned: wait for the last one's metrics.
    let m!: ResourceMetrics;
    await waitFor(
      async () => sum(points((m = (await reader.collect()).resourceMetrics), 'messaging.client.consumed.messages')) >= 30,
      'the batches counted',
    );
    const bytes = puts.reduce((total, p) => total + p.data.length, 0);

    const consumed = points(m, 'messaging.client.consumed.messages');
    expect(sum(consumed)).toBe(30);
    expect(consumed[0].attributes).toMatchObject({
      'messaging.system': 'aws_kinesis',
      'messaging.destination.name': stream,
      'messaging.consumer.group.name': appName,
      'kinesis.worker.id': worker.workerId,
    });
    expect(new Set(consumed.map((p) => p.attributes['messaging.destination.partition.id']))).toEqual(
      new Set(['shardId-000000000000', 'shardId-000000000001']),
    );
    expect(sum(points(m, 'kinesis.worker.consumed.bytes'))).toBe(bytes);
    const batches = sum(points(m, 'kinesis.worker.batches'));
    expect(batches).toBeGreaterThanOrEqual(2);
    // Every batch ended delivered; the two failed attempts are processing errors.
    expect(points(m, 'kinesis.worker.batches').every((p) => p.attributes.outcome === 'success')).toBe(true);
    const errors = points(m, 'kinesis.worker.processing.errors');
    expect(sum(errors)).toBe(2);
    expect(errors.map((p) => p.attributes['error.type'])).toEqual(errors.map(() => 'SyntaxError'));
    expect(sum(points(m, 'messaging.process.duration'))).toBe(batches);
    expect(sum(points(m, 'kinesis.worker.checkpoint.duration'))).toBe(batches);
    const throttles = points(m, 'kinesis.worker.get_records.throttles');
    expect(sum(throttles)).toBe(3);
    expect(proxy.count('GetRecords')).toBeGreaterThan(3);
    expect(points(m, 'kinesis.worker.leases.held').map((p) => p.value)).toEqual([2]);
    expect(points(m, 'kinesis.worker.millis_behind_latest')).toHaveLength(2);
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

it('the kcl engine reports what this process sees: records, bytes, batches, processing errors, processing and checkpoint durations, lag, lease events', async () => {
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
    await waitFor(
      async () => sum(points((m = (await reader.collect()).resourceMetrics), 'messaging.client.consumed.messages')) >= 10,
      'the batches counted',
    );
    expect(sum(points(m, 'messaging.client.consumed.messages'))).toBe(10);
    expect(sum(points(m, 'kinesis.worker.consumed.bytes'))).toBe(puts.reduce((total, p) => total + p.data.length, 0));
    const batches = sum(points(m, 'kinesis.worker.batches'));
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(sum(points(m, 'messaging.process.duration'))).toBe(batches);
    expect(sum(points(m, 'kinesis.worker.checkpoint.duration'))).toBe(batches);
    expect(points(m, 'kinesis.worker.checkpoint.failures')).toEqual([]);
    expect(points(m, 'kinesis.worker.processing.errors').map((p) => [p.value, p.attributes['error.type']])).toEqual([[1, 'RangeError']]);
    // The lag the daemon passes with each batch, per shard; the leases are the Java KCL's, not counted here.
    expect(points(m, 'kinesis.worker.millis_behind_latest').map((p) => p.attributes['messaging.destination.partition.id'])).toEqual([
      'shardId-000000000000',
    ]);
    expect(points(m, 'kinesis.worker.leases.held')).toEqual([]);

    // The lease events this process learns of (the daemon's assignment of the shard, the release at a
    // graceful stop) are counted as onEvent reports them.
    await worker.stop();
    expect(events.map((e) => e.type)).toEqual(['leaseTaken', 'leaseReleased']);
    expect(events[0]).toMatchObject({ type: 'leaseTaken', shardId: 'shardId-000000000000', how: 'assigned' });
    expect(leaseEventLines((await reader.collect()).resourceMetrics)).toEqual(eventLines(events));
  } finally {
    await worker?.stop();
    worker = undefined;
    await meterProvider.shutdown();
  }
});

it('a checkpoint that could not be stored is counted, with its duration', async () => {
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
    expect(sum(points(m, 'kinesis.worker.checkpoint.failures'))).toBe(outcomes.filter((o) => o === 'failed').length);
    expect(sum(points(m, 'kinesis.worker.checkpoint.duration'))).toBe(outcomes.length);
    expect(sum(points(m, 'kinesis.worker.checkpoint.failures'))).toBe(1);
  } finally {
    await worker?.stop();
    worker = undefined;
    await dynamodb.close();
    await meterProvider.shutdown();
  }
});
