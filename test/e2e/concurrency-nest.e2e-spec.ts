import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  KinesisProcessor,
  KinesisWorkerModule,
  KinesisWorkerService,
  type KinesisPerRecordProcessor,
  type KinesisRecord,
  type RecordContext,
} from '../../lib';
import { createStream, putRecords } from '../../lib/testing';
import { kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { KeyOrderWatch } from '../support/key-order';
import { FAST } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';

const kinesis = kinesisClient();
afterAll(() => kinesis.destroy());

describe('Nest: a @KinesisProcessor with processRecord and concurrency', () => {
  it('is found at bootstrap, built per shard with its dependencies, and runs records side by side in order per key; the final checkpoints cover them', async () => {
    const stream = uniqueName('conc-nest');
    const appName = uniqueName('conc-nest-app');
    await createStream(kinesis, stream, 2);
    const puts = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 120 }, (_, i) => ({ partitionKey: `key-${i % 12}`, data: `r-${i}` })),
    );
    const watch = new KeyOrderWatch();
    let running = 0;
    let mostRunning = 0;
    const finished = new Set<string>();

    @Injectable()
    class Sink {
      async write(record: KinesisRecord, context: RecordContext) {
        mostRunning = Math.max(mostRunning, ++running);
        watch.started(record);
        // Finishing waits on the next macrotask, so that records of other keys overlap.
        await new Promise((resolve) => setImmediate(resolve));
        watch.finished(record);
        running--;
        finished.add(`${context.shardId}/${record.sequenceNumber}`);
      }
    }

    @KinesisProcessor({ stream, concurrency: { maxInFlightPerShard: 8 } })
    class OrdersProcessor implements KinesisPerRecordProcessor {
      constructor(private readonly sink: Sink) {}
      processRecord(record: KinesisRecord, context: RecordContext) {
        return this.sink.write(record, context);
      }
    }

    const moduleRef = await Test.createTestingModule({
      imports: [KinesisWorkerModule.forRoot({ ...workerClientOptions(), ...FAST, appName })],
      providers: [Sink, OrdersProcessor],
    }).compile();
    moduleRef.useLogger(['error', 'warn']);
    await moduleRef.init();
    try {
      await waitFor(() => finished.size === puts.length, `all ${puts.length} records`);
      const service = moduleRef.get(KinesisWorkerService);
      const last = new Map<string, string>();
      for (const put of puts) last.set(put.shardId, put.sequenceNumber);
      await waitFor(
        () =>
          service
            .status()
            .flatMap((s) => s.shards)
            .every((shard) => shard.checkpoint.sequenceNumber === last.get(shard.shardId)),
        'the checkpoints at the last record of each shard',
      );
    } finally {
      await moduleRef.close();
    }
    expect(watch.violations).toEqual([]);
    expect(mostRunning).toBeGreaterThan(1);
    expect([...finished].sort()).toEqual(puts.map((p) => `${p.shardId}/${p.sequenceNumber}`).sort());
  });
});
