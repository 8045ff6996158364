// The processor contract and the engine core: free of any Nest import (also the framework-free entry, lib/standalone.ts).
export * from './standalone';

// The Nest adapter.
export { KinesisWorkerModule } from './kinesis-worker.module';
export { KinesisWorkerService } from './kinesis-worker.service';
export {
  KinesisProcessor,
  InjectShard,
  OnKinesisEvent,
  type KinesisProcessorOptions,
  type KinesisEventType,
  type OnKinesisEventOptions,
} from './decorators';
export { KINESIS_SHARD } from './kinesis-worker.constants';
export { KINESIS_WORKER_MODULE_OPTIONS, type KinesisWorkerModuleOptions } from './kinesis-worker.module-definition';
