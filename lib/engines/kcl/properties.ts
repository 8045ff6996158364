import { KinesisWorkerConfigError } from '../../core/errors';
import { isTimestampPosition } from '../../core/initial-position';
import type { InitialPosition, ResolvedKclEngineOptions, ResolvedWorkerOptions } from '../../core/options';
import { isKcl3 } from './kcl-lines';

/** The MultiLangDaemon properties file, the environment the JVM needs for it, and what to warn about. */
export interface DaemonConfig {
  readonly properties: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string>>;
  readonly warnings: readonly string[];
}

type EndpointLike =
  string | URL | { url?: URL | string; protocol?: string; hostname?: string; port?: number; path?: string } | (() => unknown);

/** An SDK v3 `endpoint` setting as a URL string: a string, a URL, an Endpoint, an EndpointV2 or a provider of one. */
export async function endpointUrl(option: string, value: unknown): Promise<string | undefined> {
  if (value === undefined || value === null) return undefined;
  let endpoint = value as EndpointLike;
  if (typeof endpoint === 'function') endpoint = (await endpoint()) as EndpointLike;
  if (typeof endpoint === 'string') return endpoint;
  if (endpoint instanceof URL) return endpoint.toString();
  if (endpoint && typeof endpoint === 'object') {
    if ('url' in endpoint && endpoint.url) return String(endpoint.url);
    if (endpoint.hostname) {
      const protocol = (endpoint.protocol ?? 'https:').replace(/:?$/, ':');
      return `${protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.path ?? ''}`;
    }
  }
  throw new KinesisWorkerConfigError(
    option,
    `the 'kcl' engine passes the endpoint to the Java KCL as a URL; give it as a string such as 'http://127.0.0.1:4567'.`,
  );
}

interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

function staticCredentials(value: unknown): StaticCredentials | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const c = value as Partial<StaticCredentials>;
  return typeof c.accessKeyId === 'string' && typeof c.secretAccessKey === 'string' ? (c as StaticCredentials) : undefined;
}

const sameCredentials = (a: StaticCredentials, b: StaticCredentials) =>
  a.accessKeyId === b.accessKeyId && a.secretAccessKey === b.secretAccessKey && a.sessionToken === b.sessionToken;

/**
 * Maps the resolved options onto MultiLangDaemon properties (KCL 2.7.2 names, which 3.x reads too; the
 * daemon ignores unknown keys silently, so every key here is one it reads).
 */
