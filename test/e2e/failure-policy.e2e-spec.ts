/* eslint-disable @typescript-eslint/require-await -- processors and onFailedBatch hooks that answer at once */
import {
  createWorker,
  PartialBatchFailure,
  RecordsShedError,
  type BatchResult,
  type FailedBatch,
  type KinesisRecord,
  type KinesisWorker,
  type StreamWorkerOptions,
  type WorkerEvent,
} from '../../lib';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { createStream, putRecords, type PutResult } from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { dynamoClient, kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { readLeases } from '../support/lease-table';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';

/** The failure policy of batch processors (native engine, docs/failures.md), on the emulators. */
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
const dataOf = (batch: readonly KinesisRecord[]) => batch.map((r) => r.data.toString());
const checkpointOf = async (appName: string) => (await readLeases(dynamo, appName)).find((l) => l.shardId === SHARD)?.checkpoint;

interface Call {
  readonly data: string[];
  /** The stored checkpoint when the call began. */
  readonly checkpointBefore: string | undefined;
}

/** A worker whose processor reports as failed what `failed` picks among its records (the calls are kept). */
function worker(
  appName: string,
  stream: string,
  options: Partial<StreamWorkerOptions>,
  failed: (batch: readonly KinesisRecord[], call: number) => BatchResult | void,
) {
  const calls: Call[] = [];
  const events: WorkerEvent[] = [];
  const logger = new CapturingLogger();
  const w = createWorker(
    {
      ...workerClientOptions(),
      appName,
      streamName: stream,
      idleTimeBetweenReadsMs: 50,
      failoverTimeMs: 3_000,
      leaseTakerIntervalMs: 300,
      maxRecords: 20,
      autoCheckpoint: 'batch',
      logger,
      onEvent: (e) => void events.push(e),
      ...options,
    },
    () => ({
      async processRecords({ records: batch }) {
        calls.push({ data: dataOf(batch), checkpointBefore: await checkpointOf(appName) });
        return failed(batch, calls.length);
      },
    }),
  );
  workers.add(w);
  return { w, calls, events, logger };
}

async function streamWith(prefix: string, count: number) {
  const stream = uniqueName(prefix);
  await createStream(kinesis, stream, 1);
  return { stream, puts: await putRecords(kinesis, stream, records(prefix, count)) };
}

const seqOf = (puts: PutResult[], data: string) => puts.find((p) => p.data.toString() === data)!.sequenceNumber;

it('a partial batch failure retries only the failed keys from their first failure, and checkpoints just before the first record still pending', async () => {
  const { stream, puts } = await streamWith('partial', 10);
  const appName = uniqueName('app');
  const seen = new Map<string, number>();
  const times = (data: string) => seen.get(data) ?? 0;
  // partial-4 fails at its first call, partial-7 at its first two; the report lists them out of order.
  const { w, calls } = worker(appName, stream, { processingRetry: { maxAttempts: Infinity, baseDelayMs: 20, maxDelayMs: 50 } }, (batch) => {
    for (const r of batch) seen.set(r.data.toString(), times(r.data.toString()) + 1);
    const failing = batch.filter(
      (r) =>
        (r.data.toString() === 'partial-4' && times('partial-4') === 1) || (r.data.toString() === 'partial-7' && times('partial-7') <= 2),
    );
    return { failed: failing.reverse() };
  });
  await w.start();
  await waitFor(async () => (await checkpointOf(appName)) === puts.at(-1)!.sequenceNumber, 'the checkpoint at the last record');
  // The batch, then only the failed keys from their first failure on (each record has its own key here):
  // nothing that succeeded came twice.
  expect(calls.map((c) => c.data)).toEqual([puts.map((p) => p.data.toString()), ['partial-4', 'partial-7'], ['partial-7']]);
  // Before each retry, the engine had checkpointed the record just before the first one still pending, and no further.
  expect(calls.map((c) => c.checkpointBefore)).toEqual(['TRIM_HORIZON', seqOf(puts, 'partial-3'), seqOf(puts, 'partial-6')]);
});

it('a thrown PartialBatchFailure works as the returned report; the cause reaches the logs', async () => {
  const { stream, puts } = await streamWith('thrown', 6);
  const appName = uniqueName('app');
  let thrown = false;
  const { w, calls, logger } = worker(
    appName,
    stream,
    { processingRetry: { maxAttempts: Infinity, baseDelayMs: 20, maxDelayMs: 50 } },
    (batch) => {
      const poison = batch.find((r) => r.data.toString() === 'thrown-2');
      if (poison && !thrown) {
        thrown = true;
        throw new PartialBatchFailure([poison], new Error('the sink refused thrown-2'));
      }
    },
  );
  await w.start();
  await waitFor(async () => (await checkpointOf(appName)) === puts.at(-1)!.sequenceNumber, 'the checkpoint at the last record');
  expect(calls[1].data[0]).toBe('thrown-2');
  expect(calls[1].checkpointBefore).toBe(seqOf(puts, 'thrown-1'));
  expect(logger.lines.filter((l) => l.includes('retrying from') && l.includes('the sink refused thrown-2'))).toHaveLength(1);
});

it('without a destination the shard never passes a failed record: the checkpoint stays just below it across owners', async () => {
  const { stream, puts } = await streamWith('stuck', 8);
  const appName = uniqueName('app');
  const { w, calls, events } = worker(
    appName,
    stream,
    { processingRetry: { maxAttempts: 2, baseDelayMs: 20, maxDelayMs: 50 } },
    (batch) => ({
      failed: batch.filter((r) => r.data.toString() === 'stuck-5'),
    }),
  );
  await w.start();
  // Given up after two attempts, taken again, given up again: the record came back to a new processor.
  await waitFor(() => events.filter((e) => e.type === 'leaseReleased' && e.reason === 'GAVE_UP').length >= 2, 'two give-ups', 30_000);
  expect(await checkpointOf(appName)).toBe(seqOf(puts, 'stuck-4'));
  // The later owners start at the failed record: nothing before it came again.
  expect(calls.slice(1).every((c) => c.data[0] === 'stuck-5')).toBe(true);
});

it('with onFailedBatch: only the failed record (its key has no later record here) goes to the destination; the shard goes on', async () => {
  const { stream, puts } = await streamWith('dlq', 8);
  const appName = uniqueName('app');
  const deadLetters: FailedBatch[] = [];
  const { w, calls, events } = worker(
    appName,
    stream,
    { processingRetry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 50 }, onFailedBatch: async (batch) => void deadLetters.push(batch) },
    (batch) => ({ failed: batch.filter((r) => r.data.toString() === 'dlq-5') }),
  );
  await w.start();
  await waitFor(() => deadLetters.length === 1, 'the dead letter');
  // dlq-6 and dlq-7 (other keys) succeeded in the first call: they are done, not dead letters.
  expect(dataOf(deadLetters[0].records)).toEqual(['dlq-5']);
  expect(deadLetters[0].attempts).toBe(3);
  expect(calls.filter((c) => c.data.includes('dlq-4'))).toHaveLength(1);
  const more = await putRecords(kinesis, stream, records('more', 3));
  await waitFor(async () => (await checkpointOf(appName)) === more.at(-1)!.sequenceNumber, 'the records after it, checkpointed');
  expect(puts.length).toBe(8);
  expect(events.filter((e) => e.type === 'leaseReleased' || e.type === 'leaseLost')).toEqual([]);
});

