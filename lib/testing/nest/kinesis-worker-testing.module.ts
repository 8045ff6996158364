import { Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { KinesisWorkerModule } from '../../kinesis-worker.module';
import type { KinesisWorkerModuleOptions } from '../../kinesis-worker.module-definition';
import { KinesisWorkerService } from '../../kinesis-worker.service';
import { KinesisTestStreams, type KinesisTestStreamsOptions } from '../test-streams';

export interface KinesisWorkerTestingOptions extends KinesisTestStreamsOptions {
  /**
   * KinesisWorkerModule options on top of the test defaults (KinesisTestStreams.workerOptions(): the
   * emulators through the fault proxies, a unique appName, short intervals), e.g. { autoCheckpoint: 'batch' }.
   */
  readonly worker?: Partial<KinesisWorkerModuleOptions>;
}

/** Holds the test's KinesisTestStreams, so that the testing module and the worker module share one. */
@Module({})
class KinesisTestStreamsModule {}

/** Points processed() at the app's workers, and deletes the streams once the app closed (after the workers stopped). */
@Injectable()
class KinesisTestStreamsLifecycle implements OnApplicationShutdown {
  constructor(
    private readonly streams: KinesisTestStreams,
    service: KinesisWorkerService,
  ) {
    streams.watch(() => service.status());
  }

  async onApplicationShutdown(): Promise<void> {
    await this.streams.close();
  }
}

/**
 * KinesisWorkerModule on the emulators, for e2e tests of the app's own @KinesisProcessor classes:
 *
 * ```ts
 * const moduleRef = await Test.createTestingModule({
 *   imports: [KinesisWorkerTestingModule.forRoot({ streams: { orders: 2 } })],
 *   providers: [OrdersProcessor, CustomerTotals],
 * }).compile();
 * const app = moduleRef.createNestApplication(); await app.init();
 * const kinesis = app.get(KinesisTestStreams);
 * await kinesis.put('orders', [{ data: { customer: 'a' }, partitionKey: 'a' }]);
 * await kinesis.processed();
 * ```
 *
 * It creates the streams on the emulators of the process (sharedEmulators()), configures the real
 * KinesisWorkerModule (native engine, real lease table and checkpoints) with test timings, and provides
 * KinesisTestStreams. app.close() stops the workers, then deletes the streams. Global, like KinesisWorkerModule.
 */
@Module({})
export class KinesisWorkerTestingModule {
  static forRoot(options: KinesisWorkerTestingOptions): DynamicModule {
    const { worker, ...streamsOptions } = options ?? ({} as KinesisWorkerTestingOptions);
    const holder: DynamicModule = {
      module: KinesisTestStreamsModule,
      providers: [{ provide: KinesisTestStreams, useFactory: () => KinesisTestStreams.create(streamsOptions) }],
      exports: [KinesisTestStreams],
    };
    return {
      module: KinesisWorkerTestingModule,
      global: true,
      imports: [
        holder,
        KinesisWorkerModule.forRootAsync({
          imports: [holder],
          inject: [KinesisTestStreams],
          useFactory: (streams: KinesisTestStreams): KinesisWorkerModuleOptions => ({
            ...streams.workerOptions(worker),
            autoStart: worker?.autoStart,
          }),
        }),
      ],
      providers: [KinesisTestStreamsLifecycle],
      exports: [holder, KinesisWorkerModule],
    };
  }
}
