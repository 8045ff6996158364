import { KclWorker } from '../engines/kcl/kcl-worker';
import { NativeWorker } from '../engines/native/coordinator/native-worker';
import { KinesisWorkerConfigError } from './errors';
import type { StreamWorkerOptions } from './options';
import type { ProcessorFactory } from './processor';
import { resolveWorkerOptions } from './resolve-options';
import type { KinesisWorker } from './worker';

/**
 * The framework-free entry point: one worker consuming one stream, building one processor per shard
 * with the factory. Call start() to begin and stop() to hand the leases over.
 */
export function createWorker(options: StreamWorkerOptions, processorFactory: ProcessorFactory): KinesisWorker {
  const resolved = resolveWorkerOptions(options);
  if (typeof processorFactory !== 'function') {
    throw new KinesisWorkerConfigError('processorFactory', 'expected a function (shard) => KinesisRecordProcessor.');
  }
  if (resolved.engine === 'kcl') return new KclWorker(resolved, processorFactory);
  return new NativeWorker(resolved, processorFactory);
}