it('bisectBatchOnError isolates one poison record in a batch of many: only it goes to onFailedBatch, the halves before it are checkpointed first', async () => {
  const { stream, puts } = await streamWith('bisect', 16);
  const appName = uniqueName('app');
  const deadLetters: FailedBatch[] = [];
  const { w, calls, events } = worker(
    appName,
    stream,
    {
      processingRetry: { maxAttempts: Infinity, baseDelayMs: 20, maxDelayMs: 50 },
      failurePolicy: { bisectBatchOnError: true, maxRetryAttempts: 1 },
      onFailedBatch: async (batch) => void deadLetters.push(batch),
    },
    (batch) => {
      if (batch.some((r) => r.data.toString() === 'bisect-11')) throw new Error('bisect-11 is poison');
    },
  );
  await w.start();
  await waitFor(async () => (await checkpointOf(appName)) === puts.at(-1)!.sequenceNumber, 'the checkpoint at the last record');
  expect(deadLetters.map((d) => dataOf(d.records))).toEqual([['bisect-11']]);
  expect(deadLetters[0]).toMatchObject({ attempts: 2 });
  expect(String(deadLetters[0].error)).toContain('bisect-11 is poison');
  // 16 -> 8 + 8 -> (8 -> 4 + 4 -> 2 + 2 -> 1 + 1): the poison alone twice, the first time after what preceded it was stored.
  const alone = calls.filter((c) => c.data.length === 1 && c.data[0] === 'bisect-11');
  expect(alone).toHaveLength(2);
  expect(alone[0].checkpointBefore).toBe(seqOf(puts, 'bisect-10'));
  // Every other record reached a successful call exactly once.
  const succeeded = calls.filter((c) => !c.data.includes('bisect-11')).flatMap((c) => c.data);
  expect(succeeded).toEqual(puts.map((p) => p.data.toString()).filter((d) => d !== 'bisect-11'));
  expect(events.filter((e) => e.type === 'leaseReleased' || e.type === 'leaseLost')).toEqual([]);
});

