import { CreateTableCommand, PutItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { KinesisWorkerService } from '../../lib';
import type { TestingModule } from '@nestjs/testing';
import { KinesisWorkerConfigError, type EngineName, type KinesisWorkerOptions } from '../../lib';
import { KCL_3_LINE } from '../../lib/engines/kcl/kcl-lines';
import { LEASE_OWNER_INDEX } from '../../lib/engines/kcl/kcl3-lease-table';
import { readKcl3Mode } from '../../lib/leases/kcl3-application';
import { createStream, putRecords, type PutResult } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, tableActive, tableExists, uniqueName } from '../support/aws';
import { closeAndCheck } from '../support/kcl-processes';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';

/**
 * The native engine and applications of a Java KCL 3.x fleet (real 3.1.3 MultiLangDaemon on dynalite):
 * in COMPATIBLE_WITH_2X mode they share the application by the 2.x rules; in 3.x mode the native worker
 * follows the leader and never takes or steals (the leader's assignments: kcl3-member*.e2e-spec.ts).
 * See docs/kcl3-protocol.md.
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const open = new Set<TestingModule>();
afterEach(async () => {
  await Promise.all([...open].map((app) => closeAndCheck(app).catch(() => undefined)));
  open.clear();
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

const KCL3: Partial<KinesisWorkerOptions> = { kcl: { version: KCL_3_LINE } };
const KCL3_MODE: Partial<KinesisWorkerOptions> = {
  kcl: { version: KCL_3_LINE, properties: { clientVersionConfig: 'CLIENT_VERSION_CONFIG_3X' } },
};

async function start(engine: EngineName, recorder: Recorder, stream: string, appName: string, extra: Partial<KinesisWorkerOptions> = {}) {
  const app = await startApp(recorder, recordingProcessor(stream), { appName, engine, ...extra });
  open.add(app);
  return app;
}

async function close(app: TestingModule) {
  open.delete(app);
  await closeAndCheck(app);
}

async function bootstrapError(stream: string, appName: string): Promise<KinesisWorkerConfigError> {
  try {
    await start('native', new Recorder(), stream, appName);
  } catch (error) {
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    return error as KinesisWorkerConfigError;
  }
  throw new Error('the native worker started, but it should have refused');
}

/** How many CPU samples the worker's WorkerMetricStats item holds (one per report). */
async function metricSamples(appName: string, workerId: string): Promise<number> {
  const { Items } = await dynamo.send(new ScanCommand({ TableName: `${appName}-WorkerMetricStats` })).catch(() => ({ Items: [] }));
  return Items?.find((item) => item.wid?.S === workerId)?.sts?.M?.CPU?.L?.length ?? 0;
}

