/**
 * KinesisWorkerModule.forRoot imported more than once: a bootstrap error naming the importing modules,
 * thrown before any worker is created. No processor is declared here, so nothing would reach AWS; the
 * e2e suite (nest-module.e2e-spec.ts) shows the same with a processor on the emulators.
 */
import { Module, type DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KinesisWorkerConfigError, KinesisWorkerModule } from '../../lib';
import { KinesisWorkerRegistrar } from '../../lib/kinesis-worker.registrar';

const options = { appName: 'orders-app', region: 'eu-west-1', autoStart: false };

async function initError(imports: (DynamicModule | (new () => unknown))[]): Promise<unknown> {
  const app = await Test.createTestingModule({ imports }).compile();
  app.useLogger(false);
  const failure = await app.init().then(
    () => undefined,
    (error: unknown) => error,
  );
  // After a failed init, Nest's close() rejects with the init's error again.
  await app.close().catch((error: unknown) => {
    if (error !== failure) throw error;
  });
  return failure;
}

describe('KinesisWorkerModule.forRoot imported more than once', () => {
  it('forRoot in the root module and forRootAsync in a feature module: names both modules, the option and the fix', async () => {
    @Module({ imports: [KinesisWorkerModule.forRootAsync({ useFactory: () => ({ ...options, appName: 'other-app' }) })] })
    class OrdersModule {}

    const error = await initError([KinesisWorkerModule.forRoot(options), OrdersModule]);
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect((error as KinesisWorkerConfigError).option).toBe('KinesisWorkerModule.forRoot');
    expect((error as Error).message).toMatch(/is imported 2 times, by RootTestModule and OrdersModule\./);
    expect((error as Error).message).toMatch(/every shard would be consumed twice/);
    expect((error as Error).message).toMatch(/Import KinesisWorkerModule\.forRoot once, in the root module/);
    expect((error as Error).message).toMatch(/@KinesisProcessor\(\{ stream, appName \}\).*multiStream: true/);
  });

  it('names an importer that is itself a dynamic module', async () => {
    @Module({})
    class MessagingModule {
      static register(): DynamicModule {
        return { module: MessagingModule, imports: [KinesisWorkerModule.forRoot(options)] };
      }
    }
    @Module({ imports: [KinesisWorkerModule.forRoot(options)] })
    class BillingModule {}

    const error = await initError([MessagingModule.register(), BillingModule]);
    expect((error as Error).message).toMatch(
      /is imported 2 times, by (MessagingModule and BillingModule|BillingModule and MessagingModule)\./,
    );
  });

  it('starts no worker: the registrars never create one', async () => {
    const start = jest.spyOn(KinesisWorkerRegistrar.prototype, 'start');
    try {
      @Module({ imports: [KinesisWorkerModule.forRoot({ ...options, autoStart: true })] })
      class FeatureModule {}
      await initError([KinesisWorkerModule.forRoot({ ...options, autoStart: true }), FeatureModule]);
      expect(start).not.toHaveBeenCalled();
    } finally {
      start.mockRestore();
    }
  });

  it('one import, used by feature modules through its global export, is fine', async () => {
    @Module({})
    class FeatureModule {}
    expect(await initError([KinesisWorkerModule.forRoot(options), FeatureModule])).toBeUndefined();
  });

  it('the same forRoot() object listed in two modules is one module, and is fine', async () => {
    const kinesis = KinesisWorkerModule.forRoot(options);
    @Module({ imports: [kinesis] })
    class FeatureModule {}
    expect(await initError([kinesis, FeatureModule])).toBeUndefined();
  });
});
