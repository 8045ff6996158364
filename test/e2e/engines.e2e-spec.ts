import type { Type } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { KinesisWorkerService, type EngineName, type KinesisRecordProcessor, type KinesisWorkerOptions } from '../../lib';
import { createStream, putRecords } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, uniqueName } from '../support/aws';
import { closeAndCheck, kclWorkers } from '../support/kcl-processes';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';
import { expectedByShard, records } from '../support/records';
import { CapturingLogger } from '../support/capturing-logger';

/**
 * The foundation behaviours, one suite, run against each engine through KinesisWorkerModule: the same
 * processor class, the same assertions; only `engine` differs. For the kcl engine every close also
 * checks that no JVM, relay or watchdog of the app survived.
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

describe.each<EngineName>(['native', 'kcl'])('the %s engine through KinesisWorkerModule (kinesis-local + dynalite)', (engine) => {
  const open = new Set<TestingModule>();
  const start = async (
    recorder: Recorder,
    processor: Type<KinesisRecordProcessor>,
    options: Partial<KinesisWorkerOptions> & { appName: string },
  ) => {
    const app = await startApp(recorder, processor, { ...options, engine });
    open.add(app);
    return app;
  };
  const close = async (app: TestingModule) => {
    open.delete(app);
    await closeAndCheck(app);
  };
  afterEach(async () => {
    // A failed test still closes its apps: no JVM may outlive it.
    await Promise.all([...open].map((app) => close(app).catch(() => undefined)));
  });

  it('delivers every record of a 4-shard stream from TRIM_HORIZON, in order per shard, to one DI-built instance per shard, and keeps following', async () => {
    const stream = uniqueName('orders');
    await createStream(kinesis, stream, 4);
    const before = await putRecords(kinesis, stream, records('before', 120));
    const recorder = new Recorder();
    const app = await start(recorder, recordingProcessor(stream), { appName: uniqueName('app') });
    await waitFor(() => recorder.deliveries.length >= 120, '120 records');
    const during = await putRecords(kinesis, stream, records('during', 40));
    await waitFor(() => recorder.deliveries.length >= 160, '160 records');

    expect(recorder.byShard()).toEqual(expectedByShard([...before, ...during]));
    expect(new Set(before.map((p) => p.shardId)).size).toBe(4);
    const instanceByShard = new Map<string, Set<number>>();
    for (const d of recorder.deliveries) instanceByShard.set(d.shardId, (instanceByShard.get(d.shardId) ?? new Set()).add(d.instance));
    expect([...instanceByShard.values()].every((set) => set.size === 1)).toBe(true);
    expect(new Set([...instanceByShard.values()].map((set) => [...set][0])).size).toBe(4);

    const [status] = app.get(KinesisWorkerService).status();
    expect(status).toMatchObject({ engine, streamName: stream, running: true });
    expect(status.shards.map((s) => s.shardId).sort()).toEqual([...instanceByShard.keys()].sort());
    expect(kclWorkers(app).length).toBe(engine === 'kcl' ? 1 : 0);
    await close(app);
  });

  it('resumes after the last checkpoint on restart, never redelivering checkpointed records, and the stored checkpoint wins over LATEST', async () => {
    const stream = uniqueName('restart');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 2);
    await putRecords(kinesis, stream, records('first', 30));
    const first = new Recorder();
    const app1 = await start(first, recordingProcessor(stream), { appName });
    await waitFor(() => first.deliveries.length >= 30, '30 records');
    await close(app1);

    await putRecords(kinesis, stream, records('second', 20));
    const second = new Recorder();
    const app2 = await start(second, recordingProcessor(stream), { appName, initialPosition: 'LATEST' });
    await waitFor(() => second.deliveries.length >= 20, '20 new records');
    await putRecords(kinesis, stream, records('third', 10));
    await waitFor(() => second.deliveries.length >= 30, '10 more');
    const data = second.deliveries.map((d) => d.data);
    expect(data.filter((d) => d.startsWith('first'))).toEqual([]);
    expect(new Set(data)).toEqual(new Set([...records('second', 20), ...records('third', 10)].map((r) => r.data)));
    expect(data.length).toBe(30);
    expect(second.events.filter((e) => e.type === 'initialize').every((e) => /^\d+$/.test(e.checkpoint!))).toBe(true);
    await close(app2);
  });

  it('with LATEST on a fresh application skips what was already in the stream', async () => {
    const stream = uniqueName('latest');
    await createStream(kinesis, stream, 2);
    // Put right before the start: both engines start at the server's LATEST, so none of these is delivered.
    await putRecords(kinesis, stream, records('old', 20));
    const recorder = new Recorder();
    const app = await start(recorder, recordingProcessor(stream), { appName: uniqueName('app'), initialPosition: 'LATEST' });
    if (engine === 'kcl') {
      // The Java KCL takes its LATEST iterator before it calls initialize, and its leases are taken
      // after start() resolved: initialize is the point from which nothing put is skipped.
      await waitFor(() => recorder.events.filter((e) => e.type === 'initialize').length >= 2, 'both shards initialized');
    }
    // The native engine: when the app's bootstrap resolves, the starting positions (LATEST iterators) are fixed; put at once.
    await putRecords(kinesis, stream, records('new', 10));
    await waitFor(() => recorder.deliveries.length >= 10, '10 new records');
    expect(recorder.events.filter((e) => e.type === 'initialize').map((e) => e.checkpoint)).toEqual(['LATEST', 'LATEST']);
    expect(recorder.deliveries.map((d) => d.data).sort()).toEqual(
      records('new', 10)
        .map((r) => r.data)
        .sort(),
    );
    await close(app);
  });

  it('app.close() waits for the batch in flight, calls shutdown(REQUESTED) with a working checkpointer, whose final checkpoint is stored, and releases the leases', async () => {
    const stream = uniqueName('close');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 2);
    const puts = await putRecords(kinesis, stream, records('r', 20));
    const recorder = new Recorder();
    recorder.checkpointEachBatch = false; // only the shutdown checkpoint records progress
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let inFlight = 0;
    recorder.beforeBatch = async () => {
      inFlight++;
      await gate;
    };
    const app = await start(recorder, recordingProcessor(stream), { appName });
    await waitFor(() => inFlight === 2, 'a batch in flight on each shard');

    let closed = false;
    const closing = close(app).then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(closed).toBe(false);
    expect(recorder.events.filter((e) => e.type === 'shutdown')).toEqual([]);
    release();
    await closing;

    const shutdowns = recorder.events.filter((e) => e.type === 'shutdown');
    expect(shutdowns).toHaveLength(2);
    expect(shutdowns.every((e) => e.reason === 'REQUESTED' && e.hadCheckpointer)).toBe(true);
    for (const shutdown of shutdowns) {
      const lastBatch = recorder.events.findLastIndex((e) => e.type === 'processRecords' && e.shardId === shutdown.shardId);
      expect(lastBatch).toBeLessThan(recorder.events.indexOf(shutdown));
    }
    expect(recorder.errors).toEqual([]);
    expect(recorder.deliveries).toHaveLength(20);

    const lastByShard = new Map(puts.map((p) => [p.shardId, p.sequenceNumber]));
    const items = await scanRaw(dynamo, appName);
    expect(items).toHaveLength(2);
    for (const item of items) {
      expect(item.leaseOwner).toBeUndefined();
      expect(item.checkpoint.S).toBe(lastByShard.get(item.leaseKey.S!));
    }
  });

  it('retries a batch whose processRecords throws, logs shard and sequence numbers, and skips nothing', async () => {
    const stream = uniqueName('failing');
    await createStream(kinesis, stream, 2);
    const puts = await putRecords(kinesis, stream, records('r', 30));
    const failingShard = puts[0].shardId;
    const recorder = new Recorder();
    let failures = 0;
    recorder.beforeBatch = ({ shardId }) => {
      if (shardId === failingShard && failures < 2) {
        failures++;
        throw new Error(`database unavailable (${failures})`);
      }
    };
    const logger = new CapturingLogger();
    const app = await start(recorder, recordingProcessor(stream), {
      appName: uniqueName('app'),
      logger,
      processingRetry: { baseDelayMs: 20, maxDelayMs: 50 },
    });
    await waitFor(() => recorder.deliveries.length >= 30, 'all 30 records despite the failures');
    expect(failures).toBe(2);
    expect(recorder.byShard()).toEqual(expectedByShard(puts));
    const errors = logger.lines.filter((line) => line.startsWith('ERROR') && line.includes('database unavailable'));
    expect(errors).toHaveLength(2);
    const firstSeq = puts.find((p) => p.shardId === failingShard)!.sequenceNumber;
    expect(errors[0]).toContain(failingShard);
    expect(errors[0]).toContain(firstSeq);
    expect(errors[0]).toContain(stream);
    await close(app);
  });
});
