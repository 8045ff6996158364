import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DeleteTableCommand, ListTablesCommand, type KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { Injectable, Module, type ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  createWorker,
  KinesisProcessor,
  KinesisWorkerConfigError,
  KinesisWorkerModule,
  type KinesisWorkerOptions,
  type StreamWorkerOptions,
} from '../../lib';
import { createStream, faults, startFaultProxy, type FaultProxy } from '../../lib/testing';
import { dynamoClient, endpoints, kinesisClient, uniqueName, workerClientOptions, tableActive } from '../support/aws';
import { Recorder, recordingProcessor } from '../support/recording-processor';

const kinesis = kinesisClient();
let stream: string;
beforeAll(async () => {
  stream = uniqueName('config');
  await createStream(kinesis, stream, 1);
});
afterAll(() => kinesis.destroy());

async function bootstrap(options: Partial<KinesisWorkerOptions>, processor: new (...args: never[]) => object): Promise<unknown> {
  const moduleRef = await Test.createTestingModule({
    imports: [KinesisWorkerModule.forRoot({ ...workerClientOptions(), ...options } as KinesisWorkerOptions)],
    providers: [Recorder, processor as never],
  }).compile();
  moduleRef.useLogger(false);
  try {
    await moduleRef.init();
  } catch (error) {
    return error;
  } finally {
    // A failed init makes close() reject with the same error again.
    await moduleRef.close().catch(() => undefined);
  }
  throw new Error('bootstrap succeeded, but it should have failed');
}

describe('bad configuration fails at bootstrap with a message naming the option', () => {
  it('a missing appName', async () => {
    const error = await bootstrap({}, recordingProcessor(stream));
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect((error as KinesisWorkerConfigError).option).toBe('appName');
    expect((error as Error).message).toMatch(/'appName'.*required/);
  });

  it('a processor with no stream', async () => {
    const error = await bootstrap({ appName: uniqueName('app') }, recordingProcessor(''));
    expect((error as KinesisWorkerConfigError).option).toBe('stream');
    expect((error as Error).message).toContain('RecordingProcessor');
  });

  it('a stream that does not exist', async () => {
    const error = await bootstrap({ appName: uniqueName('app') }, recordingProcessor('no-such-stream'));
    expect((error as KinesisWorkerConfigError).option).toBe('stream');
    expect((error as Error).message).toMatch(/'no-such-stream' does not exist/);
  });

  it('an unknown initialPosition', async () => {
    const error = await bootstrap({ appName: uniqueName('app'), initialPosition: 'OLDEST' as never }, recordingProcessor(stream));
    expect((error as KinesisWorkerConfigError).option).toBe('initialPosition');
    expect((error as Error).message).toContain("'TRIM_HORIZON' or 'LATEST'");
  });

  it('a processor class without processRecords', async () => {
    @KinesisProcessor(stream)
    class NotAProcessor {
      handle() {}
    }
    const error = await bootstrap({ appName: uniqueName('app') }, NotAProcessor);
    expect((error as KinesisWorkerConfigError).option).toBe('processor');
    expect((error as Error).message).toMatch(/NotAProcessor has neither processRecords.* nor processRecord\(record, context\)/);
  });

  it('a processor class with both processRecords and processRecord', async () => {
    @KinesisProcessor(stream)
    class BothProcessor {
      processRecords() {}
      processRecord() {}
    }
    const error = await bootstrap({ appName: uniqueName('app') }, BothProcessor);
    expect((error as KinesisWorkerConfigError).option).toBe('processor');
    expect((error as Error).message).toMatch(/BothProcessor has both processRecords and processRecord/);
  });

  it('a processRecord processor, or concurrency, with the kcl engine', async () => {
    @KinesisProcessor(stream)
    class PerRecordProcessor {
      processRecord() {}
    }
    const perRecord = await bootstrap({ appName: uniqueName('app'), engine: 'kcl' }, PerRecordProcessor);
    expect((perRecord as KinesisWorkerConfigError).option).toBe('processor');
    expect((perRecord as Error).message).toMatch(/PerRecordProcessor implements processRecord, which the kcl engine does not run/);
    const concurrency = await bootstrap(
      { appName: uniqueName('app'), engine: 'kcl', concurrency: { maxInFlightPerShard: 8 } },
      PerRecordProcessor,
    );
    expect((concurrency as KinesisWorkerConfigError).option).toBe('concurrency');
    expect((concurrency as Error).message).toMatch(/not supported by the kcl engine/);
  });

  // Processors of two streams and one appName share one multi-stream worker once multiStream: true says
  // so (multi-stream.e2e-spec.ts); without it, nothing is started and no table is touched.
  it('two processors of two streams on one lease table without multiStream: true', async () => {
    const appName = uniqueName('app');
    const other = uniqueName('other');
    const moduleRef = await Test.createTestingModule({
      imports: [KinesisWorkerModule.forRoot({ ...workerClientOptions(), appName })],
      providers: [Recorder, recordingProcessor(stream), recordingProcessor(other)],
    }).compile();
    moduleRef.useLogger(false);
    const error = await moduleRef.init().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    await moduleRef.close().catch(() => undefined);
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect((error as KinesisWorkerConfigError).option).toBe('multiStream');
    expect((error as Error).message).toContain(
      `RecordingProcessor (stream '${stream}') and RecordingProcessor (stream '${other}') share the lease table '${appName}'`,
    );
    expect((error as Error).message).toMatch(/Set multiStream: true in KinesisWorkerModule\.forRoot/);
    const dynamo = dynamoClient();
    const tables = await dynamo.send(new ListTablesCommand({})).finally(() => dynamo.destroy());
    expect(tables.TableNames).not.toContain(appName);
  });

  // Two processors of one stream in one application are a mistake.
  it('two processors of one stream in one application', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [KinesisWorkerModule.forRoot({ ...workerClientOptions(), appName: uniqueName('app') })],
      providers: [Recorder, recordingProcessor(stream), recordingProcessor(stream)],
    }).compile();
    moduleRef.useLogger(false);
    await expect(moduleRef.init()).rejects.toThrow(/both consume '.*' in the application of lease table/);
    await moduleRef.close().catch(() => undefined);
  });
});

