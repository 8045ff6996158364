import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { KinesisWorkerConfigError } from './errors';
import { consoleLogger, withLogFields } from './logger';
import { resolveInitialPosition } from './initial-position';
import { resolveRetrieval } from './retrieval-options';
import { checkOptionKeys } from './option-keys';
import { resolveConcurrency } from './concurrency-options';
import { workerRegion } from './worker-region';
import { resolveFailurePolicy } from './failure-policy-options';
import { ENGINES, type EngineName, type ResolvedWorkerOptions, type StreamWorkerOptions } from './options';
import type { AutoCheckpointPolicy } from './checkpoint-schedule';
import type { RetryPolicy } from './retry-policy';

const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;

export function positiveInt(option: string, value: unknown, fallback: number, { allowZero = false } = {}): number {
  if (value === undefined) return fallback;
  const ok = typeof value === 'number' && Number.isInteger(value) && (allowZero ? value >= 0 : value > 0);
  if (!ok) {
    throw new KinesisWorkerConfigError(
      option,
      `expected a whole number ${allowZero ? '>= 0' : '> 0'} (milliseconds for times), got ${JSON.stringify(value)}.`,
    );
  }
  return value;
}

function positiveNumber(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new KinesisWorkerConfigError(option, `expected a number > 0, got ${JSON.stringify(value)}.`);
  }
  return value;
}

/** Node's timers hold at most 2^31 - 1 ms (24.8 days): a longer delay fires after 1 ms instead, in a tight loop. */
const MAX_TIMER_MS = 2_147_483_647;
/** Below this a lease is renewed every few milliseconds, and one slow DynamoDB call loses it. */
const MIN_FAILOVER_MS = 1_000;

function booleanOption(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new KinesisWorkerConfigError(option, `must be true or false, got ${JSON.stringify(value)}.`);
  return value;
}

/** The lock client needs room for three heartbeats per lease duration; below a second, a slow DynamoDB answer would cost the lock. */
function leaderLockLeaseDuration(value: unknown): number {
  const ms = durationMs('leaderLockLeaseDurationMs', value, 120_000);
  if (ms < 1000)
    throw new KinesisWorkerConfigError(
      'leaderLockLeaseDurationMs',
      `must be at least 1000 ms (the leader heartbeats every quarter of it), got ${ms}. The Java KCL uses 120000.`,
    );
  return ms;
}

function durationMs(option: string, value: unknown, fallback: number, { allowZero = false, allowInfinity = false } = {}): number {
  if (allowInfinity && value === Infinity) return Infinity;
  const ms = positiveInt(option, value, fallback, { allowZero });
  if (ms !== Infinity && ms > MAX_TIMER_MS) {
    throw new KinesisWorkerConfigError(
      option,
      `${ms} ms is longer than Node's timers can wait (${MAX_TIMER_MS} ms, about 24.8 days); a longer delay would fire at once.${allowInfinity ? ' Leave it unset (or Infinity) for no limit.' : ''}`,
    );
  }
  return ms;
}

function autoCheckpoint(value: StreamWorkerOptions['autoCheckpoint']): AutoCheckpointPolicy | undefined {
  if (value === undefined) return undefined;
  if (value === 'batch') return { everyRecords: 1, everyMs: Infinity };
  const valid =
    typeof value === 'object' &&
    value !== null &&
    (value.everyRecords !== undefined || value.everyMs !== undefined) &&
    Object.keys(value).every((key) => key === 'everyRecords' || key === 'everyMs');
  if (!valid) {
    throw new KinesisWorkerConfigError(
      'autoCheckpoint',
      `expected 'batch' or { everyRecords?: number, everyMs?: number } with at least one of them, got ${JSON.stringify(value)}. Leave it unset to checkpoint by hand.`,
    );
  }
  return {
    everyRecords: value.everyRecords === undefined ? Infinity : positiveInt('autoCheckpoint.everyRecords', value.everyRecords, 1),
    everyMs: value.everyMs === undefined ? Infinity : positiveInt('autoCheckpoint.everyMs', value.everyMs, 1),
  };
}

function optionalFunction<T>(option: string, value: T | undefined, example: string): T | undefined {
  if (value !== undefined && typeof value !== 'function')
    throw new KinesisWorkerConfigError(option, `expected a function such as ${example}, got ${JSON.stringify(value)}.`);
  return value;
}