it('failurePolicy.maxRetryAttempts: a failing batch goes to onFailedBatch after 1 + maxRetryAttempts attempts, processingRetry unlimited', async () => {
  const { stream } = await streamWith('retries', 4);
  const appName = uniqueName('app');
  const deadLetters: FailedBatch[] = [];
  const { w, calls, logger } = worker(
    appName,
    stream,
    {
      processingRetry: { maxAttempts: Infinity, baseDelayMs: 20, maxDelayMs: 50 },
      failurePolicy: { maxRetryAttempts: 2 },
      onFailedBatch: async (batch) => void deadLetters.push(batch),
    },
    () => {
      throw new Error('the sink is down');
    },
  );
  await w.start();
  await waitFor(() => deadLetters.length === 1, 'the dead letter');
  expect(deadLetters[0]).toMatchObject({ attempts: 3 });
  expect(calls).toHaveLength(3);
  expect(logger.lines.filter((l) => l.includes('failed 3 times; handing them to onFailedBatch'))).toHaveLength(1);
});

it('failurePolicy.maxRecordAgeMs: a failing batch of records older than the limit is not retried; without a destination the lease is given up', async () => {
  const { stream } = await streamWith('aged', 3);
  const appName = uniqueName('app');
  const { w, calls, events, logger } = worker(
    appName,
    stream,
    { processingRetry: { maxAttempts: Infinity, baseDelayMs: 20, maxDelayMs: 50 }, failurePolicy: { maxRecordAgeMs: 1 } },
    () => {
      throw new Error('the sink is down');
    },
  );
  await w.start();
  await waitFor(() => events.some((e) => e.type === 'leaseReleased' && e.reason === 'GAVE_UP'), 'the lease given up');
  expect(calls.length).toBeGreaterThanOrEqual(1);
  expect(logger.lines.some((l) => l.includes('older than failurePolicy.maxRecordAgeMs (1 ms); giving the lease up'))).toBe(true);
  expect(await checkpointOf(appName)).toBe('TRIM_HORIZON');
});

