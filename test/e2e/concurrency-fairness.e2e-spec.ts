import { createWorker, type KinesisPerRecordProcessor, type KinesisWorker } from '../../lib';
import { InFlightBudget } from '../../lib/engines/native/concurrency/in-flight-budget';
import { createStream, putRecords } from '../../lib/testing';
import { kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import { waitFor } from '../support/wait-for';

const kinesis = kinesisClient();
afterAll(() => kinesis.destroy());

/** The lowest and the highest hash key: the first and the last shard of a stream, whatever the partition key. */
const FIRST_SHARD = '0';
const LAST_SHARD = (2n ** 128n - 1n).toString();

describe('concurrency: the worker-wide budget is shared fairly between shards', () => {
  let worker: KinesisWorker | undefined;
  afterEach(async () => {
    jest.restoreAllMocks();
    await worker?.stop();
    worker = undefined;
  });

  it('a shard whose records all wait behind a blocked partition key holds only its share; the other shard keeps flowing', async () => {
    const stream = uniqueName('conc-fair');
    const appName = uniqueName('conc-fair-app');
    await createStream(kinesis, stream, 2);
    // The worker's real budget, watched: the most records it let in at once.
    const budgets = new Set<InFlightBudget>();
    let mostInFlight = 0;
    const acquire = Object.getOwnPropertyDescriptor(InFlightBudget.prototype, 'acquire')!.value as InFlightBudget['acquire'];
    jest.spyOn(InFlightBudget.prototype, 'acquire').mockImplementation(async function (this: InFlightBudget, bytes, signal, holder) {
      budgets.add(this);
      const granted = await acquire.call(this, bytes, signal, holder);
      mostInFlight = Math.max(mostInFlight, this.recordsInFlight);
      return granted;
    });
    const hot = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 30 }, (_, i) => ({ partitionKey: 'hot', data: `hot-${i}`, explicitHashKey: FIRST_SHARD })),
    );
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const done = new Set<string>();
    let hotStarted = 0;
    worker = createWorker(
      {
        ...workerClientOptions(),
        idleTimeBetweenReadsMs: 50,
        failoverTimeMs: 3_000,
        leaseTakerIntervalMs: 300,
        shardSyncIntervalMs: 1_000,
        appName,
        streamName: stream,
        concurrency: { maxInFlightPerShard: 8, maxInFlightRecords: 8, ordering: 'partitionKey' },
        logger: new CapturingLogger(),
      },
      (): KinesisPerRecordProcessor => ({
        processRecord: async (record) => {
          if (record.partitionKey === 'hot') {
            hotStarted++;
            // The hot key's first record blocks (a slow downstream call); its other records wait for their turn.
            await gate;
          }
          done.add(record.data.toString());
        },
      }),
    );
    await worker.start();
    await waitFor(() => hotStarted === 1, "the hot key's first record running");
    // The hot shard stops at its share of the budget (8 / 2 shards): one record running, three waiting for the key.
    await waitFor(() => [...budgets].some((b) => b.recordsInFlight === 4), 'the hot shard at its share');
    const cold = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 40 }, (_, i) => ({ partitionKey: `cold-${i % 10}`, data: `cold-${i}`, explicitHashKey: LAST_SHARD })),
    );
    expect(new Set(cold.map((put) => put.shardId)).size).toBe(1);
    expect(cold[0].shardId).not.toBe(hot[0].shardId);
    // Every record of the other shard is processed while the hot key is still blocked.
    await waitFor(() => cold.every((_, i) => done.has(`cold-${i}`)), 'every record of the other shard, the hot key still blocked');
    expect(hotStarted).toBe(1);
    expect(hot.some((_, i) => done.has(`hot-${i}`))).toBe(false);
    openGate();
    await waitFor(() => hot.every((_, i) => done.has(`hot-${i}`)), 'every hot record once the key is free');
    expect(mostInFlight).toBeLessThanOrEqual(8);
  });
});