async function createWorkerMetricsTable(appName: string) {
  await dynamo.send(
    new CreateTableCommand({
      TableName: `${appName}-WorkerMetricStats`,
      AttributeDefinitions: [{ AttributeName: 'wid', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'wid', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await tableActive(dynamo, `${appName}-WorkerMetricStats`);
}

/**
 * A native worker in 3.x mode, reporting its metrics every second (the Java default is 30 s). Not leader
 * eligible: these tests are about following; an eligible worker would take the absent lock and assign the
 * lease nobody renews to itself (the native leader: kcl3-member-migration and kcl3-leader-java).
 */
const FOLLOWER: Partial<KinesisWorkerOptions> = {
  workerId: 'native-follower',
  workerMetricsReporterFreqMs: 1000,
  leaseTakerIntervalMs: 500,
  kcl3LeaderEligible: false,
};

const lastPerShard = (puts: readonly PutResult[]) => new Map(puts.map((p) => [p.shardId, p.sequenceNumber]));

/** The coordinator state table and its migration item, as the 3.1.3 daemon writes them (copied from a run on dynalite). */
async function writeMigrationState(appName: string, clientVersion: string) {
  await dynamo.send(
    new CreateTableCommand({
      TableName: `${appName}-CoordinatorState`,
      AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await tableActive(dynamo, `${appName}-CoordinatorState`);
  const now = String(Date.now());
  await dynamo.send(
    new PutItemCommand({
      TableName: `${appName}-CoordinatorState`,
      Item: {
        key: { S: 'Migration3.0' },
        cv: { S: clientVersion },
        mb: { S: 'java-host:4242:0f8808b8' },
        mts: { N: now },
        h: { L: [{ M: { cv: { S: 'CLIENT_VERSION_INIT' }, mb: { S: 'java-host:4242:0f8808b8' }, mts: { N: now } } }] },
      },
    }),
  );
}

/** A lease table with the 3.x GSI and a lease row as a 3.x worker leaves it. */
async function write3xLeaseTable(appName: string): Promise<Record<string, AttributeValue>[]> {
  await dynamo.send(
    new CreateTableCommand({
      TableName: appName,
      AttributeDefinitions: [
        { AttributeName: 'leaseKey', AttributeType: 'S' },
        { AttributeName: 'leaseOwner', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [
        {
          IndexName: LEASE_OWNER_INDEX,
          KeySchema: [
            { AttributeName: 'leaseOwner', KeyType: 'HASH' },
            { AttributeName: 'leaseKey', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    }),
  );
  await tableActive(dynamo, appName);
  await dynamo.send(
    new PutItemCommand({
      TableName: appName,
      Item: {
        leaseKey: { S: 'shardId-000000000000' },
        leaseOwner: { S: 'java-host:4242:0f8808b8' },
        leaseCounter: { N: '6' },
        ownerSwitchesSinceCheckpoint: { N: '0' },
        checkpoint: { S: 'TRIM_HORIZON' },
        checkpointSubSequenceNumber: { N: '0' },
        startingHashKey: { S: '0' },
        endingHashKey: { S: '340282366920938463463374607431768211455' },
        throughputKBps: { N: '0.012019' },
      },
    }),
  );
  return scanRaw(dynamo, appName);
}

describe('the native engine and KCL 3.x applications', () => {
  it.each(['CLIENT_VERSION_3X', 'CLIENT_VERSION_3X_WITH_ROLLBACK'])(
    'migration state %s (rows as 3.x writes them): the native worker starts as a 3.x follower, publishes its metrics, and takes no lease by the 2.x rules',
    async (clientVersion) => {
      const stream = uniqueName('kcl3-rows');
      const appName = uniqueName('app');
      await createStream(kinesis, stream, 1);
      await writeMigrationState(appName, clientVersion);
      await createWorkerMetricsTable(appName);
      const before = await write3xLeaseTable(appName);

      const app = await start('native', new Recorder(), stream, appName, FOLLOWER);
      const worker = app.get(KinesisWorkerService).workers()[0];
      expect(worker.describe().kcl3).toMatchObject({ rules: '3.x', clientVersion });
      // 8 reports a second apart: well past failoverTimeMs (3000), after which the 2.x rules would take the
      // lease nobody renews; a follower leaves it to the leader.
      await waitFor(async () => (await metricSamples(appName, 'native-follower')) >= 8, 'eight worker metrics reports');
      expect(await scanRaw(dynamo, appName)).toEqual(before);
      expect(worker.describe().shards).toEqual([]);
    },
  );

  it('3.x mode and no lease table yet: a bootstrap error that names the missing GSI, before the native worker would create the table', async () => {
    const stream = uniqueName('kcl3-none');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 1);
    await writeMigrationState(appName, 'CLIENT_VERSION_3X');
    const error = await bootstrapError(stream, appName);
    expect(error.option).toBe('appName');
    expect(error.message).toContain(`'${appName}' runs in KCL 3.x mode`);
    expect(error.message).toContain('Migration3.0 = CLIENT_VERSION_3X, set by worker java-host:4242:0f8808b8');
    expect(error.message).toContain(`there is no lease table '${appName}'`);
    expect(error.message).toContain('LeaseOwnerToLeaseKeyIndex');
    expect(await tableExists(dynamo, appName)).toBe(false);
  });

  it('migration state CLIENT_VERSION_UPGRADE_FROM_2X (compatible mode): the native worker starts and consumes', async () => {
    const stream = uniqueName('kcl3-compat-rows');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 1);
    await writeMigrationState(appName, 'CLIENT_VERSION_UPGRADE_FROM_2X');
    const puts = await putRecords(kinesis, stream, records('c', 10));
    const recorder = new Recorder();
    await start('native', recorder, stream, appName);
    await waitFor(() => recorder.deliveries.length >= puts.length, 'all records on the native worker');
  });

  it('a real 3.1.3 fleet in 3.x mode (CLIENT_VERSION_CONFIG_3X) holding every lease: the native worker joins as a follower and neither takes nor steals', async () => {
    const stream = uniqueName('kcl3-mode');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 2);
    const puts = await putRecords(kinesis, stream, records('m', 20));
    const java = new Recorder();
    const kclApp = await start('kcl', java, stream, appName, KCL3_MODE);
    await waitFor(() => java.deliveries.length >= puts.length, 'all records on the 3.x daemon');
    expect(await readKcl3Mode(dynamo, appName)).toMatchObject({ kind: '3.x', clientVersion: 'CLIENT_VERSION_3X' });
    await waitFor(async () => {
      const rows = await scanRaw(dynamo, appName);
      return rows.every((row) => row.checkpoint?.S === lastPerShard(puts).get(row.leaseKey.S!));
    }, '3.x checkpoints at the last record of each shard');
    const before = (await scanRaw(dynamo, appName)).map(({ leaseKey, leaseOwner, checkpoint }) => ({ leaseKey, leaseOwner, checkpoint }));
    const nativeApp = await start('native', new Recorder(), stream, appName, FOLLOWER);
    expect(nativeApp.get(KinesisWorkerService).workers()[0].describe().kcl3).toMatchObject({
      rules: '3.x',
      clientVersion: 'CLIENT_VERSION_3X',
    });
    await waitFor(async () => (await metricSamples(appName, 'native-follower')) >= 8, 'eight worker metrics reports');
    // The daemon keeps renewing (leaseCounter moves); the native worker took nothing and checkpointed nothing.
    const after = (await scanRaw(dynamo, appName)).map(({ leaseKey, leaseOwner, checkpoint }) => ({ leaseKey, leaseOwner, checkpoint }));
    expect(after).toEqual(before);
    await close(nativeApp);
    await close(kclApp);
  });

  it("COMPATIBLE_WITH_2X (the engine default on 3.x): 3.x -> native -> 3.x, each continuing from the other one's checkpoints", async () => {
    const stream = uniqueName('kcl3-compat');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 3);

    const first = await putRecords(kinesis, stream, records('first', 30));
    const java = new Recorder();
    const kclApp = await start('kcl', java, stream, appName, KCL3);
    await waitFor(() => java.deliveries.length >= 30, '30 records on the 3.x daemon');
    await waitFor(async () => {
      const rows = await scanRaw(dynamo, appName);
      return rows.length === 3 && rows.every((row) => row.checkpoint?.S === lastPerShard(first).get(row.leaseKey.S!));
    }, '3.x checkpoints at the last record of each shard');
    // The state a COMPATIBLE_WITH_2X worker starts an application in: the 2.x lease rules.
    expect((await readKcl3Mode(dynamo, appName)).kind).toBe('compatible');
    await close(kclApp);

    const second = await putRecords(kinesis, stream, records('second', 30));
    const native = new Recorder();
    const nativeApp = await start('native', native, stream, appName);
    await waitFor(() => native.deliveries.length >= 30, '30 new records on the native worker');
    await waitFor(async () => {
      const rows = await scanRaw(dynamo, appName);
      return rows.every((row) => row.checkpoint?.S === lastPerShard(second).get(row.leaseKey.S!));
    }, 'native checkpoints at the last record of each shard');
    expect(native.deliveries.filter((d) => d.data.startsWith('first'))).toEqual([]);
    const nativeInits = native.events.filter((e) => e.type === 'initialize');
    expect(nativeInits.length).toBeGreaterThan(0);
    for (const init of nativeInits) expect(init.checkpoint).toBe(lastPerShard(first).get(init.shardId));
    await close(nativeApp);

    const third = await putRecords(kinesis, stream, records('third', 30));
    const javaAgain = new Recorder();
    await start('kcl', javaAgain, stream, appName, KCL3);
    await waitFor(() => javaAgain.deliveries.length >= 30, '30 new records on the 3.x daemon again');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(javaAgain.deliveries.map((d) => d.data).sort()).toEqual(third.map((p) => p.data.toString()).sort());
    const javaInits = javaAgain.events.filter((e) => e.type === 'initialize');
    expect(javaInits.length).toBeGreaterThan(0);
    for (const init of javaInits) expect(init.checkpoint).toBe(lastPerShard(second).get(init.shardId));
  });
});
