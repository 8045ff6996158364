import {
  createWorker,
  RecordsShedError,
  type KinesisPerRecordProcessor,
  type KinesisRecordProcessor,
  type KinesisWorker,
  type ProcessRecordsInput,
  type ShardContext,
} from 'nestjs-kinesis-worker/standalone';
import { KinesisTestStreams, ProcessorFailedError, TestWaitTimeoutError } from 'nestjs-kinesis-worker/testing';

/**
 * docs/testing.md's standalone recipe, written only against the public entry points as a user imports
 * them (jest.config.js maps the package names onto lib/): createWorker from ./standalone on the
 * streams of KinesisTestStreams from ./testing, no Nest.
 */

/** The user's side effect: totals per customer. */
class CustomerTotals {
  private readonly totals = new Map<string, number>();
  add(customer: string, total: number) {
    this.totals.set(customer, (this.totals.get(customer) ?? 0) + total);
  }
  of(customer: string) {
    return this.totals.get(customer);
  }
}

class OrdersProcessor implements KinesisRecordProcessor {
  constructor(
    readonly shard: ShardContext,
    private readonly totals: CustomerTotals,
    private readonly failWith?: Error,
  ) {}

  async processRecords({ records, checkpointer }: ProcessRecordsInput) {
    if (this.failWith) throw this.failWith;
    for (const record of records) {
      const order = JSON.parse(record.data.toString()) as { customer: string; total: number };
      this.totals.add(order.customer, order.total);
    }
    await checkpointer.checkpoint();
  }
}

let streams: KinesisTestStreams | undefined;
let worker: KinesisWorker | undefined;
afterEach(async () => {
  await worker?.stop();
  await streams?.close();
  [worker, streams] = [undefined, undefined];
});

