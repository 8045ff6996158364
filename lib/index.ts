// The processor contract and the engine core: free of any Nest import.
export type { KinesisRecord, ExtendedSequenceNumber, Sentinel } from './core/record';
export type {
  KinesisRecordProcessor,
  Checkpointer,
  InitializeInput,
  ProcessRecordsInput,
  ShutdownInput,
  ShutdownReason,
  ShardContext,
  ProcessorFactory,
} from './core/processor';
export type { KinesisWorkerOptions, StreamWorkerOptions, InitialPosition, TimestampPosition, EngineName, FailedBatch } from './core/options';
export type { KclEngineOptions, KclMetricsLevel, KclRetrievalMode, KclLogLevel } from './core/options';
export type { RetryPolicy } from './core/retry-policy';
export type { WorkerLogger } from './core/logger';
export type { KinesisWorker, WorkerStatus, LeaseStatus, ShardStatus, Kcl3Status, WorkerEvent, WorkerEventListener } from './core/worker';
export { KinesisWorkerError, KinesisWorkerConfigError, LeaseLostError, InvalidCheckpointError } from './core/errors';
export { createWorker } from './create-worker';

// The Nest adapter.
export { KinesisWorkerModule } from './kinesis-worker.module';
export { KinesisWorkerService } from './kinesis-worker.service';
export { KinesisProcessor, InjectShard, OnKinesisEvent, type KinesisProcessorOptions, type KinesisEventType, type OnKinesisEventOptions } from './decorators';
export { KINESIS_SHARD } from './kinesis-worker.constants';
export { KINESIS_WORKER_MODULE_OPTIONS, type KinesisWorkerModuleOptions } from './kinesis-worker.module-definition';
