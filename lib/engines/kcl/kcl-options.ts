import { join } from 'node:path';
import { KinesisWorkerConfigError } from '../../core/errors';
import {
  KCL_LOG_LEVELS,
  KCL_METRICS_LEVELS,
  KCL_RETRIEVAL_MODES,
  type KclEngineOptions,
  type KclRetrievalMode,
  type ResolvedKclEngineOptions,
  type ResolvedWorkerOptions,
  type RetrievalMode,
  type StreamWorkerOptions,
} from '../../core/options';
import { positiveInt } from '../../core/resolve-options';
import { KCL_DEFAULT_VERSION, defaultJarsDir } from './kcl-lines';

/**
 * MultiLangDaemon properties that a common option (or the engine itself) sets: `kcl.properties` may not
 * set them. The credentials provider keys are left open on purpose.
 */
export const KCL_MANAGED_PROPERTIES: Readonly<Record<string, string>> = {
  executableName: 'the engine (its relay)',
  streamName: 'the stream of @KinesisProcessor / createWorker',
  streamArn: 'the stream of @KinesisProcessor / createWorker',
  applicationName: 'appName',
  tableName: 'tableName',
  workerId: 'workerId',
  workerIdentifier: 'workerId',
  regionName: 'region',
  initialPositionInStream: 'initialPosition',
  initialPositionInStreamExtended: 'initialPosition',
  failoverTimeMillis: 'failoverTimeMs',
  maxRecords: 'maxRecords',
  idleTimeBetweenReadsInMillis: 'idleTimeBetweenReadsMs',
  kinesisEndpoint: 'kinesis.endpoint',
  dynamoDBEndpoint: 'dynamodb.endpoint',
  shardSyncIntervalMillis: 'shardSyncIntervalMs',
  parentShardPollIntervalMillis: 'parentShardPollIntervalMs',
  maxLeasesForWorker: 'maxLeasesForWorker',
  maxLeasesToStealAtOneTime: 'maxLeasesToStealAtOneTime',
  cleanupLeasesUponShardCompletion: 'cleanupLeasesUponShardCompletion',
  shutdownGraceMillis: 'kcl.shutdownGraceMs',
  metricsLevel: 'kcl.metricsLevel',
  retrievalMode: 'kcl.retrievalMode (or retrieval.mode)',
  consumerName: 'retrieval.consumerName',
  consumerArn: 'retrieval.consumerArn',
};

const PROPERTY_KEY = /^[A-Za-z][A-Za-z0-9_.]*$/;

function oneOf<T extends string>(option: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new KinesisWorkerConfigError(option, `expected one of ${allowed.map((v) => `'${v}'`).join(', ')}, got ${JSON.stringify(value)}.`);
  }
  return value as T;
}

function nonEmptyString(option: string, value: unknown, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '')
    throw new KinesisWorkerConfigError(option, `expected a non-empty string, got ${JSON.stringify(value)}.`);
  return value;
}

/** kcl.version, else KCL_VERSION, else the default line: a plain x.y.z version (it names a Maven artifact and a directory). */
function kclVersion(value: unknown): string {
  const fromEnv = process.env.KCL_VERSION;
  const option = value === undefined && fromEnv ? 'KCL_VERSION' : 'kcl.version';
  const version = value ?? (fromEnv || KCL_DEFAULT_VERSION);
  if (typeof version !== 'string' || !/^\d+\.\d+\.\d+$/.test(version) || Number(version.split('.')[0]) < 2) {
    throw new KinesisWorkerConfigError(
      option,
      `expected a Java KCL version 2.x or 3.x such as '3.1.3' or '2.7.2', got ${JSON.stringify(version)}.`,
    );
  }
  return version;
}

/** The common options the Java KCL derives itself and so cannot take (it has no setting for them). */
function refuseDerivedIntervals(options: StreamWorkerOptions): void {
  for (const option of ['leaseRenewalIntervalMs', 'leaseTakerIntervalMs'] as const) {
    if (options[option] !== undefined) {
      throw new KinesisWorkerConfigError(
        option,
        `the 'kcl' engine cannot honour it: the Java KCL derives it from failoverTimeMs (renewal every failoverTimeMs / 3 - 25, taking every (failoverTimeMs + 25) * 2). Leave it unset with engine 'kcl'.`,
      );
    }
  }
}

