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
afterEach(async () => {
  await Promise.all([...workers].map((w) => w.stop()));
  workers.clear();
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

const SHARD = 'shardId-000000000000';
const sent = (puts: PutResult[]) => puts.map((p) => p.data.toString());
const checkpointOf = async (appName: string) => (await readLeases(dynamo, appName)).find((l) => l.shardId === SHARD)?.checkpoint;

/** A worker whose processor never checkpoints by itself; `fail` decides which records make a batch throw. */
function worker(appName: string, stream: string, options: Partial<StreamWorkerOptions>, fail: (data: string) => boolean = () => false) {
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
