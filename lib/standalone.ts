/**
 * The framework-free entry point, `nestjs-kinesis-worker/standalone`: createWorker and the processor
 * contract, without any @nestjs import. The package root re-exports all of this next to the Nest module,
 * so requiring the root also loads @nestjs/common and @nestjs/core (about 28 MB RSS and 190 ms, more
 * than the engine itself) and fails where Nest is not installed; this entry needs neither.
 */
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
  ProcessorLifecycle,
  KinesisPerRecordProcessor,
  AnyRecordProcessor,
  RecordContext,
  LeaseFencingToken,
} from './core/processor';
export type {
  KinesisWorkerOptions,
  StreamWorkerOptions,
  InitialPosition,
  TimestampPosition,
  EngineName,
  FailedBatch,
  ConcurrencyOptions,
  RecordOrdering,
} from './core/options';
export type { KclEngineOptions, KclMetricsLevel, KclRetrievalMode, KclLogLevel } from './core/options';
export type { RetrievalOptions, RetrievalMode, WireFormat } from './core/options';
export type { RetryPolicy } from './core/retry-policy';
export type { WorkerLogger, LogFields } from './core/logger';
export type { KinesisWorker, WorkerStatus, LeaseStatus, ShardStatus, Kcl3Status, WorkerEvent, WorkerEventListener } from './core/worker';
export type { ProcessorFailedEvent, ProcessorCallName } from './core/processor-failure';
export { KinesisWorkerError, KinesisWorkerConfigError, LeaseLostError, InvalidCheckpointError } from './core/errors';
export { createWorker } from './create-worker';
export { PartialBatchFailure, type BatchResult, type FailedRecordRef } from './core/batch-result';
export { RecordsShedError, type FailurePolicyOptions, type FailedRecord, type ShedTarget } from './core/failure-policy-options';