/** processRecord processors: a record that keeps failing, on one key among several. */
function perRecordWorker(appName: string, stream: string, options: Partial<StreamWorkerOptions>, poison: string) {
  const finished: string[] = [];
  const attempts: string[] = [];
  const events: WorkerEvent[] = [];
  const logger = new CapturingLogger();
  const w = createWorker(
    {
      ...workerClientOptions(),
      appName,
      streamName: stream,
      idleTimeBetweenReadsMs: 50,
      failoverTimeMs: 3_000,
      leaseTakerIntervalMs: 300,
      concurrency: { maxInFlightPerShard: 4 },
      logger,
      onEvent: (e) => void events.push(e),
      ...options,
    },
    () => ({
      async processRecord(record) {
        const data = record.data.toString();
        attempts.push(data);
        if (data === poison) throw new Error(`${poison} is poison`);
        finished.push(data);
      },
    }),
  );
  workers.add(w);
  return { w, finished, attempts, events, logger };
}

async function keyedStream(prefix: string, count: number) {
  const stream = uniqueName(prefix);
  await createStream(kinesis, stream, 1);
  const puts = await putRecords(
    kinesis,
    stream,
    Array.from({ length: count }, (_, i) => ({ partitionKey: `key-${i % 5}`, data: `${prefix}-${i}` })),
  );
  return { stream, puts };
}

it('processRecord: a poison record goes to onFailedRecord after 1 + maxRetryAttempts attempts while the other keys flow; its key then goes on', async () => {
  const { stream, puts } = await keyedStream('rec', 30);
  const appName = uniqueName('app');
  const failedRecords: { data: string; attempts: number; finishedBefore: string[] }[] = [];
  const { w, finished, attempts, events } = perRecordWorker(
    appName,
    stream,
    {
      processingRetry: { maxAttempts: Infinity, baseDelayMs: 200, maxDelayMs: 300 },
      failurePolicy: { maxRetryAttempts: 2 },
      onFailedRecord: async (failed) =>
        void failedRecords.push({ data: failed.record.data.toString(), attempts: failed.attempts, finishedBefore: [...finished] }),
    },
    'rec-7',
  );
  await w.start();
  await waitFor(async () => (await checkpointOf(appName)) === puts.at(-1)!.sequenceNumber, 'the checkpoint at the last record');
  expect(failedRecords.map(({ data, attempts: n }) => ({ data, attempts: n }))).toEqual([{ data: 'rec-7', attempts: 3 }]);
  expect(attempts.filter((d) => d === 'rec-7')).toHaveLength(3);
  // While rec-7 was retried, the records of the other keys after it ran; its own key (key-2) waited for it.
  const before = failedRecords[0].finishedBefore;
  expect(before).toContain('rec-8');
  expect(before).not.toContain('rec-12');
  expect(finished.indexOf('rec-12')).toBeGreaterThan(-1);
  expect(new Set(finished)).toEqual(new Set(puts.map((p) => p.data.toString()).filter((d) => d !== 'rec-7')));
  expect(events.filter((e) => e.type === 'leaseReleased' || e.type === 'leaseLost')).toEqual([]);
});

it('processRecord without onFailedRecord: the attempts end, the lease is given up, and no checkpoint passes the poison record', async () => {
  const { stream, puts } = await keyedStream('recstuck', 12);
  const appName = uniqueName('app');
  const { w, events } = perRecordWorker(
    appName,
    stream,
    { processingRetry: { maxAttempts: Infinity, baseDelayMs: 20, maxDelayMs: 50 }, failurePolicy: { maxRetryAttempts: 0 } },
    'recstuck-7',
  );
  await w.start();
  await waitFor(() => events.filter((e) => e.type === 'leaseReleased' && e.reason === 'GAVE_UP').length >= 2, 'two give-ups', 30_000);
  expect(await checkpointOf(appName)).toBe(seqOf(puts, 'recstuck-6'));
});

/** A reader the test collects from when it wants. */
class CollectingReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

