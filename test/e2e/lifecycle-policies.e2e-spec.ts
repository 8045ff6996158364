/* eslint-disable @typescript-eslint/require-await -- processors and onFailedBatch hooks that answer at once or throw, as rejections */
import { createWorker, type FailedBatch, type KinesisWorker, type StreamWorkerOptions, type WorkerEvent } from '../../lib';
import { createStream, putRecords, type PutResult } from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { dynamoClient, kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { readLeases } from '../support/lease-table';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';

/** Processing policies (native engine): automatic checkpoints and the dead-letter hook, on the emulators. */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const workers = new Set<KinesisWorker>();
/** Hung processRecords and onFailedBatch calls wait on this; each test lets them go at its end. */
let letHungCallsGo: () => void = () => undefined;
let hungCallsGo = new Promise<void>((resolve) => (letHungCallsGo = resolve));
afterEach(async () => {
  await Promise.all([...workers].map((w) => w.stop()));
  workers.clear();
  letHungCallsGo();
  hungCallsGo = new Promise<void>((resolve) => (letHungCallsGo = resolve));
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

const SHARD = 'shardId-000000000000';
const sent = (puts: PutResult[]) => puts.map((p) => p.data.toString());
const checkpointOf = async (appName: string) => (await readLeases(dynamo, appName)).find((l) => l.shardId === SHARD)?.checkpoint;

/**
 * A worker whose processor never checkpoints by itself; `fail` decides which records make a batch throw,
 * `hang` which make its processRecords never return (until the test ends).
 */
function worker(
  appName: string,
  stream: string,
  options: Partial<StreamWorkerOptions>,
  fail: (data: string) => boolean = () => false,
  hang: (data: string) => boolean = () => false,
) {
  const delivered: string[] = [];
  const events: WorkerEvent[] = [];
  const logger = new CapturingLogger();
  const w = createWorker(
    {
      ...workerClientOptions(),
      appName,
      streamName: stream,
      idleTimeBetweenReadsMs: 50,
      failoverTimeMs: 3_000,
      maxRecords: 5,
      logger,
      onEvent: (e) => void events.push(e),
      ...options,
    },
    () => ({
      async processRecords({ records: batch }) {
        const data = batch.map((r) => r.data.toString());
        delivered.push(...data);
        if (data.some(hang)) await hungCallsGo;
        if (data.some(fail)) throw new Error('poison record in the batch');
      },
    }),
  );
  workers.add(w);
  return { w, delivered, events, logger };
}

async function streamWith(prefix: string, count: number) {
  const stream = uniqueName(prefix);
  await createStream(kinesis, stream, 1);
  return { stream, puts: await putRecords(kinesis, stream, records(prefix, count)) };
}

it("autoCheckpoint 'batch': the engine checkpoints each successful batch; a restarted worker redelivers nothing", async () => {
  const { stream, puts } = await streamWith('auto', 12);
  const appName = uniqueName('app');
  const first = worker(appName, stream, { autoCheckpoint: 'batch' });
  await first.w.start();
  await waitFor(() => first.delivered.length >= 12, '12 records');
  await waitFor(async () => (await checkpointOf(appName)) === puts.at(-1)!.sequenceNumber, 'the checkpoint at the last record');
  await first.w.stop();
  workers.delete(first.w);
  const more = await putRecords(kinesis, stream, records('more', 3));
  const second = worker(appName, stream, { autoCheckpoint: 'batch' });
  await second.w.start();
  await waitFor(() => second.delivered.length >= 3, 'the new records');
  expect(second.delivered).toEqual(sent(more));
});

it('autoCheckpoint { everyMs }: nothing due while running, and a graceful stop stores what succeeded', async () => {
  const { stream, puts } = await streamWith('stopflush', 8);
  const appName = uniqueName('app');
  const { w, delivered } = worker(appName, stream, { autoCheckpoint: { everyMs: 600_000 } });
  await w.start();
  await waitFor(() => delivered.length >= 8, '8 records');
  expect(await checkpointOf(appName)).toBe('TRIM_HORIZON');
  await w.stop();
  expect(await checkpointOf(appName)).toBe(puts.at(-1)!.sequenceNumber);
});

it('onFailedBatch takes a batch that failed every attempt; the engine checkpoints past it and goes on, keeping the lease', async () => {
  const { stream, puts } = await streamWith('dlq', 15);
  const appName = uniqueName('app');
  const deadLetters: FailedBatch[] = [];
  const { w, delivered, events, logger } = worker(
    appName,
    stream,
    { processingRetry: { maxAttempts: 2, baseDelayMs: 20, maxDelayMs: 50 }, onFailedBatch: async (batch) => void deadLetters.push(batch) },
    (data) => data === 'dlq-7',
  );
  await w.start();
  await waitFor(() => delivered.includes('dlq-14'), 'the records after the poison batch');
  expect(deadLetters).toHaveLength(1);
  expect(deadLetters[0].records.map((r) => r.data.toString())).toContain('dlq-7');
  expect(deadLetters[0]).toMatchObject({ shardId: SHARD, streamName: stream, attempts: 2 });
  expect(String(deadLetters[0].error)).toContain('poison record');
  // Each record reached processRecords; the poison batch twice (its two attempts), the others once.
  const poisonBatch = deadLetters[0].records.map((r) => r.data.toString());
  expect(delivered.filter((d) => !poisonBatch.includes(d))).toEqual(sent(puts).filter((d) => !poisonBatch.includes(d)));
  expect(events.filter((e) => e.type === 'leaseReleased' || e.type === 'leaseLost')).toEqual([]);
  expect(logger.lines.filter((l) => l.includes('went to onFailedBatch after 2 failed attempts'))).toHaveLength(1);
  // The processor checkpoints nothing itself: the stored checkpoint is the one past the dead-lettered batch.
  expect(await checkpointOf(appName)).toBe(deadLetters[0].records.at(-1)!.sequenceNumber);
});

it('an onFailedBatch that throws: the lease is given up as without it, and the batch is delivered again', async () => {
  const { stream } = await streamWith('dlqfail', 5);
  const appName = uniqueName('app');
  let calls = 0;
  const { w, delivered, events } = worker(
    appName,
    stream,
    {
      processingRetry: { maxAttempts: 1, baseDelayMs: 20, maxDelayMs: 50 },
      leaseTakerIntervalMs: 300,
      onFailedBatch: async () => {
        calls++;
        throw new Error('dead-letter queue unavailable');
      },
    },
    (data) => data === 'dlqfail-2',
  );
  await w.start();
  await waitFor(() => calls >= 2, 'the batch handed over twice (delivered again after the lease came back)', 30_000);
  expect(events).toContainEqual(expect.objectContaining({ type: 'leaseReleased', reason: 'GAVE_UP' }));
  expect(delivered.filter((d) => d === 'dlqfail-2').length).toBeGreaterThanOrEqual(2);
  expect(await checkpointOf(appName)).toBe('TRIM_HORIZON');
});

it('a processRecords that overruns processingTimeoutMs is a failed batch: with a finite processingRetry it goes to onFailedBatch, and the shard goes on after it', async () => {
  const { stream, puts } = await streamWith('dlqhang', 15);
  const appName = uniqueName('app');
  const deadLetters: FailedBatch[] = [];
  const { w, delivered, events, logger } = worker(
    appName,
    stream,
    {
      processingTimeoutMs: 500,
      processingRetry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 50 },
      leaseTakerIntervalMs: 300,
      onFailedBatch: async (batch) => void deadLetters.push(batch),
    },
    () => false,
    (data) => data === 'dlqhang-7',
  );
  await w.start();
  await waitFor(() => delivered.includes('dlqhang-14'), 'the records after the hung batch', 30_000);
  expect(deadLetters).toHaveLength(1);
  const hungBatch = deadLetters[0].records.map((r) => r.data.toString());
  expect(hungBatch).toContain('dlqhang-7');
  // The timeout ends the batch's attempts: the processor still busy with it is not given it again.
  expect(deadLetters[0]).toMatchObject({ shardId: SHARD, streamName: stream, attempts: 1 });
  expect(String(deadLetters[0].error)).toContain('processingTimeoutMs (500 ms)');
  // Every record reached processRecords exactly once: the hung batch is not delivered again, nothing is skipped.
  expect(delivered).toEqual(sent(puts));
  // The busy processor got no further batch: the lease was given up and taken again by a new processor.
  expect(events).toContainEqual(expect.objectContaining({ type: 'leaseReleased', reason: 'GAVE_UP' }));
  expect(logger.lines.filter((l) => l.includes('went to onFailedBatch after 1 failed attempts'))).toHaveLength(1);
  expect(await checkpointOf(appName)).toBe(deadLetters[0].records.at(-1)!.sequenceNumber);
});

it('an onFailedBatch that does not return within processingTimeoutMs: the lease is given up without a checkpoint (no silent stall under a renewed lease), and the batch is handed over again', async () => {
  const { stream, puts } = await streamWith('dlqstall', 10);
  const appName = uniqueName('app');
  const hookCalls: FailedBatch[] = [];
  const { w, delivered, events, logger } = worker(
    appName,
    stream,
    {
      processingTimeoutMs: 500,
      processingRetry: { maxAttempts: 1, baseDelayMs: 20, maxDelayMs: 50 },
      leaseTakerIntervalMs: 300,
      onFailedBatch: async (batch) => {
        hookCalls.push(batch);
        // The first call hangs (a dead-letter queue that does not answer); the next one takes the batch.
        if (hookCalls.length === 1) await hungCallsGo;
      },
    },
    (data) => data === 'dlqstall-2',
  );
  await w.start();
  await waitFor(() => delivered.includes('dlqstall-9'), 'the records after the batch the second hook call took', 30_000);
  expect(hookCalls.length).toBeGreaterThanOrEqual(2);
  expect(hookCalls[1].records.map((r) => r.data.toString())).toEqual(hookCalls[0].records.map((r) => r.data.toString()));
  expect(events).toContainEqual(expect.objectContaining({ type: 'leaseReleased', reason: 'GAVE_UP' }));
  expect(logger.lines.filter((l) => l.includes('onFailedBatch did not return within processingTimeoutMs (500 ms)'))).toHaveLength(1);
  // Nothing skipped: every record reached processRecords, the failing batch at least twice.
  expect(new Set(delivered)).toEqual(new Set(sent(puts)));
  expect(await checkpointOf(appName)).toBe(hookCalls[1].records.at(-1)!.sequenceNumber);
});
