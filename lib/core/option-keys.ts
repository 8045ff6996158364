import { KinesisWorkerConfigError } from './errors';
import type { FailurePolicyOptions } from './failure-policy-options';
import type { ConcurrencyOptions, KclEngineOptions, RetrievalOptions, StreamWorkerOptions } from './options';
import type { RetryPolicy } from './retry-policy';

/**
 * The closed sets of option keys, checked at bootstrap so that a misspelt key (`failovertimeMs`,
 * `kcl.verison`) is an error naming the nearest valid one instead of a setting silently ignored.
 * Each set is a Record over the option type's keys: adding an option without listing it here fails
 * the type check. The objects handed to the AWS SDK (`kinesis`, `dynamodb`, `retrieval.requestHandler`)
 * and `kcl.properties` (MultiLangDaemon properties, checked by the kcl engine) are open: not checked here.
 */
const WORKER_KEYS: Record<keyof StreamWorkerOptions, true> = {
  engine: true,
  appName: true,
  tableName: true,
  region: true,
  initialPosition: true,
  failoverTimeMs: true,
  maxRecords: true,
  idleTimeBetweenReadsMs: true,
  retrieval: true,
  workerId: true,
  kinesis: true,
  dynamodb: true,
  leaseRenewalIntervalMs: true,
  leaseTakerIntervalMs: true,
  shardSyncIntervalMs: true,
  parentShardPollIntervalMs: true,
  maxLeasesForWorker: true,
  maxLeasesToStealAtOneTime: true,
  cleanupLeasesUponShardCompletion: true,
  checkpointRetry: true,
  processingRetry: true,
  shutdownTimeoutMs: true,
  processingTimeoutMs: true,
  maxGetRecordsPerSecond: true,
  autoCheckpoint: true,
  onFailedBatch: true,
  onFailedRecord: true,
  failurePolicy: true,
  concurrency: true,
  meterProvider: true,
  logger: true,
  onEvent: true,
  coordinatorStateTableName: true,
  workerMetricsTableName: true,
  workerMetricsReporterFreqMs: true,
  clientVersionPollIntervalMs: true,
  gracefulLeaseHandoffTimeoutMs: true,
  kcl3LeaderEligible: true,
  leaderLockLeaseDurationMs: true,
  leaseAssignmentIntervalMs: true,
  staleWorkerMetricsCleanupMs: true,
  multiStream: true,
  kcl: true,
  streamName: true,
  streams: true,
};

/** The worker options (what createWorker takes), streamName and streams included. */
export const WORKER_OPTION_KEYS: readonly string[] = Object.keys(WORKER_KEYS);

/** Those only createWorker takes: with Nest, the stream is the @KinesisProcessor's. */
export const STREAM_OPTION_KEYS: readonly string[] = ['streamName', 'streams'];

const KCL_KEYS: Record<keyof KclEngineOptions, true> = {
  version: true,
  jarsDir: true,
  javaPath: true,
  javaOptions: true,
  shutdownGraceMs: true,
  stopTimeoutMs: true,
  startTimeoutMs: true,
  metricsLevel: true,
  retrievalMode: true,
  logLevel: true,
  properties: true,
};

const RETRY_KEYS: Record<keyof RetryPolicy, true> = { maxAttempts: true, baseDelayMs: true, maxDelayMs: true };

export const RETRIEVAL_KEYS: readonly string[] = Object.keys({
  mode: true,
  consumerName: true,
  consumerArn: true,
  requestHandler: true,
  subscribeTimeoutMs: true,
  wireFormat: true,
  maxBufferedRecords: true,
  maxBufferedBytes: true,
} satisfies Record<keyof RetrievalOptions, true>);

export const CONCURRENCY_KEYS: readonly string[] = Object.keys({
  maxInFlightPerShard: true,
  ordering: true,
  maxInFlightRecords: true,
  maxInFlightBytes: true,
} satisfies Record<keyof ConcurrencyOptions, true>);