export async function daemonConfig(
  options: ResolvedWorkerOptions,
  kcl: ResolvedKclEngineOptions,
  executableName: string,
): Promise<DaemonConfig> {
  const warnings: string[] = [];
  const env: Record<string, string> = {};
  const kinesisCredentials = staticCredentials(options.kinesis.credentials);
  const dynamoCredentials = staticCredentials(options.dynamodb.credentials);
  if (kinesisCredentials && dynamoCredentials && !sameCredentials(kinesisCredentials, dynamoCredentials)) {
    throw new KinesisWorkerConfigError(
      'dynamodb.credentials',
      `the 'kcl' engine hands one set of static credentials to the JVM, but kinesis.credentials and dynamodb.credentials differ. Use the same, or a credentials provider through kcl.properties.AwsCredentialsProviderDynamoDB.`,
    );
  }
  const credentials = kinesisCredentials ?? dynamoCredentials;
  let provider = 'DefaultCredentialsProvider';
  if (credentials) {
    // Static credentials reach the JVM through its environment, never through the properties file.
    provider = 'EnvironmentVariableCredentialsProvider';
    env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
    if (credentials.sessionToken) env.AWS_SESSION_TOKEN = credentials.sessionToken;
  } else {
    for (const [name, value] of [
      ['kinesis.credentials', options.kinesis.credentials],
      ['dynamodb.credentials', options.dynamodb.credentials],
    ] as const) {
      if (value !== undefined) {
        warnings.push(
          `${name} is a credentials provider function, which the JVM cannot call: the Java KCL uses the AWS SDK for Java's default chain (environment, profile, container or instance role). Set kcl.properties.AwsCredentialsProvider to choose another.`,
        );
      }
    }
  }
  const kinesisEndpoint = await endpointUrl('kinesis.endpoint', options.kinesis.endpoint);
  const dynamoEndpoint = await endpointUrl('dynamodb.endpoint', options.dynamodb.endpoint);
  if (kinesisEndpoint?.startsWith('https:') && /\/\/(127\.0\.0\.1|localhost)[:/]/.test(kinesisEndpoint)) {
    warnings.push(
      `kinesis.endpoint ${kinesisEndpoint} is a local TLS endpoint: the Java Kinesis client speaks HTTP/2 only, and kinesis-local's TLS port does not offer it (connections are reset). Use its plain port over http:// (h2c).`,
    );
  }
  const properties: Record<string, string> = {
    executableName,
    streamName: options.streamName,
    applicationName: options.appName,
    tableName: options.tableName,
    workerId: options.workerId,
    regionName: await options.region(),
    AwsCredentialsProvider: provider,
    AwsCredentialsProviderDynamoDB: provider,
    AwsCredentialsProviderCloudWatch: provider,
    ...initialPositionProperty(options.initialPosition),
    failoverTimeMillis: String(options.failoverTimeMs),
    maxRecords: String(options.maxRecords),
    idleTimeBetweenReadsInMillis: String(options.idleTimeBetweenReadsMs),
    shardSyncIntervalMillis: String(options.shardSyncIntervalMs),
    parentShardPollIntervalMillis: String(options.parentShardPollIntervalMs),
    maxLeasesForWorker: String(Math.min(options.maxLeasesForWorker, 2_147_483_647)),
    maxLeasesToStealAtOneTime: String(options.maxLeasesToStealAtOneTime),
    cleanupLeasesUponShardCompletion: String(options.cleanupLeasesUponShardCompletion),
    retrievalMode: kcl.retrievalMode,
    // The daemon's FanoutConfig: the consumer it registers (by default the application name, like the native engine's).
    ...(kcl.retrievalMode === 'FANOUT' && options.retrieval.mode === 'fanout'
      ? {
          consumerName: options.retrieval.consumerName,
          ...(options.retrieval.consumerArn ? { consumerArn: options.retrieval.consumerArn } : {}),
        }
      : {}),
    metricsLevel: kcl.metricsLevel,
    // 0 (the daemon's default) means: no graceful shutdown, no shutdownRequested to the processors.
    shutdownGraceMillis: String(kcl.shutdownGraceMs),
    ...(kinesisEndpoint ? { kinesisEndpoint } : {}),
    ...(dynamoEndpoint ? { dynamoDBEndpoint: dynamoEndpoint } : {}),
    // KCL 3.x starts where native workers (and 2.x workers) may share the application: 2.x lease rules
    // until every lease owner publishes worker metrics, then the fleet moves itself to 3.x assignment.
    // kcl.properties.clientVersionConfig = CLIENT_VERSION_CONFIG_3X starts it in 3.x mode.
    ...(isKcl3(kcl.version) ? { clientVersionConfig: 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X', ...kcl3Properties(options) } : {}),
    ...kcl.properties,
  };
  return { properties, env, warnings };
}

/**
 * The KCL 3.x settings both engines share, under the 3.x daemon's property names (its
 * CoordinatorStateTableConfigBean, WorkerMetricStatsTableConfigBean, WorkerUtilizationAwareAssignmentConfigBean,
 * GracefulLeaseHandoffConfigBean and leaseAssignmentIntervalMillis), so one set of options describes one
 * application whichever engine runs it. The 2.x daemon has none of them.
 */
function kcl3Properties(options: ResolvedWorkerOptions): Record<string, string> {
  return {
    coordinatorStateTableName: options.coordinatorStateTableName,
    workerMetricsTableName: options.workerMetricsTableName,
    workerMetricsReporterFreqInMillis: String(options.workerMetricsReporterFreqMs),
    gracefulLeaseHandoffTimeoutMillis: String(options.gracefulLeaseHandoffTimeoutMs),
    leaseAssignmentIntervalMillis: String(options.leaseAssignmentIntervalMs),
  };
}

/** One escaped `key = value` line per property, as java.util.Properties.load reads them (ISO-8859-1). */
export function formatProperties(properties: Readonly<Record<string, string>>, header?: string): string {
  const lines = header ? header.split('\n').map((line) => `# ${line}`) : [];
  for (const [key, value] of Object.entries(properties)) lines.push(`${escapeProperty(key, true)} = ${escapeProperty(value, false)}`);
  return `${lines.join('\n')}\n`;
}

const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\f': '\\f' };

function escapeProperty(text: string, isKey: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const code = ch.charCodeAt(0);
    if (ESCAPES[ch]) out += ESCAPES[ch];
    // A leading space would be dropped; in a key, any space, = or : would end it.
    else if (ch === ' ' && (isKey || i === 0)) out += '\\ ';
    else if (isKey && '=:#!'.includes(ch)) out += `\\${ch}`;
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

/**
 * The daemon's start position. A timestamp goes in initialPositionInStreamExtended, which the 2.x and 3.x
 * MultiLangDaemonConfiguration parse as whole epoch seconds into AT_TIMESTAMP (initialPositionInStream
 * itself cannot say AT_TIMESTAMP: it would have no time). Rounded down, so nothing at or after it is missed.
 */
function initialPositionProperty(position: InitialPosition): Record<string, string> {
  if (isTimestampPosition(position)) return { initialPositionInStreamExtended: String(Math.floor(position.timestamp.getTime() / 1000)) };
  return { initialPositionInStream: position };
}
