import { Injectable, SetMetadata, type ScopeOptions } from '@nestjs/common';
import type { KinesisWorkerOptions } from '../core/options';
import { KINESIS_PROCESSOR_METADATA } from '../kinesis-worker.constants';

/** Per-processor overrides of the module options. Clients, engine, kcl settings and logger stay module-wide. */
export interface KinesisProcessorOptions
  extends Partial<Omit<KinesisWorkerOptions, 'engine' | 'kcl' | 'logger' | 'kinesis' | 'dynamodb' | 'region'>>, ScopeOptions {
  /** The stream this processor consumes. */
  stream: string;
}

/**
 * Marks an injectable class as the record processor of a stream. The module builds one instance per
 * shard through the DI container, so constructor dependencies resolve like any provider's.
 */
export function KinesisProcessor(streamOrOptions: string | KinesisProcessorOptions): ClassDecorator {
  const options: KinesisProcessorOptions = typeof streamOrOptions === 'string' ? { stream: streamOrOptions } : { ...streamOrOptions };
  const { scope, durable, ...processorOptions } = options;
  return (target) => {
    SetMetadata(KINESIS_PROCESSOR_METADATA, processorOptions)(target);
    Injectable({ scope, durable })(target);
  };
}