async function shedCount(reader: CollectingReader): Promise<Record<string, number>> {
  const { resourceMetrics } = await reader.collect();
  const counts: Record<string, number> = {};
  for (const scope of resourceMetrics.scopeMetrics)
    for (const metric of scope.metrics.filter((m) => m.descriptor.name === 'kinesis.worker.records.shed'))
      for (const point of metric.dataPoints) counts[String(point.attributes['kinesis.shed.to'])] = point.value as number;
  return counts;
}

/** Records older than the limit: put, then waited on until their age passed it (a condition on their age, not a fixed pause). */
async function agedRecords(prefix: string, count: number, olderThanMs: number) {
  const stream = uniqueName(prefix);
  await createStream(kinesis, stream, 1);
  const puts = await putRecords(kinesis, stream, records(`${prefix}-old`, count));
  const putAt = Date.now();
  await waitFor(() => Date.now() - putAt > olderThanMs + 100, 'the records older than the limit', olderThanMs + 5_000);
  return { stream, puts };
}

const SHED_MS = 3_000;

it('lag shedding, processRecords: records older than the limit go to onFailedBatch unprocessed, counted, one log line each way; young ones are processed', async () => {
  const { stream } = await agedRecords('shed', 5, SHED_MS);
  const appName = uniqueName('app');
  const reader = new CollectingReader();
  const deadLetters: FailedBatch[] = [];
  const { w, calls, logger } = worker(
    appName,
    stream,
    {
      failurePolicy: { shedRecordsOlderThanMs: SHED_MS },
      onFailedBatch: async (batch) => void deadLetters.push(batch),
      meterProvider: new MeterProvider({ readers: [reader] }),
    },
    () => undefined,
  );
  await w.start();
  await waitFor(() => deadLetters.length > 0, 'the old records shed');
  const fresh = await putRecords(kinesis, stream, records('shed-new', 3));
  await waitFor(async () => (await checkpointOf(appName)) === fresh.at(-1)!.sequenceNumber, 'the new records, checkpointed');
  expect(deadLetters.flatMap((d) => dataOf(d.records))).toEqual(records('shed-old', 5).map((r) => r.data));
  expect(deadLetters.every((d) => d.error instanceof RecordsShedError && d.attempts === 0)).toBe(true);
  expect(calls.flatMap((c) => c.data)).toEqual(fresh.map((p) => p.data.toString()));
  expect(await shedCount(reader)).toEqual({ destination: 5 });
  expect(logger.lines.filter((l) => l.includes('Shedding the records of') && l.includes('handing them to onFailedBatch'))).toHaveLength(1);
  expect(logger.lines.filter((l) => l.includes('Stopped shedding') && l.includes('5 records shed'))).toHaveLength(1);
});

it("lag shedding, processRecord with shedTo: 'skip': old records are skipped (counted, logged) and the checkpoint passes them", async () => {
  const { stream } = await agedRecords('skip', 6, SHED_MS);
  const appName = uniqueName('app');
  const reader = new CollectingReader();
  const { w, finished, attempts, logger } = perRecordWorker(
    appName,
    stream,
    { failurePolicy: { shedRecordsOlderThanMs: SHED_MS, shedTo: 'skip' }, meterProvider: new MeterProvider({ readers: [reader] }) },
    'none',
  );
  await w.start();
  await waitFor(async () => (await shedCount(reader)).skip === 6, 'the old records skipped');
  const fresh = await putRecords(kinesis, stream, records('skip-new', 4));
  await waitFor(async () => (await checkpointOf(appName)) === fresh.at(-1)!.sequenceNumber, 'the new records, checkpointed');
  expect(attempts.filter((d) => d.startsWith('skip-old'))).toEqual([]);
  expect(new Set(finished)).toEqual(new Set(fresh.map((p) => p.data.toString())));
  expect(logger.lines.filter((l) => l.includes('Shedding the records of') && l.includes('skipping them'))).toHaveLength(1);
});
