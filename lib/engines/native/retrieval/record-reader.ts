import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { isTimestampPosition } from '../../../core/initial-position';
import type { WorkerLogger } from '../../../core/logger';
import type { ResolvedWorkerOptions } from '../../../core/options';
import type { ExtendedSequenceNumber } from '../../../core/record';
import { FanoutReader } from './fanout-reader';
import { PrefetchingReader } from './prefetching-reader';
import { ReadBuffer } from './read-buffer';
import { ShardRecordFetcher, type RecordBatch } from './shard-record-fetcher';

/** What the shard consumer reads batches from, whatever the retrieval mode. next() rejects with FetchAbortedError once the signal aborts. */
export interface RecordReader {
  /**
   * Called when the lease is taken: a LATEST lease's start is fixed at the server's LATEST now (its first
   * iterator or subscription), not when the first batch is asked for. Never rejects; bounded by
   * LATEST_ANCHOR_TIMEOUT_MS, past which the start falls back to the take time less the clock margin.
   */
  prime(): Promise<void>;
  next(): Promise<RecordBatch>;
  /** A problem no retry solves by itself, for status(). */
  readonly problem: string | undefined;
  /** Ends whatever the reader keeps open (a subscription) once the consumer stops reading. */
  close(): void;
}

/** Fan-out's share of the worker: the ACTIVE consumer and the client whose handler streams SubscribeToShard. */
export interface FanoutChannel {
  readonly consumerArn: string;
  readonly subscriber: KinesisClient;
}

export interface RecordReaderConfig {
  readonly kinesis: KinesisClient;
  readonly options: ResolvedWorkerOptions;
  readonly fanout?: FanoutChannel;
  /** The worker's bound on records fetched but not yet processed, shared by its shards. Default: this reader's own. */
  readonly buffer?: ReadBuffer;
  readonly shardId: string;
  readonly start: ExtendedSequenceNumber;
  readonly leaseTakenAt: Date;
  readonly onThrottled: () => void;
  readonly logger: WorkerLogger;
  readonly signal: AbortSignal;
}

/** Polling (GetRecords with one batch prefetched) or fan-out (one SubscribeToShard event at a time), as retrieval.mode says. */
export function createRecordReader(config: RecordReaderConfig): RecordReader {
  const { options } = config;
  const startTimestamp = isTimestampPosition(options.initialPosition) ? options.initialPosition.timestamp : undefined;
  const common = {
    streamName: options.streamName,
    shardId: config.shardId,
    start: config.start,
    leaseTakenAt: config.leaseTakenAt,
    startTimestamp,
  };
  if (options.retrieval.mode === 'fanout') {
    if (!config.fanout) throw new Error('retrieval.mode is fanout but the worker has no registered stream consumer');
    return new FanoutReader({
      ...common,
      kinesis: config.kinesis,
      subscriber: config.fanout.subscriber,
      consumerArn: config.fanout.consumerArn,
      shardEndCheckIntervalMs: options.shardSyncIntervalMs,
      subscribeTimeoutMs: options.retrieval.subscribeTimeoutMs,
      onThrottled: config.onThrottled,
      logger: config.logger,
      signal: config.signal,
    });
  }
  const fetcher = new ShardRecordFetcher({
    ...common,
    kinesis: config.kinesis,
    maxRecords: options.maxRecords,
    maxCallsPerSecond: options.maxGetRecordsPerSecond,
    onThrottled: config.onThrottled,
    logger: config.logger,
    signal: config.signal,
  });
  const buffer = config.buffer ?? new ReadBuffer(options.retrieval.maxBufferedRecords, options.retrieval.maxBufferedBytes);
  const reader = new PrefetchingReader(fetcher, options.idleTimeBetweenReadsMs, config.signal, buffer, options.maxRecords);
  return {
    prime: () => fetcher.prime(),
    next: () => reader.next(),
    get problem() {
      return fetcher.problem;
    },
    // A prefetched GetRecords ends with the consumer's abort signal; its room in the buffer goes back.
    close: () => reader.close(),
  };
}
