import { resolveKclOptions } from './engines/kcl/kcl-options';
import { KinesisWorkerConfigError } from './core/errors';
import type { StreamWorkerOptions } from './core/options';
import type { ProcessorFactory } from './core/processor';
import { resolveWorkerOptions } from './core/resolve-options';
import type { KinesisWorker } from './core/worker';
import type * as KclEngine from './engines/kcl/kcl-worker';
import type * as NativeEngine from './engines/native/coordinator/native-worker';

/**
 * The framework-free entry point: one worker consuming one stream, building one processor per shard
 * with the factory. Call start() to begin and stop() to hand the leases over.
 *
 * Each engine's code is required only when a worker of that engine is created, so a process pays the
 * load time and memory of the engine it runs only (measured by bench/lib/require-cost.ts).
 */
export function createWorker(options: StreamWorkerOptions, processorFactory: ProcessorFactory): KinesisWorker {
  const resolved = resolveWorkerOptions(options);
  if (typeof processorFactory !== 'function') {
    throw new KinesisWorkerConfigError('processorFactory', 'expected a function (shard) => KinesisRecordProcessor.');
  }
  // Validated whatever the engine, so that a typo in the kcl section fails at bootstrap.
  const kcl = resolveKclOptions(options, resolved);
  if (resolved.engine === 'kcl') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: only the chosen engine is loaded; kcl needs the optional peer aws-kcl
    const { KclWorker } = require('./engines/kcl/kcl-worker') as typeof KclEngine;
    return new KclWorker(resolved, processorFactory, kcl);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy: a kcl worker does not load the native engine
  const { NativeWorker } = require('./engines/native/coordinator/native-worker') as typeof NativeEngine;
  return new NativeWorker(resolved, processorFactory);
}
