import { createWorker, type KinesisWorker, type StreamWorkerOptions, type WorkerStatus } from '../../lib';
import { createStream, putRecords } from '../../lib/testing';
import { kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import { expectedByShard } from '../support/records';
import { waitFor } from '../support/wait-for';

/**
 * retrieval.maxBufferedRecords / maxBufferedBytes (docs/retrieval.md#memory): on kinesis-local, with a
 * slow processor and a backlog on several shards, the records fetched but not yet processed never
 * exceed the bound (the worker's own count, read from status() at every call and at the end), every
 * record is still delivered once and in order, and a record larger than the byte bound goes alone.
 */
const kinesis = kinesisClient();
afterAll(() => kinesis.destroy());

const FAST = {
  idleTimeBetweenReadsMs: 50,
  failoverTimeMs: 3_000,
  leaseTakerIntervalMs: 300,
  shardSyncIntervalMs: 1_000,
  initialPosition: 'TRIM_HORIZON' as const,
};

let worker: KinesisWorker | undefined;
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});

/** The worker options of every case: the test's stream at FAST intervals, with its read-buffer bound. */
const options = (streamName: string, retrieval: StreamWorkerOptions['retrieval']): StreamWorkerOptions => ({
  ...workerClientOptions(),
  ...FAST,
  appName: uniqueName('buffer-app'),
  streamName,
  retrieval,
  logger: new CapturingLogger(),
});

const buffered = (): NonNullable<WorkerStatus['readBuffer']> => worker!.describe().readBuffer!;
/** Lets the other shards' reads run while a batch is being processed: the processor is slow. */
const slowly = () => new Promise((resolve) => setTimeout(resolve, 30));

async function backlog(shards: number, count: number, bytes: number) {
  const stream = uniqueName('buffer');
  await createStream(kinesis, stream, shards);
  const puts = await putRecords(
    kinesis,
    stream,
    Array.from({ length: count }, (_, i) => ({ partitionKey: `key-${i}`, data: `${i}`.padEnd(bytes, '.') })),
  );
  return { stream, expected: expectedByShard(puts), total: count };
}

it('processRecords: records fetched but not processed stay within maxBufferedRecords across 4 shards; every record in order', async () => {
  const { stream, expected, total } = await backlog(4, 1_200, 200);
  const got = new Map<string, string[]>();
  const seen: number[] = [];
  let delivered = 0;
  worker = createWorker(options(stream, { maxBufferedRecords: 100, maxBufferedBytes: 1024 * 1024 }), () => ({
    async processRecords({ shardId, records, checkpointer }) {
      seen.push(buffered().records);
      got.set(shardId, [...(got.get(shardId) ?? []), ...records.map((record) => record.data.toString())]);
      await slowly();
      await checkpointer.checkpoint();
      delivered += records.length;
    },
  }));
  await worker.start();
  await waitFor(() => delivered === total, `all ${total} records delivered`);
  const { peakRecords, maxRecords } = buffered();
  expect(maxRecords).toBe(100);
  // The bound was reached (so reading had to wait) and never passed.
  expect(peakRecords).toBeGreaterThan(50);
  expect(peakRecords).toBeLessThanOrEqual(100);
  expect(Math.max(...seen)).toBeLessThanOrEqual(100);
  for (const [shardId, records] of expected) expect(got.get(shardId)).toEqual(records);
  // Stopped with reads ahead on every shard: each abandoned batch gave its room back.
  await worker.stop();
  expect(buffered()).toMatchObject({ records: 0, bytes: 0 });
});

it('processRecord: the same bound holds, and every record is delivered in order per shard', async () => {
  const { stream, expected, total } = await backlog(3, 900, 100);
  const got = new Map<string, string[]>();
  let delivered = 0;
  worker = createWorker(options(stream, { maxBufferedRecords: 60, maxBufferedBytes: 1024 * 1024 }), () => ({
    async processRecord(record, { shardId }) {
      if (Number(record.data.toString().replace(/\.+$/, '')) % 20 === 0) await slowly();
      got.set(shardId, [...(got.get(shardId) ?? []), record.data.toString()]);
      delivered += 1;
    },
  }));
  await worker.start();
  await waitFor(() => delivered === total, `all ${total} records delivered`);
  expect(buffered().peakRecords).toBeGreaterThan(0);
  expect(buffered().peakRecords).toBeLessThanOrEqual(60);
  for (const [shardId, records] of expected) expect(got.get(shardId)).toEqual(records);
});

it('a record larger than maxBufferedBytes is read alone: no deadlock, every record delivered in order', async () => {
  const { stream, expected, total } = await backlog(2, 40, 3_000);
  const got = new Map<string, string[]>();
  const batchSizes: number[] = [];
  let delivered = 0;
  worker = createWorker(options(stream, { maxBufferedBytes: 1_000 }), () => ({
    processRecords({ shardId, records }) {
      batchSizes.push(records.length);
      got.set(shardId, [...(got.get(shardId) ?? []), ...records.map((record) => record.data.toString())]);
      delivered += records.length;
      return Promise.resolve();
    },
  }));
  await worker.start();
  await waitFor(() => delivered === total, `all ${total} records delivered`);
  expect(Math.max(...batchSizes)).toBe(1);
  // One 3000-byte record held, and the next read's claim (what is free) besides it.
  expect(buffered().peakBytes).toBeLessThanOrEqual(3_000 + 1_000);
  for (const [shardId, records] of expected) expect(got.get(shardId)).toEqual(records);
});
