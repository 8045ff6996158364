import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KinesisProcessor, KinesisWorkerModule, type KinesisRecordProcessor, type ProcessRecordsInput } from '../../lib';
import { createStream, putRecords } from '../../lib/testing';
import { kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { waitFor } from '../support/wait-for';

const kinesis = kinesisClient();
afterAll(() => kinesis.destroy());

/** Stands in for @nestjs/config's ConfigService. */
@Injectable()
class Settings {
  readonly appName = uniqueName('async-app');
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

const TOTALS = Symbol('TOTALS');

describe('KinesisWorkerModule wiring', () => {
  it('forRootAsync with imports and inject; a processor in a feature module, with no request-scoped dependency, still gets one instance per shard', async () => {
    const stream = uniqueName('async');
    await createStream(kinesis, stream, 2);
    const puts = await putRecords(kinesis, stream, Array.from({ length: 20 }, (_, i) => ({ partitionKey: `k${i}`, data: `r${i}` })));
    const seen: { instance: number; shardId: string; data: string }[] = [];
    let created = 0;

    @Injectable()
    class Totals {
      add(entry: { instance: number; shardId: string; data: string }) {
        seen.push(entry);
      }
    }

    // A singleton-scoped processor: the module must still build one instance per shard.
    @KinesisProcessor({ stream, maxRecords: 5 })
    class FeatureProcessor implements KinesisRecordProcessor {
      readonly instance = ++created;
      constructor(@Inject(TOTALS) private readonly totals: Totals) {}
      async processRecords({ shardId, records, checkpointer }: ProcessRecordsInput) {
        for (const r of records) this.totals.add({ instance: this.instance, shardId, data: r.data.toString() });
        await checkpointer.checkpoint();
      }
    }

    @Module({ providers: [{ provide: TOTALS, useClass: Totals }, FeatureProcessor] })
    class FeatureModule {}

    const moduleRef = await Test.createTestingModule({
      imports: [
        KinesisWorkerModule.forRootAsync({
          imports: [SettingsModule],
          inject: [Settings],
          useFactory: (settings: Settings) => ({ appName: settings.appName, ...workerClientOptions(), idleTimeBetweenReadsMs: 50 }),
        }),
        FeatureModule,
      ],
    }).compile();
    moduleRef.useLogger(['error', 'warn']);
    await moduleRef.init();
    try {
      await waitFor(() => seen.length >= 20, '20 records');
      expect(new Set(seen.map((s) => s.data))).toEqual(new Set(puts.map((p) => p.data.toString())));
      const instancesByShard = new Map<string, Set<number>>();
      for (const s of seen) instancesByShard.set(s.shardId, (instancesByShard.get(s.shardId) ?? new Set()).add(s.instance));
      expect(instancesByShard.size).toBe(2);
      const perShard = [...instancesByShard.values()];
      expect(perShard.every((set) => set.size === 1)).toBe(true);
      expect([...perShard[0]!][0]).not.toBe([...perShard[1]!][0]);
    } finally {
      await moduleRef.close();
    }
  });
});
