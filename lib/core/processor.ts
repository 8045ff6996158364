import type { ExtendedSequenceNumber, KinesisRecord } from './record';

/**
 * Why a processor is being shut down, as in the KCL:
 * - TERMINATE: the shard ended (split or merge); checkpoint to finish it.
 * - ZOMBIE: the lease was lost to another worker; do not checkpoint.
 * - REQUESTED: the worker is stopping gracefully; checkpoint what you finished.
 */
export type ShutdownReason = 'TERMINATE' | 'ZOMBIE' | 'REQUESTED';

/**
 * Records progress in the lease table. Transient failures are retried by itself;
 * it rejects with LeaseLostError once the lease belongs to another worker.
 */
export interface Checkpointer {
  /** Checkpoint the last record delivered so far (at TERMINATE: the end of the shard). */
  checkpoint(): Promise<void>;
  /** Checkpoint at this record: it and everything before it are done. */
  checkpoint(record: Pick<KinesisRecord, 'sequenceNumber' | 'subSequenceNumber'>): Promise<void>;
  checkpoint(sequenceNumber: string, subSequenceNumber?: number): Promise<void>;
}

export interface InitializeInput {
  readonly shardId: string;
  readonly streamName: string;
  /** Where processing starts: the stored checkpoint, or the initial position as a sentinel. */
  readonly checkpoint: ExtendedSequenceNumber;
}

export interface ProcessRecordsInput {
  readonly shardId: string;
  readonly records: readonly KinesisRecord[];
  readonly checkpointer: Checkpointer;
  /** How far the batch lags the tip of the shard; undefined when the service did not say. */
  readonly millisBehindLatest?: number;
}

export interface ShutdownInput {
  readonly shardId: string;
  readonly reason: ShutdownReason;
  /** Absent for ZOMBIE: the lease is gone, a checkpoint could not succeed. */
  readonly checkpointer?: Checkpointer;
}

/** The KCL record-processor contract. Every method may return a Promise; the engine awaits it. */
export interface KinesisRecordProcessor {
  initialize?(input: InitializeInput): void | Promise<void>;
  processRecords(input: ProcessRecordsInput): void | Promise<void>;
  shutdown?(input: ShutdownInput): void | Promise<void>;
}

/** What a per-shard processor instance may learn about itself. */
export interface ShardContext {
  readonly streamName: string;
  readonly shardId: string;
  readonly workerId: string;
}

/** Builds one processor instance per shard lease. */
export type ProcessorFactory = (shard: ShardContext) => KinesisRecordProcessor | Promise<KinesisRecordProcessor>;
