import { createStream, putRecords } from '../../lib/testing';
import type { WorkerEvent, WorkerLogger } from '../../lib';
import { dynamoClient, kinesisClient, scanRaw, uniqueName } from '../support/aws';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';

const kinesis = kinesisClient();
const dynamo = dynamoClient();
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

function records(prefix: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({ partitionKey: `pk-${i}`, data: `${prefix}-${i}` }));
}

class CapturingLogger implements WorkerLogger {
  readonly lines: string[] = [];
  log = (m: string) => void this.lines.push(`LOG ${m}`);
  warn = (m: string) => void this.lines.push(`WARN ${m}`);
  error = (m: string) => void this.lines.push(`ERROR ${m}`);
}

describe('worker lifecycle on the emulators', () => {
  it('app.close() waits for the batch in flight, calls shutdown(REQUESTED) with a working checkpointer, and releases the leases', async () => {
    const stream = uniqueName('close');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 2);
    const puts = await putRecords(kinesis, stream, records('r', 20));
    const recorder = new Recorder();
    recorder.checkpointEachBatch = false; // only the shutdown checkpoint will record progress
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let inFlight = 0;
    recorder.beforeBatch = async () => {
      inFlight++;
      await gate;
    };
    const app = await startApp(recorder, recordingProcessor(stream), { appName });
    await waitFor(() => inFlight === 2, 'a batch in flight on each shard');

    let closed = false;
    const closing = app.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(closed).toBe(false);
    expect(recorder.events.filter((e) => e.type === 'shutdown')).toEqual([]);
    open();
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
      expect(item.checkpoint!.S).toBe(lastByShard.get(item.leaseKey!.S!));
    }
  });

  it('retries a batch whose processRecords throws, logs shard and sequence numbers, and skips nothing', async () => {
    const stream = uniqueName('failing');
    await createStream(kinesis, stream, 2);
    const puts = await putRecords(kinesis, stream, records('r', 30));
    const failingShard = puts[0]!.shardId;
    const recorder = new Recorder();
    let failures = 0;
    recorder.beforeBatch = ({ shardId }) => {
      if (shardId === failingShard && failures < 2) {
        failures++;
        throw new Error(`database unavailable (${failures})`);
      }
    };
    const logger = new CapturingLogger();
    const app = await startApp(recorder, recordingProcessor(stream), {
      appName: uniqueName('app'),
      logger,
      processingRetry: { baseDelayMs: 20, maxDelayMs: 50 },
    });
    try {
      await waitFor(() => recorder.deliveries.length >= 30, 'all 30 records despite the failures');
      expect(failures).toBe(2);
      const expected = new Map<string, string[]>();
      for (const p of puts) expected.set(p.shardId, [...(expected.get(p.shardId) ?? []), p.data.toString()]);
      expect(recorder.byShard()).toEqual(expected);
      const errors = logger.lines.filter((line) => line.startsWith('ERROR') && line.includes('database unavailable'));
      expect(errors).toHaveLength(2);
      const firstSeq = puts.find((p) => p.shardId === failingShard)!.sequenceNumber;
      expect(errors[0]).toContain(failingShard);
      expect(errors[0]).toContain(firstSeq);
      expect(errors[0]).toContain(stream);
    } finally {
      await app.close();
    }
  });

  it('with a finite processingRetry, gives the lease up after the last attempt and retries the batch later: still nothing skipped', async () => {
    const stream = uniqueName('giveup');
    await createStream(kinesis, stream, 1);
    const puts = await putRecords(kinesis, stream, records('r', 10));
    const recorder = new Recorder();
    let calls = 0;
    recorder.beforeBatch = () => {
      if (++calls <= 3) throw new Error(`poison pill (${calls})`);
    };
    const events: WorkerEvent[] = [];
    const app = await startApp(recorder, recordingProcessor(stream), {
      appName: uniqueName('app'),
      logger: new CapturingLogger(),
      processingRetry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
      leaseTakerIntervalMs: 300,
      onEvent: (event) => events.push(event),
    });
    try {
      await waitFor(() => recorder.deliveries.length >= 10, 'every record once the processor recovers');
      expect(recorder.deliveries.map((d) => d.data)).toEqual(puts.map((p) => p.data.toString()));
      expect(events.filter((e) => e.type === 'leaseReleased').map((e) => (e as { reason: string }).reason)).toContain('GAVE_UP');
      expect(recorder.events.filter((e) => e.type === 'initialize').length).toBeGreaterThanOrEqual(2);
      expect(recorder.events.find((e) => e.type === 'shutdown')).toMatchObject({ reason: 'ZOMBIE', hadCheckpointer: false });
    } finally {
      await app.close();
    }
  });
});