/** Boots an app with these imports and providers; returns the error its init() failed with, or undefined once it started (and closed). */
async function boot(imports: ModuleMetadata['imports'], providers: ModuleMetadata['providers'] = []): Promise<unknown> {
  const moduleRef = await Test.createTestingModule({ imports, providers: [Recorder, ...(providers ?? [])] }).compile();
  moduleRef.useLogger(false);
  try {
    await moduleRef.init();
  } catch (error) {
    await moduleRef.close().catch(() => undefined);
    return error;
  }
  await moduleRef.close();
  return undefined;
}

function expectConfigError(error: unknown, option: string, message: RegExp): void {
  expect(error).toBeInstanceOf(KinesisWorkerConfigError);
  expect((error as KinesisWorkerConfigError).option).toBe(option);
  expect((error as Error).message).toMatch(message);
}

describe('a misspelt option key fails at bootstrap with the nearest valid name', () => {
  const moduleOptions = () => ({ ...workerClientOptions(), appName: uniqueName('keys-app') });

  it('forRoot, at the top level and in kcl (even with autoStart: false and the native engine)', async () => {
    const top = await boot(
      [KinesisWorkerModule.forRoot({ ...moduleOptions(), failovertimeMs: 5_000 } as KinesisWorkerOptions)],
      [recordingProcessor(stream)],
    );
    expectConfigError(
      top,
      'failovertimeMs',
      /unknown option in the KinesisWorkerModule options \(forRoot \/ forRootAsync\); did you mean failoverTimeMs\?/,
    );
    const kcl = await boot(
      [KinesisWorkerModule.forRoot({ ...moduleOptions(), autoStart: false, kcl: { verison: '3.1.3' } } as KinesisWorkerOptions)],
      [recordingProcessor(stream)],
    );
    expectConfigError(kcl, 'kcl.verison', /did you mean kcl\.version\?/);
    const retry = await boot([KinesisWorkerModule.forRoot({ ...moduleOptions(), processingRetry: { maxAttempt: 3 } } as never)]);
    expectConfigError(retry, 'processingRetry.maxAttempt', /did you mean processingRetry\.maxAttempts\?/);
  });

  it('forRootAsync with useFactory, useClass and useExisting', async () => {
    @Injectable()
    class TypoOptions {
      create() {
        return { ...moduleOptions(), shardSyncIntervalMillis: 1_000 } as KinesisWorkerOptions;
      }
    }
    @Module({ providers: [TypoOptions], exports: [TypoOptions] })
    class TypoOptionsModule {}

    const factory = await boot(
      [KinesisWorkerModule.forRootAsync({ useFactory: () => ({ ...moduleOptions(), idleTimeBetweenReadMs: 50 }) as KinesisWorkerOptions })],
      [recordingProcessor(stream)],
    );
    expectConfigError(factory, 'idleTimeBetweenReadMs', /did you mean idleTimeBetweenReadsMs\?/);
    const useClass = await boot([KinesisWorkerModule.forRootAsync({ useClass: TypoOptions })], [recordingProcessor(stream)]);
    expectConfigError(useClass, 'shardSyncIntervalMillis', /did you mean shardSyncIntervalMs\?/);
    const useExisting = await boot(
      [KinesisWorkerModule.forRootAsync({ imports: [TypoOptionsModule], useExisting: TypoOptions })],
      [recordingProcessor(stream)],
    );
    expectConfigError(useExisting, 'shardSyncIntervalMillis', /did you mean shardSyncIntervalMs\?/);
  });

  it('@KinesisProcessor({ ... }) options, naming the class; module-wide options there are refused with the fix', async () => {
    const typo = await boot([KinesisWorkerModule.forRoot(moduleOptions())], [recordingProcessor(stream, { maxRecord: 5 } as never)]);
    expectConfigError(typo, 'maxRecord', /in @KinesisProcessor\(\{ \.\.\. \}\) on RecordingProcessor; did you mean maxRecords\?/);
    const moduleWide = await boot([KinesisWorkerModule.forRoot(moduleOptions())], [recordingProcessor(stream, { region: 'eu-west-1' })]);
    expectConfigError(moduleWide, 'region', /is module-wide .*set it in KinesisWorkerModule\.forRoot, not on RecordingProcessor/);
  });

  it('createWorker (standalone)', () => {
    let error: unknown;
    try {
      createWorker(
        { ...workerClientOptions(), appName: 'keys-app', streamName: stream, leaseTakerInterval: 500 } as StreamWorkerOptions,
        () => ({
          processRecords() {},
        }),
      );
    } catch (caught) {
      error = caught;
    }
    expectConfigError(error, 'leaseTakerInterval', /did you mean leaseTakerIntervalMs\?/);
  });

  it("the module's own keys are accepted: isGlobal (forRoot, and returned by a forRootAsync factory) and autoStart", async () => {
    expect(
      await boot([KinesisWorkerModule.forRoot({ ...moduleOptions(), isGlobal: false, autoStart: false })], [recordingProcessor(stream)]),
    ).toBe(undefined);
    const fromFactory = await boot(
      [
        KinesisWorkerModule.forRootAsync({
          isGlobal: true,
          useFactory: () => ({ ...moduleOptions(), isGlobal: true, autoStart: false }) as KinesisWorkerOptions,
        }),
      ],
      [recordingProcessor(stream)],
    );
    expect(fromFactory).toBeUndefined();
  });
});