describe('the standalone recipe: createWorker on KinesisTestStreams', () => {
  it('processes and checkpoints the records put; processed() resolves after the side effect', async () => {
    const totals = new CustomerTotals();
    streams = await KinesisTestStreams.create({ streams: { orders: 2 } });
    worker = createWorker({ ...streams.workerOptions(), streamName: 'orders' }, (shard) => new OrdersProcessor(shard, totals));
    streams.watch(worker);
    await worker.start();
    await streams.put('orders', [
      { data: { customer: 'a', total: 5 }, partitionKey: 'a' },
      { data: { customer: 'b', total: 2 }, partitionKey: 'b' },
      { data: { customer: 'a', total: 1 }, partitionKey: 'a' },
    ]);
    await streams.processed();
    expect([totals.of('a'), totals.of('b')]).toEqual([6, 2]);
    // One shard's wait, by the shard id put() reported.
    const [put] = await streams.put('orders', [{ data: { customer: 'b', total: 1 }, partitionKey: 'b' }]);
    await streams.checkpointed(put.shardId);
    expect(totals.of('b')).toBe(3);
  });

  it("a processor that throws: processed() rejects with the processor's own error as the cause", async () => {
    const boom = new TypeError('no such customer');
    streams = await KinesisTestStreams.create({ streams: { orders: 1 } });
    worker = createWorker(
      { ...streams.workerOptions(), streamName: 'orders' },
      (shard) => new OrdersProcessor(shard, new CustomerTotals(), boom),
    );
    streams.watch(worker);
    await worker.start();
    await streams.put('orders', [{ data: { customer: 'x', total: 1 }, partitionKey: 'x' }]);
    const failure = await streams.processed().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ProcessorFailedError);
    expect((failure as ProcessorFailedError).cause).toBe(boom);
    expect((failure as Error).message).toContain('TypeError: no such customer');
  });

  it('a poison record that goes to onFailedRecord: processed({ tolerateFailures: true }) resolves once the hook took it, deadLettered() names it', async () => {
    streams = await KinesisTestStreams.create({ streams: { orders: 1 } });
    const seen: string[] = [];
    const sentToDeadLetters: string[] = [];
    worker = createWorker(
      {
        ...streams.workerOptions({
          failurePolicy: { maxRetryAttempts: 1 },
          processingRetry: { baseDelayMs: 10, maxDelayMs: 10 },
          onFailedRecord: ({ record }) => void sentToDeadLetters.push(record.partitionKey),
        }),
        streamName: 'orders',
      },
      (): KinesisPerRecordProcessor => ({
        processRecord: (record) => {
          if (record.partitionKey === 'poison') throw new Error('cannot parse');
          seen.push(record.partitionKey);
        },
      }),
    );
    streams.watch(worker);
    await worker.start();
    await streams.put('orders', [
      { data: 'a', partitionKey: 'a' },
      { data: '?', partitionKey: 'poison' },
      { data: 'b', partitionKey: 'b' },
    ]);
    // Without tolerateFailures the wait reports the poison record's first failed attempt, as for any throw.
    expect(await streams.processed().catch((error: unknown) => error)).toBeInstanceOf(ProcessorFailedError);
    await streams.processed({ tolerateFailures: true });
    expect(sentToDeadLetters).toEqual(['poison']);
    expect(streams.deadLettered()).toEqual([
      expect.objectContaining({
        hook: 'onFailedRecord',
        streamName: 'orders',
        attempts: 2,
        records: [expect.objectContaining({ partitionKey: 'poison' })],
      }),
    ]);
    expect(seen.sort()).toEqual(['a', 'b']);
  });

  it('records shed to onFailedBatch count as processed: processed() resolves, deadLettered() holds them with a RecordsShedError', async () => {
    streams = await KinesisTestStreams.create({ streams: { orders: 1 } });
    const put = await streams.put('orders', [
      { data: 'old-1', partitionKey: 'a' },
      { data: 'old-2', partitionKey: 'b' },
    ]);
    // Every record read is older than 1 ms: all of them are shed, none reaches processRecords.
    let processedCalls = 0;
    worker = createWorker(
      {
        ...streams.workerOptions({
          autoCheckpoint: 'batch',
          failurePolicy: { shedRecordsOlderThanMs: 1 },
          onFailedBatch: () => undefined,
        }),
        streamName: 'orders',
      },
      (): KinesisRecordProcessor => ({ processRecords: () => void processedCalls++ }),
    );
    streams.watch(worker);
    await worker.start();
    await streams.processed();
    expect(processedCalls).toBe(0);
    const shed = streams.deadLettered();
    expect(shed.flatMap((letter) => letter.records.map((record) => record.sequenceNumber))).toEqual(put.map((p) => p.sequenceNumber));
    for (const letter of shed) {
      expect(letter).toMatchObject({ hook: 'onFailedBatch', attempts: 0 });
      expect(letter.error).toBeInstanceOf(RecordsShedError);
    }
  });

  it('bad use gets a clear error: no worker watched, a worker not started, an unknown stream, a processor that never checkpoints', async () => {
    streams = await KinesisTestStreams.create({ streams: { orders: 1 }, timeoutMs: 1_500 });
    await streams.put('orders', [{ data: 'x', partitionKey: 'k' }]);
    await expect(streams.processed()).rejects.toThrow('No worker to wait for: pass the worker to streams.watch(worker)');
    await expect(streams.put('payments', [{ data: 'x', partitionKey: 'k' }])).rejects.toThrow(
      "Unknown test stream 'payments': this KinesisTestStreams created 'orders'. Add it to streams: { payments: 1 }.",
    );

    worker = createWorker({ ...streams.workerOptions(), streamName: 'orders' }, () => ({ processRecords: () => undefined }));
    streams.watch(worker);
    await expect(streams.processed()).rejects.toThrow(/No worker is running: call await app.init\(\) \(or worker.start\(\)\)/);

    await worker.start();
    const timeout = await streams.processed().catch((error: unknown) => error);
    expect(timeout).toBeInstanceOf(TestWaitTimeoutError);
    expect((timeout as Error).message).toContain('does the processor call checkpointer.checkpoint() (or set autoCheckpoint)?');
  });
});