/** kcl.properties, checked: property names, no key a common option sets, single-line values. */
function extraProperties(extra: unknown): Record<string, string> {
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) {
    throw new KinesisWorkerConfigError('kcl.properties', `expected an object of MultiLangDaemon properties, got ${JSON.stringify(extra)}.`);
  }
  const properties: Record<string, string> = {};
  for (const [key, value] of Object.entries(extra)) {
    if (!PROPERTY_KEY.test(key)) {
      throw new KinesisWorkerConfigError(
        'kcl.properties',
        `${JSON.stringify(key)} is not a MultiLangDaemon property name (letters, digits, _ and .).`,
      );
    }
    const managedKey = Object.keys(KCL_MANAGED_PROPERTIES).find((managed) => managed.toLowerCase() === key.toLowerCase());
    const managedBy = managedKey && KCL_MANAGED_PROPERTIES[managedKey];
    if (managedBy) {
      throw new KinesisWorkerConfigError('kcl.properties', `'${key}' is set by the engine from ${managedBy}; set that instead.`);
    }
    if (!['string', 'number', 'boolean'].includes(typeof value) || (typeof value === 'number' && !Number.isFinite(value))) {
      throw new KinesisWorkerConfigError(
        'kcl.properties',
        `'${key}' must be a string, a finite number or a boolean, got ${JSON.stringify(value)}.`,
      );
    }
    const text = String(value);
    if (/[\r\n]/.test(text)) throw new KinesisWorkerConfigError('kcl.properties', `'${key}' must not contain a line break.`);
    properties[key] = text;
  }
  return properties;
}

/** kcl.retrievalMode, else what the common retrieval.mode says; the two must not disagree. */
function kclRetrievalMode(value: unknown, common: RetrievalMode | undefined): KclRetrievalMode {
  const fromCommon: KclRetrievalMode = common === 'fanout' ? 'FANOUT' : 'POLLING';
  const mode = oneOf('kcl.retrievalMode', value, KCL_RETRIEVAL_MODES, fromCommon);
  if (value !== undefined && common !== undefined && mode !== fromCommon) {
    throw new KinesisWorkerConfigError(
      'kcl.retrievalMode',
      `is ${mode}, but retrieval.mode is '${common}'; set only retrieval.mode (the kcl engine maps 'fanout' to FANOUT and 'polling' to POLLING).`,
    );
  }
  return mode;
}

/**
 * The kcl section with its defaults. createWorker validates it whatever the engine, so that a typo
 * fails at bootstrap even while the application still runs the native engine.
 */
export function resolveKclOptions(
  options: StreamWorkerOptions,
  resolved: Pick<ResolvedWorkerOptions, 'engine' | 'failoverTimeMs'>,
): ResolvedKclEngineOptions {
  const kcl: KclEngineOptions = options.kcl ?? {};
  if (typeof kcl !== 'object' || kcl === null || Array.isArray(kcl)) {
    throw new KinesisWorkerConfigError('kcl', `expected an object such as { jarsDir: '.kcl/jars' }, got ${JSON.stringify(kcl)}.`);
  }
  if (resolved.engine === 'kcl') refuseDerivedIntervals(options);
  const javaOptions = kcl.javaOptions ?? [];
  if (!Array.isArray(javaOptions) || javaOptions.some((o) => typeof o !== 'string' || o === '')) {
    throw new KinesisWorkerConfigError(
      'kcl.javaOptions',
      `expected an array of JVM options such as ['-Xmx256m'], got ${JSON.stringify(javaOptions)}.`,
    );
  }
  const shutdownGraceMs = positiveInt('kcl.shutdownGraceMs', kcl.shutdownGraceMs, resolved.failoverTimeMs + 5_000);
  const properties = extraProperties(kcl.properties ?? {});
  const javaHome = process.env.JAVA_HOME;
  const version = kclVersion(kcl.version);
  return {
    version,
    jarsDir: nonEmptyString(
      'kcl.jarsDir',
      kcl.jarsDir,
      defaultJarsDir(version, process.env.KCL_JARS_DIR || join(process.cwd(), '.kcl', 'jars')),
    ),
    javaPath: nonEmptyString('kcl.javaPath', kcl.javaPath, javaHome ? join(javaHome, 'bin', 'java') : 'java'),
    javaOptions,
    shutdownGraceMs,
    stopTimeoutMs: positiveInt('kcl.stopTimeoutMs', kcl.stopTimeoutMs, shutdownGraceMs + 10_000),
    startTimeoutMs: positiveInt('kcl.startTimeoutMs', kcl.startTimeoutMs, 120_000),
    metricsLevel: oneOf('kcl.metricsLevel', kcl.metricsLevel, KCL_METRICS_LEVELS, 'NONE'),
    retrievalMode: kclRetrievalMode(kcl.retrievalMode, options.retrieval?.mode),
    logLevel: oneOf('kcl.logLevel', kcl.logLevel, KCL_LOG_LEVELS, 'INFO'),
    properties,
  };
}