const FAILURE_POLICY_KEYS: readonly string[] = Object.keys({
  maxRetryAttempts: true,
  maxRecordAgeMs: true,
  bisectBatchOnError: true,
  shedRecordsOlderThanMs: true,
  shedTo: true,
} satisfies Record<keyof FailurePolicyOptions, true>);

const AUTO_CHECKPOINT_KEYS = ['everyRecords', 'everyMs'];
const TIMESTAMP_POSITION_KEYS = ['timestamp'];

/** Distance between two keys, ignoring case: insertions, deletions, substitutions and swaps of neighbours count one each. */
function distance(a: string, b: string): number {
  const [s, t] = [a.toLowerCase(), b.toLowerCase()];
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) => [i, ...Array<number>(t.length).fill(0)]);
  for (let j = 1; j <= t.length; j++) d[0][j] = j;
  for (let i = 1; i <= s.length; i++) {
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[s.length][t.length];
}

/** The valid key nearest to a misspelt one, when it is near enough to be the one meant. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const d = distance(key, name);
    if (!best || d < best.distance) best = { name, distance: d };
  }
  if (!best) return undefined;
  const tolerance = Math.max(2, Math.floor(Math.max(key.length, best.name.length) / 4));
  return best.distance <= tolerance ? best.name : undefined;
}

/**
 * Throws KinesisWorkerConfigError for the first key of `value` that is not in `known`, naming it with
 * its path and the nearest valid key ("did you mean failoverTimeMs?"), else listing the valid ones.
 * `where` tells the user where the key was given (e.g. "in KinesisWorkerModule.forRoot"); `hints`
 * gives a specific fix for known keys that are not valid at this place.
 */
export function rejectUnknownKeys(
  path: string,
  value: unknown,
  known: readonly string[],
  { where = '', hints = {} }: { where?: string; hints?: Readonly<Record<string, string>> } = {},
): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const option = path === '' ? key : `${path}.${key}`;
    const place = where === '' ? '' : ` ${where}`;
    const hint = hints[key];
    if (hint !== undefined) throw new KinesisWorkerConfigError(option, `is not an option${place}: ${hint}`);
    const near = nearestKey(key, known);
    const fix =
      near !== undefined
        ? `did you mean ${path === '' ? near : `${path}.${near}`}?`
        : `the valid ${path === '' ? 'options' : `${path} settings`} are ${[...known].sort().join(', ')}.`;
    throw new KinesisWorkerConfigError(option, `unknown option${place}; ${fix}`);
  }
}

/**
 * Every key of the worker options, at every level with a closed set of keys: the options themselves,
 * kcl, checkpointRetry, processingRetry, retrieval, autoCheckpoint, concurrency, failurePolicy and a timestamp initialPosition.
 * `known` replaces the top-level set (the Nest module adds its own keys, a processor has fewer).
 */
export function checkOptionKeys(
  options: object,
  {
    known = WORKER_OPTION_KEYS,
    where,
    hints,
  }: { known?: readonly string[]; where?: string; hints?: Readonly<Record<string, string>> } = {},
): void {
  rejectUnknownKeys('', options, known, { where, hints });
  const values = options as Partial<Record<keyof StreamWorkerOptions, unknown>>;
  rejectUnknownKeys('kcl', values.kcl, Object.keys(KCL_KEYS), { where });
  rejectUnknownKeys('checkpointRetry', values.checkpointRetry, Object.keys(RETRY_KEYS), { where });
  rejectUnknownKeys('processingRetry', values.processingRetry, Object.keys(RETRY_KEYS), { where });
  rejectUnknownKeys('retrieval', values.retrieval, RETRIEVAL_KEYS, { where });
  rejectUnknownKeys('autoCheckpoint', values.autoCheckpoint, AUTO_CHECKPOINT_KEYS, { where });
  rejectUnknownKeys('concurrency', values.concurrency, CONCURRENCY_KEYS, { where });
  rejectUnknownKeys('failurePolicy', values.failurePolicy, FAILURE_POLICY_KEYS, { where });
  rejectUnknownKeys('initialPosition', values.initialPosition, TIMESTAMP_POSITION_KEYS, { where });
}