/** Starts a worker without Nest, as createWorker users do, and returns what start() rejected with. */
async function startFailure(options: Partial<StreamWorkerOptions>): Promise<KinesisWorkerConfigError> {
  const worker = createWorker(
    { ...workerClientOptions(), appName: uniqueName('app'), streamName: stream, failoverTimeMs: 3_000, ...options },
    () => ({ initialize() {}, processRecords() {}, shutdown() {} }),
  );
  try {
    await worker.start();
  } catch (error) {
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    return error as KinesisWorkerConfigError;
  } finally {
    await worker.stop();
  }
  throw new Error('start() succeeded, but it should have failed');
}

describe('an existing table that is not a KCL lease table', () => {
  const dynamo = dynamoClient();
  const tables: string[] = [];
  afterAll(async () => {
    for (const TableName of tables) await dynamo.send(new DeleteTableCommand({ TableName })).catch(() => undefined);
    dynamo.destroy();
  });

  async function foreignTable(keys: KeySchemaElement[]): Promise<string> {
    const TableName = uniqueName('foreign');
    tables.push(TableName);
    await dynamo.send(
      new CreateTableCommand({
        TableName,
        KeySchema: keys,
        AttributeDefinitions: keys.map((k) => ({ AttributeName: k.AttributeName!, AttributeType: 'S' })),
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await tableActive(dynamo, TableName);
    return TableName;
  }

  it("a hash key 'id' instead of 'leaseKey', named by tableName", async () => {
    const tableName = await foreignTable([{ AttributeName: 'id', KeyType: 'HASH' }]);
    const error = await startFailure({ tableName });
    expect(error.option).toBe('tableName');
    expect(error.message).toContain(`the table '${tableName}' exists but is not a KCL lease table`);
    expect(error.message).toMatch(/hash key 'leaseKey' \(type S\) alone/);
  });

  it('a range key besides leaseKey, named by appName when the table is the application name (Nest bootstrap)', async () => {
    const appName = await foreignTable([
      { AttributeName: 'leaseKey', KeyType: 'HASH' },
      { AttributeName: 'owner', KeyType: 'RANGE' },
    ]);
    const error = await bootstrap({ appName }, recordingProcessor(stream));
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect((error as KinesisWorkerConfigError).option).toBe('appName');
    expect((error as Error).message).toMatch(/is not a KCL lease table.*Choose another appName/);
  });
});

describe('timing options that cannot work', () => {
  it('a failoverTimeMs of 0', async () => {
    const error = await bootstrap({ appName: uniqueName('app'), failoverTimeMs: 0 }, recordingProcessor(stream));
    expect((error as KinesisWorkerConfigError).option).toBe('failoverTimeMs');
    expect((error as Error).message).toMatch(/whole number > 0/);
  });

  it('a negative failoverTimeMs on one processor (createWorker)', () => {
    expect(() => createWorker({ appName: 'x-app', streamName: stream, failoverTimeMs: -1 }, () => ({}) as never)).toThrow(
      /'failoverTimeMs'/,
    );
  });

  it('a lease renewal slower than half the failover time', async () => {
    const error = await bootstrap(
      { appName: uniqueName('app'), failoverTimeMs: 4_000, leaseRenewalIntervalMs: 3_000 },
      recordingProcessor(stream),
    );
    expect((error as KinesisWorkerConfigError).option).toBe('leaseRenewalIntervalMs');
    expect((error as Error).message).toMatch(/at most half of failoverTimeMs \(4000\)/);
  });
});

/** Sets environment variables for one test and puts the old values back. */
function withEnv(changes: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(changes).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(changes);
  return () => apply(saved);
}

describe('region and credentials', () => {
  let proxies: FaultProxy[] = [];
  afterEach(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    proxies = [];
  });
  async function proxy(target: string): Promise<FaultProxy> {
    const started = await startFaultProxy({ target });
    proxies.push(started);
    return started;
  }

  it('no region anywhere, with endpoints given: a bootstrap error naming each place looked at, and nothing sent', async () => {
    const kinesis = await proxy(endpoints().kinesis);
    const dynamodb = await proxy(endpoints().dynamodb);
    const home = mkdtempSync(join(tmpdir(), 'no-region-'));
    const restore = withEnv({
      AWS_REGION: undefined,
      AWS_DEFAULT_REGION: undefined,
      AWS_PROFILE: undefined,
      AWS_CONFIG_FILE: undefined,
      AWS_SHARED_CREDENTIALS_FILE: undefined,
      HOME: home,
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    try {
      const error = await bootstrap(
        { appName: uniqueName('app'), kinesis: { endpoint: kinesis.url }, dynamodb: { endpoint: dynamodb.url } },
        recordingProcessor(stream),
      );
      expectConfigError(error, 'region', /no AWS region was found/);
      expect((error as Error).message).toContain(
        `the region option, kinesis.region, the environment variables AWS_REGION and AWS_DEFAULT_REGION (none set), and the region of profile 'default' (AWS_PROFILE is not set) in ${join(home, '.aws', 'config')} (not found)`,
      );
      expect(kinesis.count() + dynamodb.count()).toBe(0);
    } finally {
      restore();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('credentials that cannot be resolved: names the credential sources, and sends nothing', async () => {
    const kinesis = await proxy(endpoints().kinesis);
    const dynamodb = await proxy(endpoints().dynamodb);
    const dir = mkdtempSync(join(tmpdir(), 'no-credentials-'));
    writeFileSync(join(dir, 'credentials'), '');
    writeFileSync(join(dir, 'config'), '');
    const restore = withEnv({
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
      AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      AWS_CONFIG_FILE: join(dir, 'config'),
      // Never ask an EC2 metadata service, which this machine does not have.
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    try {
      const error = await startFailure({ kinesis: { endpoint: kinesis.url }, dynamodb: { endpoint: dynamodb.url } });
      expect(error.option).toBe('kinesis.credentials');
      expect(error.message).toMatch(/no AWS credentials could be found.*CredentialsProviderError/);
      expect(error.message).toMatch(/AWS_ACCESS_KEY_ID.*AWS_PROFILE.*instance role.*kinesis\.credentials/);
      expect(error.message).not.toMatch(/permission denied/);
      expect(kinesis.count() + dynamodb.count()).toBe(0);
    } finally {
      restore();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a credentials provider that throws the way the default chain does', async () => {
    // eslint-disable-next-line @typescript-eslint/require-await -- an async credentials provider that rejects, as the default chain does
    const noCredentials = async () => {
      throw Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    };
    const error = await startFailure({ kinesis: { endpoint: endpoints().kinesis, credentials: noCredentials } });
    expect(error.option).toBe('kinesis.credentials');
    expect(error.message).toMatch(/no AWS credentials could be found/);
  });

  it('Kinesis denies DescribeStreamSummary: permission denied, naming the action (native and kcl engines)', async () => {
    const kinesis = await proxy(endpoints().kinesis);
    kinesis.set(
      'DescribeStreamSummary',
      faults.error(
        400,
        'AccessDeniedException',
        `User: arn:aws:iam::123456789012:user/worker is not authorized to perform: kinesis:DescribeStreamSummary on resource: arn:aws:kinesis:us-east-1:123456789012:stream/${stream}`,
      ),
    );
    for (const engine of ['native', 'kcl'] as const) {
      const error = await startFailure({ engine, kinesis: { endpoint: kinesis.url } });
      expect(error.option).toBe('kinesis.credentials');
      expect(error.message).toMatch(/permission denied: the credentials in use may not describe the stream/);
      expect(error.message).toMatch(/Allow kinesis:DescribeStreamSummary on it in the IAM policy.*docs\/iam\.md/);
      expect(error.message).toContain(`'${engine}' engine`);
      expect(error.message).not.toMatch(/no AWS credentials could be found/);
    }
  });

  it('DynamoDB denies DescribeTable: permission denied, naming the DynamoDB actions', async () => {
    const dynamodb = await proxy(endpoints().dynamodb);
    dynamodb.set(
      'DescribeTable',
      faults.error(
        400,
        'AccessDeniedException',
        'User: arn:aws:iam::123456789012:user/worker is not authorized to perform: dynamodb:DescribeTable',
      ),
    );
    const error = await startFailure({ dynamodb: { endpoint: dynamodb.url } });
    expect(error.option).toBe('dynamodb.credentials');
    expect(error.message).toMatch(/permission denied: the credentials in use may not read or create the lease table/);
    expect(error.message).toMatch(/Allow dynamodb:DescribeTable and dynamodb:CreateTable/);
  });

  it('credentials the service refuses (expired token, unknown key): their own message, not permission denied', async () => {
    const kinesis = await proxy(endpoints().kinesis);
    kinesis.set(
      'DescribeStreamSummary',
      faults.error(400, 'ExpiredTokenException', 'The security token included in the request is expired'),
      { times: 1 },
    );
    kinesis.set(
      'DescribeStreamSummary',
      faults.error(400, 'UnrecognizedClientException', 'The security token included in the request is invalid.'),
      { times: 1 },
    );
    for (const name of ['UnrecognizedClientException', 'ExpiredTokenException']) {
      const error = await startFailure({ kinesis: { endpoint: kinesis.url } });
      expect(error.option).toBe('kinesis.credentials');
      expect(error.message).toContain(`Kinesis did not accept the credentials`);
      expect(error.message).toContain(name);
      expect(error.message).toMatch(/expired session token needs fresh temporary credentials/);
      expect(error.message).not.toMatch(/permission denied/);
    }
  });
});
