import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { MeterProvider } from '@opentelemetry/api';
import type { KinesisClientConfig } from '@aws-sdk/client-kinesis';
import type { WorkerLogger } from './logger';
import type { AutoCheckpointPolicy } from './checkpoint-schedule';
import type { KinesisRecord } from './record';
import type { FailedRecord, FailurePolicyOptions, ResolvedFailurePolicy } from './failure-policy-options';
import type { RetryPolicy } from './retry-policy';
import type { WorkerEvent, WorkerEventListener } from './worker';

/** How records of one shard may overlap under `concurrency`: per partition key in sequence order, or not at all. */
export type RecordOrdering = 'partitionKey' | 'none';
export const RECORD_ORDERINGS: readonly RecordOrdering[] = ['partitionKey', 'none'];

/**
 * Several records of one shard at once, for processors that implement processRecord (docs/concurrency.md).
 * Native engine. The default is one record at a time per shard.
 */
export interface ConcurrencyOptions {
  /** Records of one shard whose processRecord runs at the same time, at most. Default 1. */
  maxInFlightPerShard?: number;
  /**
   * 'partitionKey' (default): records with the same partition key run one after another, in sequence
   * order; different keys run side by side. 'none': any records of the shard may run side by side.
   */
  ordering?: RecordOrdering;
  /**
   * Records read but not finished, across all the shards of this worker, at most (running or waiting for
   * their turn). When reached, the shards stop reading until records finish. Each shard holds at most
   * max(1, floor(this / shards)) of them, so that a shard with a blocked key cannot stall the others
   * (docs/concurrency.md). Default 10000.
   */
  maxInFlightRecords?: number;
  /** The same bound on their data bytes. Default 67108864 (64 MiB). A single larger record is still let in alone. */
  maxInFlightBytes?: number;
}

export interface ResolvedConcurrencyOptions {
  readonly maxInFlightPerShard: number;
  readonly ordering: RecordOrdering;
  readonly maxInFlightRecords: number;
  readonly maxInFlightBytes: number;
}

/** Start at the first record that arrived at or after this time (GetShardIterator AT_TIMESTAMP). */
export interface TimestampPosition {
  readonly timestamp: Date;
}
export type InitialPosition = 'TRIM_HORIZON' | 'LATEST' | TimestampPosition;
/** The named initial positions (a timestamp is the third kind). */
export const INITIAL_POSITIONS: readonly ('TRIM_HORIZON' | 'LATEST')[] = ['TRIM_HORIZON', 'LATEST'];

export type EngineName = 'native' | 'kcl';
export const ENGINES: readonly EngineName[] = ['native', 'kcl'];

/** How the native engine reads shards: GetRecords polling, or enhanced fan-out (SubscribeToShard). */
export type RetrievalMode = 'polling' | 'fanout';
export const RETRIEVAL_MODES: readonly RetrievalMode[] = ['polling', 'fanout'];

/** The body format of GetRecords calls (native engine): JSON as the JS SDK sends it, or CBOR as the Java SDKs do. */
export type WireFormat = 'json' | 'cbor';
export const WIRE_FORMATS: readonly WireFormat[] = ['json', 'cbor'];

/**
 * How records are read (docs/retrieval.md). Polling (default) shares each shard's 2 MB/s and 5 calls/s
 * with every polling application; fan-out gives this application its own 2 MB/s per shard, pushed over
 * one HTTP/2 SubscribeToShard stream per shard, through a registered stream consumer.
 */
export interface RetrievalOptions {
  /** 'polling' (GetRecords, default) or 'fanout' (enhanced fan-out). */
  mode?: RetrievalMode;
  /**
   * Fan-out: the stream consumer to register or reuse by name. Default appName, as the Java KCL names it.
   * Workers of one application must use the same consumer: Kinesis allows one subscription per shard and consumer.
   */
  consumerName?: string;
  /** Fan-out: an existing consumer's ARN; nothing is registered then (the consumer must be ACTIVE or becoming so). */
  consumerArn?: string;
  /**
   * Fan-out: the SDK request handler for SubscribeToShard only. Default a NodeHttp2Handler: real Kinesis serves
   * SubscribeToShard over HTTP/2 only. kinesis-local serves it over HTTP/1.1 only: pass new NodeHttpHandler()
   * (from @smithy/node-http-handler) there. Every other call keeps kinesis.requestHandler.
   */
  requestHandler?: KinesisClientConfig['requestHandler'];
  /**
   * Fan-out, native engine: how long SubscribeToShard may take to answer, and then to send its first event,
   * before the request is cancelled and made again (with backoff, logged). Default 10000. A blackholed or
   * half-open connection would otherwise hold the shard's lease while nothing is read.
   */
  subscribeTimeoutMs?: number;
  /**
   * Native engine: the wire format of GetRecords, 'json' (default) or 'cbor' (application/x-amz-cbor-1.1,
   * what the Java SDKs send: payloads as raw bytes, no base64). An answer in the other format is read too.
   * Every other call stays JSON. docs/retrieval.md#wire-format.
   */
  wireFormat?: WireFormat;
  /**
   * Native engine, polling: records fetched but not yet processed, across all the shards of this worker, at
   * most (the batches being processed and the ones read ahead). When reached, reading waits for batches to
   * be processed instead of buffering more. Default 50000. docs/retrieval.md#memory.
   */
  maxBufferedRecords?: number;
  /** The same bound on their data bytes. Default 33554432 (32 MiB). A batch larger than it is still read, alone. */
  maxBufferedBytes?: number;
}

