/* eslint-disable @typescript-eslint/require-await -- async lifecycle hooks mocked by ones that answer at once */
/**
 * Where KinesisWorkerModule's hooks fall among the application's, across the module shapes an app
 * has: the root module, a feature module, a module it imports, and a user's own global module.
 * No worker runs here (no processor is declared); the registrar's hooks are observed directly.
 */
import { Global, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { KinesisWorkerModule } from '../../lib';
import { KinesisWorkerRegistrar } from '../../lib/kinesis-worker.registrar';

const calls: string[] = [];

function recordingProvider(name: string) {
  @Injectable()
  class Recording implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
    onApplicationBootstrap() {
      calls.push(`${name}.onApplicationBootstrap`);
    }
    onModuleDestroy() {
      calls.push(`${name}.onModuleDestroy`);
    }
    onApplicationShutdown() {
      calls.push(`${name}.onApplicationShutdown`);
    }
  }
  return Recording;
}

@Module({ providers: [recordingProvider('deep')] })
class DeepModule {}

@Module({ imports: [DeepModule], providers: [recordingProvider('feature')] })
class FeatureModule {}

@Global()
@Module({ providers: [recordingProvider('global')] })
class UserGlobalModule {}

beforeEach(() => {
  calls.length = 0;
  jest
    .spyOn(KinesisWorkerRegistrar.prototype, 'onApplicationBootstrap')
    .mockImplementation(async () => void calls.push('kinesis.onApplicationBootstrap'));
  jest
    .spyOn(KinesisWorkerRegistrar.prototype, 'onModuleDestroy')
    .mockImplementation(async () => void calls.push('kinesis.onModuleDestroy'));
});
afterEach(() => jest.restoreAllMocks());

it.each([
  ['imported first', (kinesis: unknown) => [kinesis, UserGlobalModule, FeatureModule]],
  ['imported last', (kinesis: unknown) => [UserGlobalModule, FeatureModule, kinesis]],
])('KinesisWorkerModule (%s) bootstraps after every other module and is destroyed before any', async (_, imports) => {
  const app = await Test.createTestingModule({
    imports: imports(KinesisWorkerModule.forRoot({ appName: 'order-check', region: 'eu-west-1' })) as never[],
    providers: [recordingProvider('root')],
  }).compile();
  await app.init();
  await app.close();

  const bootstraps = calls.filter((c) => c.endsWith('.onApplicationBootstrap'));
  const destroys = calls.filter((c) => c.endsWith('.onModuleDestroy'));
  expect(bootstraps.at(-1)).toBe('kinesis.onApplicationBootstrap');
  expect(bootstraps).toHaveLength(5);
  expect(destroys[0]).toBe('kinesis.onModuleDestroy');
  expect(destroys).toHaveLength(5);
  // Every provider's own onApplicationShutdown still comes after every onModuleDestroy.
  expect(calls.findIndex((c) => c.endsWith('.onApplicationShutdown'))).toBeGreaterThan(calls.lastIndexOf(destroys.at(-1)!));
});
