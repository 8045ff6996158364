import { KclWorker } from './engines/kcl/kcl-worker';
import { resolveKclOptions } from './engines/kcl/kcl-options';
import { NativeWorker } from './engines/native/coordinator/native-worker';
import { KinesisWorkerConfigError } from './core/errors';
import type { StreamWorkerOptions } from './core/options';
import type { ProcessorFactory } from './core/processor';
import { resolveWorkerOptions } from './core/resolve-options';
import type { KinesisWorker } from './core/worker';

/**
 * The framework-free entry point: one worker consuming one stream, building one processor per shard
 * with the factory. Call start() to begin and stop() to hand the leases over.
 */
export function createWorker(options: StreamWorkerOptions, processorFactory: ProcessorFactory): KinesisWorker {
  const resolved = resolveWorkerOptions(options);
  if (typeof processorFactory !== 'function') {
    throw new KinesisWorkerConfigError('processorFactory', 'expected a function (shard) => KinesisRecordProcessor.');
  }
  // Validated whatever the engine, so that a typo in the kcl section fails at bootstrap.
  const kcl = resolveKclOptions(options, resolved);
  if (resolved.engine === 'kcl') return new KclWorker(resolved, processorFactory, kcl);
  return new NativeWorker(resolved, processorFactory);
}