/** The bound on what the native engine holds read but not processed (retrieval.maxBufferedRecords/Bytes). */
interface ResolvedReadBufferOptions {
  readonly maxBufferedRecords: number;
  readonly maxBufferedBytes: number;
}

export type ResolvedRetrievalOptions = ResolvedReadBufferOptions &
  (
    | { readonly mode: 'polling'; readonly wireFormat: WireFormat }
    | {
        readonly mode: 'fanout';
        readonly wireFormat: WireFormat;
        readonly consumerName: string;
        readonly consumerArn?: string;
        readonly requestHandler?: KinesisClientConfig['requestHandler'];
        readonly subscribeTimeoutMs: number;
      }
  );

export type KclMetricsLevel = 'NONE' | 'SUMMARY' | 'DETAILED';
export const KCL_METRICS_LEVELS: readonly KclMetricsLevel[] = ['NONE', 'SUMMARY', 'DETAILED'];
export type KclRetrievalMode = 'POLLING' | 'FANOUT';
export const KCL_RETRIEVAL_MODES: readonly KclRetrievalMode[] = ['POLLING', 'FANOUT'];
export type KclLogLevel = 'ERROR' | 'WARN' | 'INFO' | 'DEBUG';
export const KCL_LOG_LEVELS: readonly KclLogLevel[] = ['ERROR', 'WARN', 'INFO', 'DEBUG'];

/**
 * Settings of the `kcl` engine (the Java KCL MultiLangDaemon in a child JVM). The consumer settings
 * themselves (stream, application, positions, times, endpoints) come from the common options.
 */
export interface KclEngineOptions {
  /**
   * The Java KCL line: '2.7.2' (the jars aws-kcl's pom.xml lists) or a 3.x version such as '3.1.3'.
   * Default: KCL_VERSION, else 3.1.3, started in CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X (docs/kcl-engine.md, "KCL 3.x").
   */
  version?: string;
  /**
   * The MultiLangDaemon jars of that line, where the provisioning script puts them. Default: KCL_JARS_DIR,
   * else <cwd>/.kcl/jars, with -<version> appended for lines other than 2.7.2 (e.g. .kcl/jars-3.1.3).
   */
  jarsDir?: string;
  /** The java executable. Default: $JAVA_HOME/bin/java, else `java` on the PATH. */
  javaPath?: string;
  /** Extra JVM options placed before the class path, e.g. ['-Xmx256m']. */
  javaOptions?: string[];
  /** The daemon's shutdownGraceMillis: how long its graceful shutdown may take. Default failoverTimeMs + 5000. */
  shutdownGraceMs?: number;
  /** How long stop() waits for the JVM to exit before it kills it. Default shutdownGraceMs + 10000. */
  stopTimeoutMs?: number;
  /** How long start() waits for the daemon's scheduler to come up. Default 120000. */
  startTimeoutMs?: number;
  /** The KCL's CloudWatch metrics. Default NONE (like the native engine; the Java KCL's own default is DETAILED). */
  metricsLevel?: KclMetricsLevel;
  /** POLLING (GetRecords, default, what the native engine does) or FANOUT (enhanced fan-out; not on the emulators). */
  retrievalMode?: KclRetrievalMode;
  /** Level of the JVM's own log. ERROR and WARN lines go to the logger's error and warn, INFO and DEBUG to debug. Default INFO. */
  logLevel?: KclLogLevel;
  /**
   * Further MultiLangDaemon properties, written as they are (e.g. { timeoutInSeconds: 300 }). The daemon
   * ignores unknown keys silently, so check the spelling against the KCL's MultiLangDaemonConfiguration.
   * Keys that a common option controls are refused; the credentials provider keys may be overridden.
   */
  properties?: Record<string, string | number | boolean>;
}

