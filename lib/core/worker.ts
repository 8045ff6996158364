import type { ProcessorFailedEvent } from './processor-failure';
import type { ExtendedSequenceNumber } from './record';

/** A running consumer of one stream: what createWorker returns, whatever the engine. */
export interface KinesisWorker {
  readonly workerId: string;
  /** The stream; for a worker of several streams, their names joined with ','. */
  readonly streamName: string;
  /** Validates the stream and lease table, then starts taking leases. Rejects on bad config. */
  start(): Promise<void>;
  /** Graceful: every processor gets shutdown(REQUESTED) after its batch in flight, then leases are released. */
  stop(): Promise<void>;
  /** The worker's view, for operators. */
  describe(): WorkerStatus;
}

export interface WorkerStatus {
  readonly workerId: string;
  readonly streamName: string;
  readonly appName: string;
  readonly tableName: string;
  readonly engine: 'native' | 'kcl';
  readonly running: boolean;
  /**
   * The longest time since a lease this worker holds was last proven ours (renewed, taken or
   * checkpointed): it grows past the renewal interval while renewals fail. Undefined while it holds
   * none, and with the kcl engine (the Java KCL renews its leases itself).
   */
  readonly msSinceLeaseRenewal?: number;
  /**
   * The lease timing msSinceLeaseRenewal is judged against, from the engines that report it (native):
   * renewals run every leaseRenewalIntervalMs, and a lease not renewed for failoverTimeMs is lost.
   */
  readonly leaseTiming?: {
    readonly leaseRenewalIntervalMs: number;
    readonly failoverTimeMs: number;
    readonly leaseTakerIntervalMs?: number;
  };
  /**
   * Native engine: how long since DynamoDB last answered one of this worker's calls (a success or a failed
   * condition, after the SDK's retries). A healthy worker calls at least every leaseTakerIntervalMs; this
   * keeps growing while DynamoDB is unreachable, throttles or fails every call, even after the worker has
   * lost every lease (when msSinceLeaseRenewal, counting held leases only, is undefined).
   */
  readonly msSinceDynamoDbAnswer?: number;
  /** The leases of the whole application, as this worker last saw the table. */
  readonly leases: readonly LeaseStatus[];
  /**
   * Native engine, polling: the records (and their data bytes) fetched but not yet processed, across the
   * shards of this worker, the most there ever were at once, and the bound (retrieval.maxBufferedRecords
   * and maxBufferedBytes). docs/retrieval.md#memory.
   */
  readonly readBuffer?: {
    readonly records: number;
    readonly bytes: number;
    readonly peakRecords: number;
    readonly peakBytes: number;
    readonly maxRecords: number;
    readonly maxBytes: number;
  };
  /** The shards this worker processes now. */
  readonly shards: readonly ShardStatus[];
  /** Native engine, when a Java KCL 3.x fleet runs the application: how this worker takes part. */
  readonly kcl3?: Kcl3Status;
}

export interface Kcl3Status {
  /** '2.x': the worker takes leases by the 2.x rules (compatible mode); '3.x': it holds what the leader assigns. */
  readonly rules: '2.x' | '3.x';
  /** The fleet's migration state (Migration3.0). */
  readonly clientVersion: string;
  /** Wall-clock ms of this worker's last WorkerMetricStats write. */
  readonly workerMetricsReportedAt?: number;
  /** 3.x rules: the live leader's worker id. */
  readonly leader?: string;
  /** 3.x rules: whether this worker is the leader now (holds the lock and assigns the leases). */
  readonly leading?: boolean;
  /** 3.x rules: why no lease can be assigned now (no live leader). */
  readonly problem?: string;
}

export interface LeaseStatus {
  readonly shardId: string;
  /** The lease's stream, for a worker of several streams (multi-stream lease format). */
  readonly streamName?: string;
  readonly leaseOwner?: string;
  readonly leaseCounter: number;
  readonly checkpoint: ExtendedSequenceNumber;
  readonly parentShardIds: readonly string[];
}

export interface ShardStatus {
  readonly shardId: string;
  /** The shard's stream, for a worker of several streams. */
  readonly streamName?: string;
  readonly state: string;
  readonly checkpoint: ExtendedSequenceNumber;
  readonly millisBehindLatest?: number;
  /** Set while the shard cannot be read for a reason no retry fixes by itself (a missing permission, an unreadable checkpoint). */
  readonly error?: string;
}

/**
 * What happened to a lease, for metrics, logs and tests. `how: 'assigned'` is a lease someone else gave
 * this worker (the Java KCL inside the kcl engine, which does not say whether it took it unowned,
 * expired or stolen). `processorFailed`: a call of the processor threw (processor-failure.ts).
 */
export type WorkerEvent =
  | {
      readonly type: 'leaseTaken';
      readonly shardId: string;
      readonly how: 'unowned' | 'expired' | 'stolen' | 'reclaimed' | 'assigned';
      readonly previousOwner?: string;
    }
  | { readonly type: 'leaseLost'; readonly shardId: string; readonly reason: string }
  | { readonly type: 'leaseReleased'; readonly shardId: string; readonly reason: 'REQUESTED' | 'SHARD_END' | 'GAVE_UP' }
  | { readonly type: 'shardEnded'; readonly shardId: string; readonly childShardIds: readonly string[] }
  | ProcessorFailedEvent;

export type WorkerEventListener = (event: WorkerEvent & { readonly workerId: string; readonly streamName: string }) => void;
