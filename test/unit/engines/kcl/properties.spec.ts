/* eslint-disable @typescript-eslint/require-await -- async credential and endpoint providers that answer at once */
import { KinesisWorkerConfigError } from '../../../../lib';
import { resolveWorkerOptions } from '../../../../lib/core/resolve-options';
import type { StreamWorkerOptions } from '../../../../lib/core/options';
import { daemonConfig, endpointUrl, formatProperties } from '../../../../lib/engines/kcl/properties';
import { resolveKclOptions } from '../../../../lib/engines/kcl/kcl-options';

/** What createWorker does: the common options, then the kcl section (validated whatever the engine). */
function resolveBoth(options: StreamWorkerOptions) {
  const resolved = resolveWorkerOptions(options);
  return { resolved, kcl: resolveKclOptions(options, resolved) };
}

const silent = { log() {}, warn() {}, error() {} };
const base: StreamWorkerOptions = {
  engine: 'kcl',
  appName: 'orders-app',
  streamName: 'orders',
  region: 'eu-west-1',
  workerId: 'host:1:abc',
  logger: silent,
};

async function config(options: Partial<StreamWorkerOptions> = {}) {
  const { resolved, kcl } = resolveBoth({ ...base, ...options });
  return daemonConfig(resolved, kcl, '/usr/bin/node /tmp/run/relay.js');
}