function retryPolicy(option: string, value: Partial<RetryPolicy> | undefined, fallback: RetryPolicy): RetryPolicy {
  const policy = { ...fallback, ...(value ?? {}) };
  if (!(policy.maxAttempts === Infinity || (Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1))) {
    throw new KinesisWorkerConfigError(`${option}.maxAttempts`, `expected a whole number >= 1 or Infinity, got ${policy.maxAttempts}.`);
  }
  durationMs(`${option}.baseDelayMs`, policy.baseDelayMs, 1);
  durationMs(`${option}.maxDelayMs`, policy.maxDelayMs, 1);
  if (policy.maxDelayMs < policy.baseDelayMs) {
    throw new KinesisWorkerConfigError(
      `${option}.maxDelayMs`,
      `the longest wait between attempts (${policy.maxDelayMs} ms) is shorter than the first (baseDelayMs ${policy.baseDelayMs} ms); make maxDelayMs >= baseDelayMs.`,
    );
  }
  return policy;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function defaultWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

function checkStreamName(option: string, value: unknown): string {
  if (typeof value !== 'string' || !STREAM_NAME.test(value)) {
    throw new KinesisWorkerConfigError(
      option,
      `expected a Kinesis stream name (1-128 characters of a-z, A-Z, 0-9, _ . -), got ${JSON.stringify(value)}. Example: @KinesisProcessor('orders').`,
    );
  }
  return value;
}

/**
 * streamName (one stream) or streams (several), never both; the lease format is multi-stream with
 * `streams` or `multiStream: true`, single-stream otherwise.
 */
function resolveStreams(options: StreamWorkerOptions, engine: EngineName): { streams: string[]; multiStream: boolean } {
  const multiStream = booleanOption('multiStream', options.multiStream, options.streams !== undefined);
  if (options.streams === undefined) {
    const streams = [checkStreamName('stream', options.streamName)];
    if (multiStream) refuseKclMultiStream('multiStream', engine);
    return { streams, multiStream };
  }
  if (options.streamName !== undefined) {
    throw new KinesisWorkerConfigError(
      'streams',
      `give either streamName (one stream, single-stream lease table) or streams (several streams on one multi-stream lease table), not both; got streamName ${JSON.stringify(options.streamName)} and streams ${JSON.stringify(options.streams)}.`,
    );
  }
  if (!multiStream) {
    throw new KinesisWorkerConfigError(
      'multiStream',
      'is false, but streams always uses the multi-stream lease format; remove multiStream: false, or give one stream as streamName for the single-stream format.',
    );
  }
  if (!Array.isArray(options.streams) || options.streams.length === 0) {
    throw new KinesisWorkerConfigError(
      'streams',
      `expected a non-empty array of stream names, got ${JSON.stringify(options.streams)}. For one stream in the usual format use streamName.`,
    );
  }
  const streams = options.streams.map((stream, i) => checkStreamName(`streams[${i}]`, stream));
  const duplicate = streams.find((stream, i) => streams.indexOf(stream) !== i);
  if (duplicate !== undefined) throw new KinesisWorkerConfigError('streams', `'${duplicate}' is listed twice; list each stream once.`);
  refuseKclMultiStream('streams', engine);
  return { streams, multiStream };
}

function refuseKclMultiStream(option: 'streams' | 'multiStream', engine: EngineName): void {
  if (engine !== 'kcl') return;
  throw new KinesisWorkerConfigError(
    option,
    "the kcl engine cannot consume several streams in one application: the Java KCL's MultiLangDaemon reads a single streamName (or streamArn) from its properties and has no multi-stream tracker. " +
      "Use engine: 'native' for a multi-stream application, or run one kcl worker per stream, each with its own appName (its own lease table) and streamName.",
  );
}

/** Validates every option and fills in the defaults. Throws KinesisWorkerConfigError naming the option. */
export function resolveWorkerOptions(options: StreamWorkerOptions): ResolvedWorkerOptions {
  if (!options || typeof options !== 'object') {
    throw new KinesisWorkerConfigError('options', 'expected an object with at least appName and streamName (or streams).');
  }
  checkOptionKeys(options);
  const engine = options.engine ?? 'native';
  if (!ENGINES.includes(engine)) {
    throw new KinesisWorkerConfigError('engine', `unknown engine ${JSON.stringify(options.engine)}; use one of ${ENGINES.join(', ')}.`);
  }
  if (typeof options.appName !== 'string' || options.appName.trim() === '') {
    throw new KinesisWorkerConfigError(
      'appName',
      'is required: the KCL application name, shared by every worker of the application and used as the lease table name. Example: forRoot({ appName: "orders-consumer", ... }).',
    );
  }
  const { streams, multiStream } = resolveStreams(options, engine);
  const streamName = streams.join(',');
  const tableName = options.tableName ?? options.appName;
  if (!TABLE_NAME.test(tableName)) {
    throw new KinesisWorkerConfigError(
      options.tableName === undefined ? 'appName' : 'tableName',
      `${JSON.stringify(tableName)} is not a valid DynamoDB table name (3-255 characters of a-z, A-Z, 0-9, _ . -).`,
    );
  }
  const coordinatorStateTableName = options.coordinatorStateTableName ?? `${options.appName}-CoordinatorState`;
  const workerMetricsTableName = options.workerMetricsTableName ?? `${options.appName}-WorkerMetricStats`;
  for (const [option, name] of [
    ['coordinatorStateTableName', coordinatorStateTableName],
    ['workerMetricsTableName', workerMetricsTableName],
  ] as const) {
    if (typeof name !== 'string' || !TABLE_NAME.test(name)) {
      throw new KinesisWorkerConfigError(
        options[option] === undefined ? 'appName' : option,
        `${JSON.stringify(name)} is not a valid DynamoDB table name (3-255 characters of a-z, A-Z, 0-9, _ . -): set ${option} to the name the Java KCL 3.x fleet uses, or leave it unset for the default.`,
      );
    }
  }
  const initialPosition = resolveInitialPosition(options.initialPosition);
  if (options.region !== undefined && (typeof options.region !== 'string' || options.region === '')) {
    throw new KinesisWorkerConfigError(
      'region',
      `expected a region name such as "eu-west-1", got ${JSON.stringify(options.region)}. Leave it unset to use AWS_REGION or the region of the AWS profile.`,
    );
  }
  const failoverTimeMs = durationMs('failoverTimeMs', options.failoverTimeMs, 10_000);
  if (failoverTimeMs < MIN_FAILOVER_MS) {
    throw new KinesisWorkerConfigError(
      'failoverTimeMs',
      `${failoverTimeMs} ms is too short: leases are renewed every failoverTimeMs / 3 - 25 ms, so one slow DynamoDB call would lose them. Use at least ${MIN_FAILOVER_MS} (the KCL default is 10000).`,
    );
  }
  const maxRecords = positiveInt('maxRecords', options.maxRecords, 10_000);
  if (maxRecords > 10_000) {
    throw new KinesisWorkerConfigError('maxRecords', `GetRecords returns at most 10000 records per call, got ${maxRecords}.`);
  }
  const leaseRenewalIntervalMs = durationMs(
    'leaseRenewalIntervalMs',
    options.leaseRenewalIntervalMs,
    Math.max(1, Math.floor(failoverTimeMs / 3) - 25),
  );
  if (leaseRenewalIntervalMs * 2 > failoverTimeMs) {
    throw new KinesisWorkerConfigError(
      'leaseRenewalIntervalMs',
      `${leaseRenewalIntervalMs} ms must be at most half of failoverTimeMs (${failoverTimeMs}), or one late renewal lets the lease expire and another worker takes it; leave it unset for failoverTimeMs / 3 - 25.`,
    );
  }
  if (options.workerId !== undefined && (typeof options.workerId !== 'string' || options.workerId === '')) {
    throw new KinesisWorkerConfigError('workerId', 'expected a non-empty string unique to this process, or leave it unset.');
  }
  if (options.maxLeasesForWorker !== undefined) positiveInt('maxLeasesForWorker', options.maxLeasesForWorker, 1);
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
    throw new KinesisWorkerConfigError('onEvent', 'expected a function (event) => void.');
  }
  const workerId = options.workerId ?? defaultWorkerId();
  // Every line of the worker names its application and worker id, and its stream when it has only one
  // (a worker of several streams names the stream where a line is about one: consumed-streams.ts).
  const logger = withLogFields(options.logger ?? consoleLogger, {
    app: options.appName,
    worker: workerId,
    stream: streams.length === 1 ? streamName : undefined,
  });
  const listener = options.onEvent;
  // Found at start, not here: the shared config files are read asynchronously (worker-region.ts).
  const region = workerRegion(
    { region: options.region, clientRegion: options.kinesis?.region, profile: stringOrUndefined(options.kinesis?.profile) },
    logger,
  );
  return {
    engine,
    appName: options.appName,
    tableName,
    streamName,
    streams,
    multiStream,
    region,
    initialPosition,
    failoverTimeMs,
    maxRecords,
    idleTimeBetweenReadsMs: durationMs('idleTimeBetweenReadsMs', options.idleTimeBetweenReadsMs, 1500, { allowZero: true }),
    retrieval: resolveRetrieval(options.retrieval, options.appName, streams),
    workerId,
    kinesis: options.kinesis ?? {},
    dynamodb: options.dynamodb ?? {},
    leaseRenewalIntervalMs,
    leaseTakerIntervalMs: durationMs('leaseTakerIntervalMs', options.leaseTakerIntervalMs, (failoverTimeMs + 25) * 2),
    shardSyncIntervalMs: durationMs('shardSyncIntervalMs', options.shardSyncIntervalMs, 60_000),
    parentShardPollIntervalMs: durationMs('parentShardPollIntervalMs', options.parentShardPollIntervalMs, 10_000),
    maxLeasesForWorker: options.maxLeasesForWorker ?? Number.MAX_SAFE_INTEGER,
    maxLeasesToStealAtOneTime: positiveInt('maxLeasesToStealAtOneTime', options.maxLeasesToStealAtOneTime, 1),
    cleanupLeasesUponShardCompletion: options.cleanupLeasesUponShardCompletion ?? true,
    checkpointRetry: retryPolicy('checkpointRetry', options.checkpointRetry, { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 5_000 }),
    processingRetry: retryPolicy('processingRetry', options.processingRetry, {
      maxAttempts: Infinity,
      baseDelayMs: 500,
      maxDelayMs: 30_000,
    }),
    shutdownTimeoutMs: durationMs('shutdownTimeoutMs', options.shutdownTimeoutMs, 30_000),
    processingTimeoutMs: durationMs('processingTimeoutMs', options.processingTimeoutMs, Infinity, { allowInfinity: true }),
    maxGetRecordsPerSecond: positiveNumber('maxGetRecordsPerSecond', options.maxGetRecordsPerSecond, 5),
    autoCheckpoint: autoCheckpoint(options.autoCheckpoint),
    meterProvider: options.meterProvider,
    concurrency: resolveConcurrency(options.concurrency, engine),
    onFailedBatch: optionalFunction('onFailedBatch', options.onFailedBatch, 'async ({ shardId, records, error }) => { /* store them */ }'),
    onFailedRecord: optionalFunction('onFailedRecord', options.onFailedRecord, 'async ({ shardId, record, error }) => { /* store it */ }'),
    failurePolicy: resolveFailurePolicy(options.failurePolicy, engine, options),
    coordinatorStateTableName,
    workerMetricsTableName,
    workerMetricsReporterFreqMs: durationMs('workerMetricsReporterFreqMs', options.workerMetricsReporterFreqMs, 30_000),
    clientVersionPollIntervalMs: durationMs('clientVersionPollIntervalMs', options.clientVersionPollIntervalMs, 60_000),
    gracefulLeaseHandoffTimeoutMs: durationMs('gracefulLeaseHandoffTimeoutMs', options.gracefulLeaseHandoffTimeoutMs, 30_000, {
      allowZero: true,
    }),
    kcl3LeaderEligible: booleanOption('kcl3LeaderEligible', options.kcl3LeaderEligible, true),
    leaderLockLeaseDurationMs: leaderLockLeaseDuration(options.leaderLockLeaseDurationMs),
    leaseAssignmentIntervalMs: durationMs('leaseAssignmentIntervalMs', options.leaseAssignmentIntervalMs, 2 * failoverTimeMs),
    staleWorkerMetricsCleanupMs: durationMs('staleWorkerMetricsCleanupMs', options.staleWorkerMetricsCleanupMs, 86_400_000),
    logger,
    emit: (event, eventStream = streamName) => {
      if (!listener) return;
      try {
        listener({ ...event, workerId, streamName: eventStream });
      } catch (error) {
        logger.warn(`onEvent listener threw on ${event.type}: ${String(error)}`);
      }
    },
  };
}
