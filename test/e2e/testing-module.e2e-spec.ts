import { Injectable, type INestApplicationContext, type Provider } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  InjectShard,
  KinesisProcessor,
  OnKinesisEvent,
  type WorkerEvent,
  type KinesisPerRecordProcessor,
  type KinesisRecord,
  type KinesisRecordProcessor,
  type RecordContext,
  type ProcessRecordsInput,
  type ShardContext,
  type ShutdownInput,
} from '../../lib';
import { ProcessorFailedError, TestWaitTimeoutError } from '../../lib/testing';
import { KinesisTestStreams, KinesisWorkerTestingModule, type KinesisWorkerTestingOptions } from '../../lib/testing/nest';

/**
 * KinesisWorkerTestingModule (issue 19) as a user's e2e test uses it: the user's processors, built by
 * DI per shard on the real native engine, over the process's shared emulators; waits that end on the
 * checkpoints, failures reported as the processor's own error, faults through the fault proxies.
 */

@Injectable()
class Totals {
  private readonly byCustomer = new Map<string, number>();
  /** Per shard, the order of the records it processed: [shardId, customer]. */
  readonly seen: [string, string][] = [];
  add(shardId: string, order: { customer: string; total: number }) {
    this.seen.push([shardId, order.customer]);
    this.byCustomer.set(order.customer, (this.byCustomer.get(order.customer) ?? 0) + order.total);
  }
  of(customer: string): number | undefined {
    return this.byCustomer.get(customer);
  }
}

/** The app's own listener of processor failures, the Nest way. */
@Injectable()
class FailureAlerts {
  readonly received: (WorkerEvent & { streamName: string })[] = [];

  @OnKinesisEvent('processorFailed')
  failed(event: WorkerEvent & { streamName: string }) {
    this.received.push(event);
  }
}

/** Fails on records whose data says so, a number of times. */
@Injectable()
class Poison {
  remaining = 0;
  /** What the processor threw, the objects themselves. */
  readonly thrown: Error[] = [];
}

@KinesisProcessor('orders')
class OrdersProcessor implements KinesisRecordProcessor {
  constructor(
    private readonly totals: Totals,
    private readonly poison: Poison,
    @InjectShard() private readonly shard: ShardContext,
  ) {}

  async processRecords({ records, checkpointer }: ProcessRecordsInput) {
    for (const record of records) {
      const order = JSON.parse(record.data.toString()) as { customer: string; total: number };
      if (order.customer === 'poison' && this.poison.remaining > 0) {
        this.poison.remaining--;
        const error = new RangeError(`cannot total order of ${order.customer}`);
        this.poison.thrown.push(error);
        throw error;
      }
      this.totals.add(this.shard.shardId, order);
    }
    await checkpointer.checkpoint();
  }

  async shutdown({ reason, checkpointer }: ShutdownInput) {
    if (reason === 'TERMINATE') await checkpointer!.checkpoint();
  }
}

/** The per-record contract, several records at once: the engine checkpoints for it. */
@KinesisProcessor({ stream: 'payments', concurrency: { maxInFlightPerShard: 8 } })
class PaymentsProcessor implements KinesisPerRecordProcessor {
  constructor(
    private readonly totals: Totals,
    private readonly poison: Poison,
  ) {}

  async processRecord(record: KinesisRecord, context: RecordContext) {
    const payment = JSON.parse(record.data.toString()) as { customer: string; total: number };
    await new Promise((resolve) => setImmediate(resolve));
    if (payment.customer === 'poison' && this.poison.remaining > 0) {
      this.poison.remaining--;
      throw new RangeError(`cannot total payment of ${payment.customer}`);
    }
    this.totals.add(context.shardId, payment);
  }
}

@KinesisProcessor('audit')
class ForgetfulProcessor implements KinesisRecordProcessor {
  processRecords() {
    // Never checkpoints.
  }
}

let app: INestApplicationContext | undefined;

async function start(options: KinesisWorkerTestingOptions, providers: Provider[] = [OrdersProcessor, Totals, Poison, FailureAlerts]) {
  const moduleRef = await Test.createTestingModule({
    imports: [KinesisWorkerTestingModule.forRoot(options)],
    providers,
  }).compile();
  // The TestingModule is an application context (createNestApplication() too, with an HTTP platform installed).
  app = await moduleRef.init();
  const kinesis = app.get(KinesisTestStreams);
  if (!providers.includes(Totals)) return { kinesis, totals: undefined as never, poison: undefined as never };
  return { kinesis, totals: app.get(Totals), poison: app.get(Poison) };
}

afterEach(async () => {
  await app?.close();
  app = undefined;
});

const order = (customer: string, total: number) => ({ data: { customer, total }, partitionKey: customer });