function configError(options: Partial<StreamWorkerOptions>): KinesisWorkerConfigError {
  try {
    resolveBoth({ ...base, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    return error as KinesisWorkerConfigError;
  }
  throw new Error('expected a config error');
}

describe('MultiLangDaemon properties from the module options', () => {
  it('maps every consumer option onto the KCL 2.7.2 property names (which 3.x reads too), with the engine defaults', async () => {
    const { properties, env, warnings } = await config();
    expect(properties).toEqual({
      clientVersionConfig: 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X',
      coordinatorStateTableName: 'orders-app-CoordinatorState',
      workerMetricsTableName: 'orders-app-WorkerMetricStats',
      workerMetricsReporterFreqInMillis: '30000',
      gracefulLeaseHandoffTimeoutMillis: '30000',
      leaseAssignmentIntervalMillis: '20000',
      executableName: '/usr/bin/node /tmp/run/relay.js',
      streamName: 'orders',
      applicationName: 'orders-app',
      tableName: 'orders-app',
      workerId: 'host:1:abc',
      regionName: 'eu-west-1',
      AwsCredentialsProvider: 'DefaultCredentialsProvider',
      AwsCredentialsProviderDynamoDB: 'DefaultCredentialsProvider',
      AwsCredentialsProviderCloudWatch: 'DefaultCredentialsProvider',
      initialPositionInStream: 'TRIM_HORIZON',
      failoverTimeMillis: '10000',
      maxRecords: '10000',
      idleTimeBetweenReadsInMillis: '1500',
      shardSyncIntervalMillis: '60000',
      parentShardPollIntervalMillis: '10000',
      maxLeasesForWorker: '2147483647',
      maxLeasesToStealAtOneTime: '1',
      cleanupLeasesUponShardCompletion: 'true',
      retrievalMode: 'POLLING',
      metricsLevel: 'NONE',
      shutdownGraceMillis: '15000',
    });
    expect(env).toEqual({});
    expect(warnings).toEqual([]);
  });

  it('a timestamp start is initialPositionInStreamExtended in whole epoch seconds, rounded down (the daemon parses seconds)', async () => {
    const { properties } = await config({ initialPosition: { timestamp: new Date('2026-01-31T12:00:00.900Z') } });
    expect(properties.initialPositionInStreamExtended).toBe(String(Date.parse('2026-01-31T12:00:00Z') / 1000));
    expect(properties).not.toHaveProperty('initialPositionInStream');
  });

  it('passes times, positions, table and endpoints through, and shutdownGraceMillis follows failoverTimeMs', async () => {
    const { properties } = await config({
      tableName: 'leases',
      initialPosition: 'LATEST',
      failoverTimeMs: 4000,
      maxRecords: 500,
      idleTimeBetweenReadsMs: 0,
      maxLeasesForWorker: 3,
      cleanupLeasesUponShardCompletion: false,
      kinesis: { endpoint: 'http://127.0.0.1:4567' },
      dynamodb: { endpoint: new URL('http://127.0.0.1:8000') as never },
    });
    expect(properties).toMatchObject({
      tableName: 'leases',
      initialPositionInStream: 'LATEST',
      failoverTimeMillis: '4000',
      shutdownGraceMillis: '9000',
      maxRecords: '500',
      idleTimeBetweenReadsInMillis: '0',
      maxLeasesForWorker: '3',
      cleanupLeasesUponShardCompletion: 'false',
      kinesisEndpoint: 'http://127.0.0.1:4567',
      dynamoDBEndpoint: 'http://127.0.0.1:8000/',
    });
  });

  it('hands static credentials to the JVM through its environment, never through the properties file', async () => {
    const credentials = { accessKeyId: 'AKIA1', secretAccessKey: 'secret', sessionToken: 'token' };
    const { properties, env } = await config({ kinesis: { credentials }, dynamodb: { credentials } });
    expect(properties.AwsCredentialsProvider).toBe('EnvironmentVariableCredentialsProvider');
    expect(properties.AwsCredentialsProviderDynamoDB).toBe('EnvironmentVariableCredentialsProvider');
    expect(env).toEqual({ AWS_ACCESS_KEY_ID: 'AKIA1', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token' });
    expect(JSON.stringify(properties)).not.toContain('secret');
  });

  it('refuses two different static credentials, and warns that a provider function cannot reach the JVM', async () => {
    await expect(
      config({
        kinesis: { credentials: { accessKeyId: 'a', secretAccessKey: 'b' } },
        dynamodb: { credentials: { accessKeyId: 'c', secretAccessKey: 'd' } },
      }),
    ).rejects.toThrow(/one set of static credentials/);
    const { properties, warnings } = await config({ kinesis: { credentials: async () => ({ accessKeyId: 'a', secretAccessKey: 'b' }) } });
    expect(properties.AwsCredentialsProvider).toBe('DefaultCredentialsProvider');
    expect(warnings[0]).toMatch(/kinesis.credentials is a credentials provider function/);
  });

  it('warns about a local https Kinesis endpoint: the Java client speaks HTTP/2 only', async () => {
    const { warnings } = await config({ kinesis: { endpoint: 'https://127.0.0.1:4568' } });
    expect(warnings[0]).toMatch(/HTTP\/2 only.*h2c/);
  });

  it('turns every SDK endpoint form into a URL', async () => {
    expect(await endpointUrl('e', 'http://a:1')).toBe('http://a:1');
    expect(await endpointUrl('e', { protocol: 'http:', hostname: 'b', port: 2, path: '/' })).toBe('http://b:2/');
    expect(await endpointUrl('e', { url: new URL('https://c/') })).toBe('https://c/');
    expect(await endpointUrl('e', async () => 'http://d:4')).toBe('http://d:4');
    expect(await endpointUrl('e', undefined)).toBeUndefined();
    await expect(endpointUrl('kinesis.endpoint', 42)).rejects.toThrow(/'kinesis.endpoint'/);
  });

  it('adds kcl.properties verbatim, and may override the credentials providers', async () => {
    const { properties } = await config({
      kcl: {
        properties: {
          timeoutInSeconds: 300,
          AwsCredentialsProvider: 'ProfileCredentialsProvider',
          validateSequenceNumberBeforeCheckpointing: false,
        },
      },
    });
    expect(properties).toMatchObject({
      timeoutInSeconds: '300',
      AwsCredentialsProvider: 'ProfileCredentialsProvider',
      validateSequenceNumberBeforeCheckpointing: 'false',
    });
  });
});

describe('KCL 3.x properties', () => {
  it('a 3.x line starts in the mode native workers may share (COMPATIBLE_WITH_2X); kcl.properties may choose 3.x mode; 2.x gets no such key', async () => {
    expect((await config({ kcl: { version: '3.1.3' } })).properties.clientVersionConfig).toBe('CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X');
    expect(
      (await config({ kcl: { version: '3.1.3', properties: { clientVersionConfig: 'CLIENT_VERSION_CONFIG_3X' } } })).properties
        .clientVersionConfig,
    ).toBe('CLIENT_VERSION_CONFIG_3X');
    expect((await config({ kcl: { version: '2.7.2' } })).properties.clientVersionConfig).toBeUndefined();
  });

  it('the KCL 3.x table names and timings of the shared options reach a 3.x daemon under its own property names; a 2.x daemon gets none of them', async () => {
    const shared = {
      coordinatorStateTableName: 'fleet-state',
      workerMetricsTableName: 'fleet-metrics',
      workerMetricsReporterFreqMs: 5000,
      gracefulLeaseHandoffTimeoutMs: 0,
      leaseAssignmentIntervalMs: 2500,
    };
    expect((await config({ ...shared, kcl: { version: '3.1.3' } })).properties).toMatchObject({
      coordinatorStateTableName: 'fleet-state',
      workerMetricsTableName: 'fleet-metrics',
      workerMetricsReporterFreqInMillis: '5000',
      gracefulLeaseHandoffTimeoutMillis: '0',
      leaseAssignmentIntervalMillis: '2500',
    });
    const old = (await config({ ...shared, kcl: { version: '2.7.2' } })).properties;
    for (const key of [
      'coordinatorStateTableName',
      'workerMetricsTableName',
      'workerMetricsReporterFreqInMillis',
      'gracefulLeaseHandoffTimeoutMillis',
      'leaseAssignmentIntervalMillis',
    ])
      expect(old[key]).toBeUndefined();
  });
});

describe('the kcl option section', () => {
  it('fills in defaults: KCL 3.1.3, jars in <cwd>/.kcl/jars-3.1.3, java from JAVA_HOME or the PATH, no metrics, polling', () => {
    const saved = { jars: process.env.KCL_JARS_DIR, home: process.env.JAVA_HOME, version: process.env.KCL_VERSION };
    delete process.env.KCL_JARS_DIR;
    delete process.env.KCL_VERSION;
    process.env.JAVA_HOME = '/opt/jdk';
    try {
      expect(resolveBoth(base).kcl).toEqual({
        version: '3.1.3',
        jarsDir: `${process.cwd()}/.kcl/jars-3.1.3`,
        javaPath: '/opt/jdk/bin/java',
        javaOptions: [],
        shutdownGraceMs: 15000,
        stopTimeoutMs: 25000,
        startTimeoutMs: 120000,
        metricsLevel: 'NONE',
        retrievalMode: 'POLLING',
        logLevel: 'INFO',
        properties: {},
      });
    } finally {
      if (saved.jars === undefined) delete process.env.KCL_JARS_DIR;
      else process.env.KCL_JARS_DIR = saved.jars;
      if (saved.home === undefined) delete process.env.JAVA_HOME;
      else process.env.JAVA_HOME = saved.home;
      if (saved.version !== undefined) process.env.KCL_VERSION = saved.version;
    }
  });

  it('a KCL 3.x line finds its jars next to the 2.x ones (<base>-<version>); KCL_VERSION sets the default line', () => {
    const saved = { jars: process.env.KCL_JARS_DIR, version: process.env.KCL_VERSION };
    process.env.KCL_JARS_DIR = '/cache/jars';
    delete process.env.KCL_VERSION;
    try {
      expect(resolveBoth({ ...base, kcl: { version: '3.1.3' } }).kcl).toMatchObject({ version: '3.1.3', jarsDir: '/cache/jars-3.1.3' });
      expect(resolveBoth({ ...base, kcl: { version: '2.7.2' } }).kcl).toMatchObject({ version: '2.7.2', jarsDir: '/cache/jars' });
      expect(resolveBoth({ ...base, kcl: { version: '3.1.3', jarsDir: '/mine' } }).kcl).toMatchObject({ jarsDir: '/mine' });
      process.env.KCL_VERSION = '3.1.3';
      expect(resolveBoth(base).kcl).toMatchObject({ version: '3.1.3', jarsDir: '/cache/jars-3.1.3' });
      process.env.KCL_VERSION = 'latest';
      expect(configError({}).option).toBe('KCL_VERSION');
    } finally {
      if (saved.jars === undefined) delete process.env.KCL_JARS_DIR;
      else process.env.KCL_JARS_DIR = saved.jars;
      if (saved.version === undefined) delete process.env.KCL_VERSION;
      else process.env.KCL_VERSION = saved.version;
    }
  });

  it.each([
    [{ kcl: { metricsLevel: 'ALL' } }, 'kcl.metricsLevel', /'NONE', 'SUMMARY', 'DETAILED'/],
    [{ kcl: { retrievalMode: 'DEFAULT' } }, 'kcl.retrievalMode', /'POLLING', 'FANOUT'/],
    [{ kcl: { shutdownGraceMs: 0 } }, 'kcl.shutdownGraceMs', /whole number > 0/],
    [{ kcl: { javaOptions: '-Xmx1g' } }, 'kcl.javaOptions', /array of JVM options/],
    [{ kcl: { jarsDir: '' } }, 'kcl.jarsDir', /non-empty string/],
    [{ kcl: { version: '3' } }, 'kcl.version', /such as '3\.1\.3' or '2\.7\.2'/],
    [{ kcl: { version: '1.14.0' } }, 'kcl.version', /2\.x or 3\.x/],
    [{ kcl: { properties: { streamName: 'other' } } }, 'kcl.properties', /'streamName' is set by the engine from the stream/],
    [{ kcl: { properties: { failoverTimeMillis: 1 } } }, 'kcl.properties', /from failoverTimeMs; set that instead/],
    [{ kcl: { properties: { StreamName: 'other' } } }, 'kcl.properties', /'StreamName' is set by the engine/],
    [{ kcl: { properties: { 'bad key': 1 } } }, 'kcl.properties', /not a MultiLangDaemon property name/],
    [{ kcl: { properties: { timeoutInSeconds: 'a\nb' } } }, 'kcl.properties', /line break/],
    [{ leaseTakerIntervalMs: 500 }, 'leaseTakerIntervalMs', /cannot honour it: the Java KCL derives it from failoverTimeMs/],
    [{ leaseRenewalIntervalMs: 500 }, 'leaseRenewalIntervalMs', /cannot honour it/],
  ])('refuses %j, naming %s', (options, option, message) => {
    const error = configError(options as Partial<StreamWorkerOptions>);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
  });

  it('lets the native engine keep its lease intervals, and validates the kcl section there too', () => {
    expect(resolveWorkerOptions({ ...base, engine: 'native', leaseTakerIntervalMs: 500 }).leaseTakerIntervalMs).toBe(500);
    expect(configError({ engine: 'native', kcl: { metricsLevel: 'X' as never } }).option).toBe('kcl.metricsLevel');
  });
});

describe('formatProperties', () => {
  it('escapes what java.util.Properties.load would read differently', () => {
    const text = formatProperties(
      { plain: 'a b', lead: ' x', path: 'C:\\dir', 'k:e=y': 'v=1:2#!', uni: 'é€', tab: 'a\tb' },
      'header\nline',
    );
    expect(text).toBe(
      [
        '# header',
        '# line',
        'plain = a b',
        'lead = \\ x',
        'path = C:\\\\dir',
        'k\\:e\\=y = v=1:2#!',
        'uni = \\u00e9\\u20ac',
        'tab = a\\tb',
        '',
      ].join('\n'),
    );
  });
});
