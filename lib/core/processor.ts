import type { BatchResult } from './batch-result';
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
  /**
   * The fencing token of this worker's hold of the lease (native engine), as RecordContext.lease. Undefined
   * on the kcl engine: the MultiLangDaemon does not pass the lease counter to the Node side.
   */
  readonly lease?: LeaseFencingToken;
}

export interface ShutdownInput {
  readonly shardId: string;
  readonly reason: ShutdownReason;
  /** Absent for ZOMBIE: the lease is gone, a checkpoint could not succeed. */
  readonly checkpointer?: Checkpointer;
}

/** What every processor may implement around its records: initialize and shutdown. */
export interface ProcessorLifecycle {
  initialize?(input: InitializeInput): void | Promise<void>;
  shutdown?(input: ShutdownInput): void | Promise<void>;
}

/** The KCL record-processor contract. Every method may return a Promise; the engine awaits it. */
export interface KinesisRecordProcessor extends ProcessorLifecycle {
  /**
   * Handles a batch. Returning (or throwing a PartialBatchFailure with) `{ failed: [...] }` reports which
   * records failed (native engine): those before the first failed one are checkpointed, it and the
   * records after it are retried (docs/failures.md). A plain throw retries the whole batch.
   */
  processRecords(input: ProcessRecordsInput): void | BatchResult | Promise<void | BatchResult>;
}

/**
 * The lease a record (or a batch) was dispatched under: a fencing token for sinks (docs/concurrency.md). `counter` is
 * the lease's leaseCounter when this worker's hold of the lease began; every later hold of the shard, by
 * any worker, starts with a higher one. A sink that stores, per shard, the highest counter it accepted
 * and refuses writes that carry a lower one, refuses the late writes of a worker that lost the lease.
 */
export interface LeaseFencingToken {
  /** The lease's key (the shard id, or the multi-stream key). */
  readonly leaseKey: string;
  /** This worker's id: the leaseOwner of the hold. */
  readonly owner: string;
  /** leaseCounter at the start of this hold; constant for the hold, higher for every later one. */
  readonly counter: number;
}

/** What a per-record handler learns besides the record. */
export interface RecordContext {
  readonly streamName: string;
  readonly shardId: string;
  readonly workerId: string;
  readonly lease: LeaseFencingToken;
  /** How far the record's batch lagged the tip of the shard; undefined when the service did not say. */
  readonly millisBehindLatest?: number;
  /** 1 for the first call with this record, 2 for its first retry, and so on. */
  readonly attempt: number;
}

/**
 * A processor that handles one record at a time (native engine). The engine runs up to
 * `concurrency.maxInFlightPerShard` of them at once per shard, in the order `concurrency.ordering` keeps,
 * and checkpoints for it: never past a record that has not finished (docs/concurrency.md).
 */
export interface KinesisPerRecordProcessor extends ProcessorLifecycle {
  processRecord(record: KinesisRecord, context: RecordContext): void | Promise<void>;
}

/** Either contract: a batch processor (processRecords) or a per-record one (processRecord), never both. */
export type AnyRecordProcessor = KinesisRecordProcessor | KinesisPerRecordProcessor;

/** True for a processor of the per-record contract (after assertProcessor). */
export function isPerRecordProcessor(processor: AnyRecordProcessor): processor is KinesisPerRecordProcessor {
  return typeof (processor as Partial<KinesisPerRecordProcessor>).processRecord === 'function';
}

/** What a per-shard processor instance may learn about itself. */
export interface ShardContext {
  readonly streamName: string;
  readonly shardId: string;
  readonly workerId: string;
}

/** Builds one processor instance per shard lease. */
export type ProcessorFactory = (shard: ShardContext) => AnyRecordProcessor | Promise<AnyRecordProcessor>;
