import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  KinesisProcessor,
  KinesisWorkerConfigError,
  KinesisWorkerModule,
  KinesisWorkerService,
  type KinesisRecordProcessor,
  type KinesisWorkerModuleOptions,
  type ProcessRecordsInput,
} from '../../lib';
import { createStream, putRecords } from '../../lib/testing';
import { dynamoClient, kinesisClient, tableExists, uniqueName, workerClientOptions } from '../support/aws';
import { readLeases } from '../support/lease-table';
import { FAST, Recorder, recordingProcessor } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';

const kinesis = kinesisClient();
const dynamo = dynamoClient();
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

async function compileApp(recorder: Recorder, stream: string, options: KinesisWorkerModuleOptions) {
  const moduleRef = await Test.createTestingModule({
    imports: [KinesisWorkerModule.forRoot(options)],
    providers: [{ provide: Recorder, useValue: recorder }, recordingProcessor(stream)],
  }).compile();
  moduleRef.useLogger(['error', 'warn']);
  return moduleRef;
}

/** The last sequence number delivered per shard, which the final checkpoints must have stored. */
function lastDelivered(recorder: Recorder): Map<string, string> {
  const last = new Map<string, string>();
  for (const d of recorder.deliveries) last.set(d.shardId, d.sequenceNumber);
  return last;
}

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
    const puts = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 20 }, (_, i) => ({ partitionKey: `k${i}`, data: `r${i}` })),
    );
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
      expect([...perShard[0]][0]).not.toBe([...perShard[1]][0]);
    } finally {
      await moduleRef.close();
    }
  });
});

describe('KinesisWorkerModule autoStart: false', () => {
  it('consumes nothing until service.start(); service.stop() drains and releases the leases; start() again resumes from the checkpoints', async () => {
    const stream = uniqueName('manual');
    await createStream(kinesis, stream, 2);
    const first = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 12 }, (_, i) => ({ partitionKey: `k${i}`, data: `first-${i}` })),
    );
    const appName = uniqueName('manual-app');
    const recorder = new Recorder();
    const app = await compileApp(recorder, stream, { appName, ...workerClientOptions(), ...FAST, autoStart: false });
    await app.init();
    try {
      const service = app.get(KinesisWorkerService);
      // Bootstrapped, but no worker exists: no lease table was created and no processor was built.
      expect(service.workers()).toEqual([]);
      expect(service.status()).toEqual([]);
      expect(await readLeases(dynamo, appName)).toEqual([]);
      expect(recorder.events).toEqual([]);

      await service.start();
      await service.start(); // a no-op while running
      expect(service.workers()).toHaveLength(1);
      await waitFor(() => recorder.dataSet().size === first.length, 'the first records');
      expect(recorder.dataSet()).toEqual(new Set(first.map((p) => p.data.toString())));

      await service.stop();
      expect(service.workers()).toEqual([]);
      const shutdowns = recorder.events.filter((e) => e.type === 'shutdown');
      expect(shutdowns.map((e) => [e.shardId, e.reason]).sort()).toEqual([
        ['shardId-000000000000', 'REQUESTED'],
        ['shardId-000000000001', 'REQUESTED'],
      ]);
      const leases = await readLeases(dynamo, appName);
      expect(leases.map((l) => ({ shardId: l.shardId, owner: l.owner, checkpoint: l.checkpoint }))).toEqual(
        [...lastDelivered(recorder)].sort().map(([shardId, checkpoint]) => ({ shardId, owner: undefined, checkpoint })),
      );

      const second = await putRecords(
        kinesis,
        stream,
        Array.from({ length: 6 }, (_, i) => ({ partitionKey: `k${i}`, data: `second-${i}` })),
      );
      await service.start();
      await waitFor(() => recorder.dataSet().size === first.length + second.length, 'the records put while stopped');
      // Restarted from the stored checkpoints: nothing of the first round was delivered twice.
      expect(recorder.deliveries).toHaveLength(first.length + second.length);
    } finally {
      await app.close();
    }
    expect(await readLeases(dynamo, appName).then((leases) => leases.filter((l) => l.owner))).toEqual([]);
  });

  it('refuses an autoStart that is not a boolean, naming the option', async () => {
    const recorder = new Recorder();
    const app = await compileApp(recorder, uniqueName('unused'), {
      appName: uniqueName('bad-autostart'),
      ...workerClientOptions(),
      autoStart: 'no' as unknown as boolean,
    });
    const init = app.init();
    await expect(init).rejects.toThrow(KinesisWorkerConfigError);
    await expect(init).rejects.toThrow(/'autoStart'.*expected true or false/);
    // Nothing was started, so there is nothing to close (close() would rethrow the failed init).
  });
});

describe('KinesisWorkerModule.forRoot imported twice', () => {
  it('fails app.init() naming both importing modules, before any worker exists: no lease table, nothing consumed', async () => {
    const stream = uniqueName('twice');
    await createStream(kinesis, stream, 1);
    await putRecords(kinesis, stream, [{ partitionKey: 'k', data: 'one' }]);
    const rootApp = uniqueName('root-app');
    const featureApp = uniqueName('feature-app');
    const recorder = new Recorder();

    @Module({
      imports: [KinesisWorkerModule.forRoot({ appName: featureApp, ...workerClientOptions(), ...FAST })],
      providers: [{ provide: Recorder, useValue: recorder }, recordingProcessor(stream)],
    })
    class OrdersModule {}

    const app = await Test.createTestingModule({
      imports: [KinesisWorkerModule.forRoot({ appName: rootApp, ...workerClientOptions(), ...FAST }), OrdersModule],
    }).compile();
    app.useLogger(['error', 'warn']);
    // Were it to start, the app is closed so that the test fails instead of leaving workers running.
    const init = app.init().then(() => app.close());
    await expect(init).rejects.toThrow(KinesisWorkerConfigError);
    await expect(init).rejects.toThrow(
      /imported 2 times, by RootTestModule and OrdersModule\. .*Import KinesisWorkerModule\.forRoot once, in the root module/,
    );
    // The workers would have created their lease tables first thing on start.
    expect(await tableExists(dynamo, rootApp)).toBe(false);
    expect(await tableExists(dynamo, featureApp)).toBe(false);
    expect(recorder.deliveries).toEqual([]);
  });
});