export interface ResolvedKclEngineOptions {
  readonly version: string;
  readonly jarsDir: string;
  readonly javaPath: string;
  readonly javaOptions: readonly string[];
  readonly shutdownGraceMs: number;
  readonly stopTimeoutMs: number;
  readonly startTimeoutMs: number;
  readonly metricsLevel: KclMetricsLevel;
  readonly retrievalMode: KclRetrievalMode;
  readonly logLevel: KclLogLevel;
  readonly properties: Readonly<Record<string, string>>;
}

/**
 * Options shared by every stream of a worker. Names follow the KCL's configuration, in milliseconds.
 * Defaults are the KCL 2.x defaults unless said otherwise.
 */
export interface KinesisWorkerOptions {
  /** 'native' (TypeScript on the AWS SDK v3, default) or 'kcl' (the Java MultiLangDaemon). */
  engine?: EngineName;
  /** The KCL application name: workers with the same name share the shards. Default lease table name. */
  appName: string;
  /** DynamoDB lease table. Default: appName. */
  tableName?: string;
  /**
   * AWS region. Default, as the AWS SDK finds it, at start: kinesis.region, AWS_REGION, AWS_DEFAULT_REGION,
   * then the region of the profile (kinesis.profile, else AWS_PROFILE, else default) in the shared config
   * files (~/.aws/config and ~/.aws/credentials, or AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE). Never
   * the EC2 instance metadata. Found nowhere: start() rejects with an error naming each place.
   */
  region?: string;
  /**
   * Where a shard with no checkpoint starts. Default TRIM_HORIZON. A stored checkpoint always wins.
   * { timestamp: Date } starts at the first record that arrived at or after it (the kcl engine: whole seconds, rounded down).
   */
  initialPosition?: InitialPosition;
  /** A lease whose counter has not moved for this long is expired and may be taken. Default 10000. */
  failoverTimeMs?: number;
  /** GetRecords limit per call. Default 10000 (the service maximum). */
  maxRecords?: number;
  /** Wait before reading again a shard that is caught up. Default 1500. */
  idleTimeBetweenReadsMs?: number;
  /** Polling (default) or enhanced fan-out, with its consumer and HTTP/2 handler (docs/retrieval.md). */
  retrieval?: RetrievalOptions;
  /** Unique per process by default (host, pid, random suffix). */
  workerId?: string;
  /** Passed to the SDK v3 Kinesis client: endpoint, credentials, maxAttempts, requestHandler, ... */
  kinesis?: Partial<KinesisClientConfig>;
  /** Passed to the SDK v3 DynamoDB client. */
  dynamodb?: Partial<DynamoDBClientConfig>;
  /** How often held leases are renewed. Default failoverTimeMs / 3 - 25. */
  leaseRenewalIntervalMs?: number;
  /** How often the worker looks for leases to take. Default (failoverTimeMs + 25) * 2. */
  leaseTakerIntervalMs?: number;
  /** How often new shards are looked for. Default 60000. */
  shardSyncIntervalMs?: number;
  /** How often a child shard checks whether its parents are finished. Default 10000. */
  parentShardPollIntervalMs?: number;
  /** Cap on leases held by one worker. Default unlimited. */
  maxLeasesForWorker?: number;
  /** Leases stolen per taker run at most. Default 1. */
  maxLeasesToStealAtOneTime?: number;
  /** Delete a finished parent's lease once its children have started. Default true. */
  cleanupLeasesUponShardCompletion?: boolean;
  /** Checkpoint retries on throttling, 5xx and timeouts. Default 6 attempts, 100 ms to 5 s. */
  checkpointRetry?: Partial<RetryPolicy>;
  /** A processRecords that throws is retried with the same batch. Default forever, 500 ms to 30 s. */
  processingRetry?: Partial<RetryPolicy>;
  /**
   * How long stop() may take: the batches in flight, the processors' shutdown(REQUESTED) and the final
   * checkpoints. Past it, stop() logs which shards did not finish, gives their leases up and resolves,
   * so a hung processRecords cannot hold the application's shutdown forever. Default 30000.
   */
  shutdownTimeoutMs?: number;
  /**
   * How long one processRecords call may run before the engine stops waiting for it. The shard is then
   * treated as failed: the processor gets no further batch, the lease is given up (no checkpoint moves
   * past the batch) and the records are delivered again to the next owner. Default: no limit.
   */
  processingTimeoutMs?: number;
  /**
   * GetRecords calls per second per shard at most. Kinesis allows 5 per shard, shared by every
   * application reading the stream: lower it when several applications poll one stream. Default 5.
   */
  maxGetRecordsPerSecond?: number;
  /**
   * The engine checkpoints for the processor: 'batch' after every successful batch, or
   * { everyRecords, everyMs } when that many records succeeded or that long passed since the last
   * checkpoint (checked after each successful batch; a graceful stop checkpoints what succeeded).
   * Default: manual, the processor calls checkpointer.checkpoint(). Native engine.
   */
  autoCheckpoint?: 'batch' | { everyRecords?: number; everyMs?: number };
  /**
   * A dead-letter hook: called with a batch whose processRecords failed processingRetry.maxAttempts
   * times (a finite policy). When it resolves, the engine checkpoints past the batch and goes on; when
   * it throws, the lease is given up as without it and the batch is delivered again later. Without
   * the hook the engine never skips a record. Native engine.
   */
  onFailedBatch?: (batch: FailedBatch) => void | Promise<void>;
  /**
   * The dead-letter hook of processRecord processors: called with a record whose attempts ran out
   * (processingRetry, failurePolicy). Once it resolves, the record counts as finished and checkpoints pass
   * it. Without it (or if it throws) the record stays unfinished and the lease is given up. Native engine.
   */
  onFailedRecord?: (failed: FailedRecord) => void | Promise<void>;
  /** When the engine stops retrying and hands failed records to the hooks above (docs/failures.md). Native engine. */
  failurePolicy?: FailurePolicyOptions;
  /**
   * For processors that implement processRecord: how many records of one shard run at once, in which
   * order, and how much a worker reads ahead of what finished (docs/concurrency.md). Native engine.
   * Default: one record at a time per shard.
   */
  concurrency?: ConcurrencyOptions;
  /** Where the metrics go. Default: the global MeterProvider of @opentelemetry/api (a no-op until the app registers an SDK). */
  meterProvider?: MeterProvider;
  /** Where the engine logs. Default: console (the Nest module passes a Nest Logger). */
  logger?: WorkerLogger;
  /** Called on lease events (taken, lost, released, shard ended) and when a processor call throws (processorFailed); must not throw. */
  onEvent?: WorkerEventListener;
  /**
   * The coordinator state table of a Java KCL 3.x fleet sharing the application (its `coordinatorStateTableName`
   * property): where the native engine reads the migration state and the leader lock. Default `<appName>-CoordinatorState`.
   * Native engine; with engine 'kcl' give the daemon the same names through kcl.properties.
   */
  coordinatorStateTableName?: string;
  /** The worker metrics table of a Java KCL 3.x fleet (its `workerMetricsTableName`). Default `<appName>-WorkerMetricStats`. */
  workerMetricsTableName?: string;
  /** KCL 3.x mode: how often this worker publishes its WorkerMetricStats item. Default 30000 (the Java reporter's). */
  workerMetricsReporterFreqMs?: number;
  /** How often the migration state (Migration3.0) is read to follow a flip to or from KCL 3.x mode. Default 60000. */
  clientVersionPollIntervalMs?: number;
  /**
   * KCL 3.x mode: how long a lease handed over to this worker waits for its previous owner to checkpoint
   * and clear checkpointOwner before it starts anyway. Default 30000 (the Java gracefulLeaseHandoffTimeoutMillis).
   */
  gracefulLeaseHandoffTimeoutMs?: number;
  /**
   * KCL 3.x mode: whether this worker contends for the application's leader lock (the `Leader` item of the
   * coordinator state table) and, while it holds it, assigns the leases (docs/kcl3-protocol.md, section 5).
   * Default true. A native-only 3.x application needs at least one eligible worker.
   */
  kcl3LeaderEligible?: boolean;
  /**
   * KCL 3.x mode: the lease duration this worker writes into the leader lock when it holds it; another worker
   * takes the lock after it has seen no heartbeat for this long. Heartbeats every quarter of it. Default 120000
   * (the Java DynamoDBLockBasedLeaderDecider's).
   */
  leaderLockLeaseDurationMs?: number;
  /** KCL 3.x mode, on the leader: how often leases are assigned. Default 2 × failoverTimeMs (the Java leaseAssignmentIntervalMillis). */
  leaseAssignmentIntervalMs?: number;
  /** KCL 3.x mode, on the leader: worker metrics not written for this long are deleted. Default 86400000 (1 day, the Java staleWorkerMetricsEntryCleanupDuration). */
  staleWorkerMetricsCleanupMs?: number;
  /**
   * Says that this lease table holds several streams: the Java KCL's multi-stream lease format (lease key
   * `<account>:<streamName>:<creationEpoch>:<shardId>`), even while one stream is consumed, so adding a
   * stream later keeps the table's format. Default false: one stream, the single-stream format (lease key =
   * shard id) every KCL application uses by default. A table holds one format: opening a table of the other
   * format fails at start. Nest: required for two or more @KinesisProcessor classes of one appName (one
   * lease table). createWorker: `streams` implies it. Native engine only (docs/leases.md).
   */
  multiStream?: boolean;
  /** Settings of the `kcl` engine; ignored by the native engine. */
  kcl?: KclEngineOptions;
}