describe('KinesisWorkerTestingModule', () => {
  it("processed() resolves once the user's processor has handled and checkpointed every record put", async () => {
    const { kinesis, totals } = await start({ streams: { orders: 2 } });
    await kinesis.put('orders', [order('a', 5), order('b', 7), order('a', 3)]);
    await kinesis.processed();
    expect(totals.of('a')).toBe(8);
    expect(totals.of('b')).toBe(7);

    await kinesis.put('orders', [order('b', 1)]);
    await kinesis.checkpointed('orders');
    expect(totals.of('b')).toBe(8);
    await kinesis.waitFor(() => totals.seen.length === 4, 'four orders counted');
  });

  it("a processor that throws fails the wait with the processor's error; the engine's retry then succeeds", async () => {
    const { kinesis, totals, poison } = await start({ streams: { orders: 1 } });
    poison.remaining = 1;
    await kinesis.put('orders', [order('poison', 1)]);
    const failure = await kinesis.processed().then(
      () => undefined,
      (error: unknown) => error,
    );
    // From the engine's processorFailed event, not from a log line: the processor's own error object.
    expect(failure).toBeInstanceOf(ProcessorFailedError);
    expect((failure as ProcessorFailedError).cause).toBe(poison.thrown[0]);
    expect(failure).toMatchObject({ processorError: poison.thrown[0], call: 'processRecords', streamName: 'orders', attempt: 1 });
    expect((failure as Error).message).toContain('RangeError: cannot total order of poison');
    expect((failure as Error).stack).toContain('testing-module.e2e-spec.ts');
    // Reported once: the engine retries the same batch, and the next wait sees it through.
    await kinesis.processed();
    expect(totals.of('poison')).toBe(1);
    // The same engine event reaches the app's own @OnKinesisEvent('processorFailed') handler.
    expect(app!.get(FailureAlerts).received).toEqual([
      expect.objectContaining({
        type: 'processorFailed',
        call: 'processRecords',
        attempt: 1,
        streamName: 'orders',
        error: poison.thrown[0],
      }),
    ]);
  });

  it("a processRecord processor with concurrency: processed() waits for the engine's checkpoints; a throwing record fails the wait with its error", async () => {
    const { kinesis, totals, poison } = await start({ streams: { payments: 2 } }, [PaymentsProcessor, Totals, Poison]);
    await kinesis.put('payments', [order('a', 5), order('b', 7), order('a', 3), order('c', 1)]);
    await kinesis.processed();
    expect(totals.of('a')).toBe(8);
    expect(totals.of('b')).toBe(7);
    poison.remaining = 1;
    await kinesis.put('payments', [order('poison', 2)]);
    const failure = (await kinesis.processed().catch((error: unknown) => error)) as Error;
    expect(failure).toBeInstanceOf(ProcessorFailedError);
    expect(failure.message).toMatch(/processRecord for \d+ \(partition key poison\).*RangeError: cannot total payment of poison/);
    expect(failure).toMatchObject({ call: 'processRecord', streamName: 'payments', attempt: 1, cause: expect.any(RangeError) });
    await kinesis.processed();
    expect(totals.of('poison')).toBe(2);
  });

  it('a processor that never checkpoints: the timeout says which records and that no checkpoint was stored', async () => {
    const { kinesis } = await start({ streams: { audit: 1 }, timeoutMs: 1_500 }, [ForgetfulProcessor]);
    const [put] = await kinesis.put('audit', [{ data: 'x', partitionKey: 'k' }]);
    const error = (await kinesis.processed().catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(TestWaitTimeoutError);
    expect(error.message).toContain(
      `audit ${put.shardId}: checkpoint at TRIM_HORIZON; 1 record(s) put and not checkpointed: ${put.sequenceNumber}`,
    );
    expect(error.message).toContain('does the processor call checkpointer.checkpoint()');
  });

  it('bad use gets a clear error: an unknown stream, a wait with no worker running', async () => {
    const { kinesis } = await start({ streams: { orders: 1 }, worker: { autoStart: false } });
    await expect(kinesis.put('payments', [order('a', 1)])).rejects.toThrow(
      "Unknown test stream 'payments': this KinesisTestStreams created 'orders'. Add it to streams: { payments: 1 }.",
    );
    await expect(kinesis.processed()).rejects.toThrow(/No worker is running: call await app.init\(\)/);
  });

  it('AWS faults through the fault proxy: throttled and failing GetRecords, a DynamoDB outage; the records still arrive', async () => {
    const { kinesis, totals } = await start({ streams: { orders: 1 } });
    await kinesis.processed(); // nothing put yet: resolves at once
    kinesis.faults.kinesis.set('GetRecords', 'throttle', { times: 3 });
    kinesis.faults.kinesis.set('GetRecords', 'http500', { times: 2 });
    kinesis.faults.kinesis.set('GetRecords', 'expiredIterator', { times: 1 });
    const outage = kinesis.faults.dynamodb.set('UpdateItem', 'http503', { times: 4 });
    await kinesis.put('orders', [order('a', 2), order('b', 3)]);
    await kinesis.processed();
    expect([totals.of('a'), totals.of('b')]).toEqual([2, 3]);
    expect(outage.applied).toBeGreaterThan(0);
    expect(kinesis.faults.kinesis.requests.filter((r) => r.operation === 'GetRecords' && r.fault !== 'pass').length).toBe(6);
  });

  it('resharding: after a split, the parent finishes before either child is processed', async () => {
    const { kinesis, totals } = await start({ streams: { orders: 1 } });
    await kinesis.put('orders', [order('a', 1), order('b', 1)]);
    const { parent, children } = await kinesis.split('orders');
    expect(children).toHaveLength(2);
    await kinesis.put(
      'orders',
      ['c', 'd', 'e', 'f', 'g', 'h'].map((customer) => order(customer, 1)),
    );
    await kinesis.processed();
    const shards = totals.seen.map(([shardId]) => shardId);
    expect(shards.slice(0, 2)).toEqual([parent, parent]);
    expect(new Set(shards.slice(2)).size).toBeGreaterThan(0);
    expect(shards.slice(2).every((shard) => children.includes(shard))).toBe(true);
    const ended = kinesis.events().find((event) => event.type === 'shardEnded');
    expect(ended).toMatchObject({ shardId: parent, streamName: 'orders' });
    expect(ended?.type === 'shardEnded' && [...ended.childShardIds].sort()).toEqual([...children].sort());
  });
});