/** What onFailedBatch receives: the records no processRecords call could handle, and the last error. */
export interface FailedBatch {
  readonly streamName: string;
  readonly shardId: string;
  readonly records: readonly KinesisRecord[];
  readonly error: unknown;
  readonly attempts: number;
}

/**
 * What createWorker takes: the shared options plus the stream, or streams, this worker consumes.
 * Exactly one of streamName and streams.
 */
export interface StreamWorkerOptions extends KinesisWorkerOptions {
  /** One stream, in the single-stream lease format (lease key = shard id), as every KCL application by default. */
  streamName?: string;
  /**
   * Several streams of one application on one lease table, in the Java KCL's multi-stream lease format
   * (lease key `<account>:<streamName>:<creationEpoch>:<shardId>`, KCL 2.3+). Leases are balanced over
   * all the streams together. Native engine only. A table holds one format: opening a single-stream
   * table with `streams` (or a multi-stream table with `streamName`) fails at start (docs/leases.md).
   * `streams` implies `multiStream: true`; `streamName` with `multiStream: true` is one stream in the
   * multi-stream format, like `streams: [streamName]`.
   */
  streams?: readonly string[];
}

/** Options after validation, with every default filled in. */
export interface ResolvedWorkerOptions {
  readonly engine: EngineName;
  readonly appName: string;
  readonly tableName: string;
  /** The stream; with several streams, their names joined with ',' (for logs and status). */
  readonly streamName: string;
  /** Every stream this worker consumes (one for streamName). */
  readonly streams: readonly string[];
  /** True when `streams` or `multiStream: true` was given: the multi-stream lease format. */
  readonly multiStream: boolean;
  /**
   * The region, found at start (worker-region.ts): the SDK clients' region provider, which the engines
   * await before their first call. Rejects with a KinesisWorkerConfigError naming where it looked.
   */
  readonly region: () => Promise<string>;
  readonly initialPosition: InitialPosition;
  readonly failoverTimeMs: number;
  readonly maxRecords: number;
  readonly idleTimeBetweenReadsMs: number;
  readonly retrieval: ResolvedRetrievalOptions;
  readonly workerId: string;
  readonly kinesis: Partial<KinesisClientConfig>;
  readonly dynamodb: Partial<DynamoDBClientConfig>;
  readonly leaseRenewalIntervalMs: number;
  readonly leaseTakerIntervalMs: number;
  readonly shardSyncIntervalMs: number;
  readonly parentShardPollIntervalMs: number;
  readonly maxLeasesForWorker: number;
  readonly maxLeasesToStealAtOneTime: number;
  readonly cleanupLeasesUponShardCompletion: boolean;
  readonly checkpointRetry: RetryPolicy;
  readonly processingRetry: RetryPolicy;
  readonly shutdownTimeoutMs: number;
  /** Infinity when unset. */
  readonly processingTimeoutMs: number;
  readonly maxGetRecordsPerSecond: number;
  /** Undefined: manual checkpoints. */
  readonly autoCheckpoint?: AutoCheckpointPolicy;
  readonly onFailedBatch?: (batch: FailedBatch) => void | Promise<void>;
  readonly onFailedRecord?: (failed: FailedRecord) => void | Promise<void>;
  readonly failurePolicy: ResolvedFailurePolicy;
  /** Used by processors that implement processRecord; defaults filled in. */
  readonly concurrency: ResolvedConcurrencyOptions;
  readonly meterProvider?: MeterProvider;
  readonly logger: WorkerLogger;
  /** Reports an event to onEvent; `streamName` is the event's stream (default: the worker's streamName). */
  readonly emit: (event: WorkerEvent, streamName?: string) => void;
  readonly coordinatorStateTableName: string;
  readonly workerMetricsTableName: string;
  readonly workerMetricsReporterFreqMs: number;
  readonly clientVersionPollIntervalMs: number;
  readonly gracefulLeaseHandoffTimeoutMs: number;
  readonly kcl3LeaderEligible: boolean;
  readonly leaderLockLeaseDurationMs: number;
  readonly leaseAssignmentIntervalMs: number;
  readonly staleWorkerMetricsCleanupMs: number;
}
