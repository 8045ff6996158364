import { CreateTableCommand, PutItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { TestingModule } from '@nestjs/testing';
import { createWorker, KinesisWorkerConfigError, KinesisWorkerService } from '../../lib';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { createStream, putRecords } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, uniqueName, workerClientOptions } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';

/**
 * The native worker follows a KCL 3.x fleet's migration state at run time (the Java
 * ClientVersionChangeMonitor's job): 2.x rules in the compatible states, the leader's assignments in
 * 3.x mode, and back at a rollback. No JVM here: the test plays the Java leader's writes, exactly as
 * docs/kcl3-protocol.md describes them; the real leader is in kcl3-member.e2e-spec.ts.
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const apps: TestingModule[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

async function setMigrationState(table: string, clientVersion: string) {
  await dynamo.send(new PutItemCommand({ TableName: table, Item: { key: { S: 'Migration3.0' }, cv: { S: clientVersion }, mb: { S: 'java-1' }, mts: { N: String(Date.now()) }, h: { L: [] } } }));
}

async function createTable(name: string, key: string) {
  await dynamo.send(
    new CreateTableCommand({ TableName: name, AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }], KeySchema: [{ AttributeName: key, KeyType: 'HASH' }], BillingMode: 'PAY_PER_REQUEST' }),
  );
}

/** The leader's assignLease: a conditional move of leaseOwner. */
async function assign(table: string, leaseKey: string, from: string | undefined, to: string) {
  await dynamo.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { leaseKey: { S: leaseKey } },
      UpdateExpression: 'SET leaseOwner = :to, leaseCounter = leaseCounter + :one',
      ConditionExpression: from ? 'leaseOwner = :from' : 'attribute_not_exists(leaseOwner)',
      ExpressionAttributeValues: { ':to': { S: to }, ':one': { N: '1' }, ...(from ? { ':from': { S: from } } : {}) },
    }),
  );
}

const rowsOf = async (table: string) => new Map((await scanRaw(dynamo, table)).map((row) => [row.leaseKey!.S!, row]));

describe('the native engine follows the KCL 3.x migration state at run time', () => {
  it('UPGRADE_FROM_2X -> 3X_WITH_ROLLBACK -> 2X, with table-name overrides: publishes metrics, stops taking in 3.x mode, holds what is assigned, takes again after the rollback', async () => {
    const stream = uniqueName('kcl3-flip');
    const appName = uniqueName('app');
    const coordinatorStateTableName = uniqueName('fleet-coordination');
    const workerMetricsTableName = uniqueName('fleet-metrics');
    await createStream(kinesis, stream, 2);
    await createKcl3LeaseTable(dynamo, appName);
    await createTable(coordinatorStateTableName, 'key');
    await createTable(workerMetricsTableName, 'wid');
    await setMigrationState(coordinatorStateTableName, 'CLIENT_VERSION_UPGRADE_FROM_2X');

    const recorder = new Recorder();
    const logger = new CapturingLogger();
    const app = await startApp(recorder, recordingProcessor(stream), {
      appName,
      engine: 'native',
      workerId: 'native-1',
      leaseTakerIntervalMs: 500,
      coordinatorStateTableName,
      workerMetricsTableName,
      workerMetricsReporterFreqMs: 1000,
      clientVersionPollIntervalMs: 500,
      logger,
    });
    apps.push(app);
    const worker = app.get(KinesisWorkerService).workers()[0]!;

    // Compatible mode: the 2.x rules (it takes both leases) and worker metrics for the migration monitor.
    await waitFor(async () => [...(await rowsOf(appName)).values()].filter((row) => row.leaseOwner?.S === 'native-1').length === 2, 'both leases taken by the 2.x rules');
    await waitFor(async () => {
      const { Items } = await dynamo.send(new ScanCommand({ TableName: workerMetricsTableName }));
      const item = Items?.find((i) => i.wid?.S === 'native-1');
      return item !== undefined && Number(item.lut!.N) > 0 && (item.sts?.M?.CPU?.L?.length ?? 0) > 0 && item.opr?.M?.CPU?.L?.[0]?.N === '100';
    }, 'the WorkerMetricStats item in the overridden table');
    expect(worker.describe().kcl3).toMatchObject({ rules: '2.x', clientVersion: 'CLIENT_VERSION_UPGRADE_FROM_2X' });

    // The fleet flips to 3.x: the held leases stay; the leader moves one away, then assigns it back.
    await setMigrationState(coordinatorStateTableName, 'CLIENT_VERSION_3X_WITH_ROLLBACK');
    await waitFor(() => worker.describe().kcl3?.rules === '3.x', 'the switch to the 3.x rules');
    const [moved, kept] = [...(await rowsOf(appName)).keys()];
    await assign(appName, moved!, 'native-1', 'java-1');
    await waitFor(() => !worker.describe().shards.some((s) => s.shardId === moved), 'the processor of the moved lease to stop (ZOMBIE)');
    expect(recorder.events.some((e) => e.type === 'shutdown' && e.shardId === moved && e.reason === 'ZOMBIE')).toBe(true);
    // 'java-1' never renews it: by the 2.x rules it would be taken back after failoverTimeMs; in 3.x mode it is not.
    // Long enough for the 2.x taker to have taken it: the kept lease renewed 8 times (every ~1 s; failoverTimeMs 3000).
    const counterOf = async (key: string) => Number((await rowsOf(appName)).get(key)?.leaseCounter?.N);
    const keptCounter = await counterOf(kept!);
    await waitFor(async () => (await counterOf(kept!)) >= keptCounter + 8, 'two failover periods of renewals');
    expect((await rowsOf(appName)).get(moved!)?.leaseOwner?.S).toBe('java-1');
    expect((await rowsOf(appName)).get(kept!)?.leaseOwner?.S).toBe('native-1');
    await assign(appName, moved!, 'java-1', 'native-1');
    await waitFor(() => worker.describe().shards.some((s) => s.shardId === moved), 'the lease assigned back to be processed');
    const puts = await putRecords(kinesis, stream, records('flip', 20));
    await waitFor(() => puts.every((p) => recorder.deliveries.some((d) => d.sequenceNumber === p.sequenceNumber)), 'every record');
    await waitFor(async () => (await rowsOf(appName)).get(moved!)?.throughputKBps?.N !== undefined, 'throughputKBps written at renewal');

    // Rollback: the 2.x rules again; a lease left to a dead worker is taken once expired.
    await setMigrationState(coordinatorStateTableName, 'CLIENT_VERSION_2X');
    await waitFor(() => worker.describe().kcl3?.rules === '2.x', 'the switch back to the 2.x rules');
    await assign(appName, moved!, 'native-1', 'java-1');
    await waitFor(async () => (await rowsOf(appName)).get(moved!)?.leaseOwner?.S === 'native-1', 'the expired lease taken back by the 2.x rules', 60_000);
  });

  it('a multi-stream worker refuses to start in a 3.x-mode application (its 3.x membership is single-stream), and publishes no worker metrics in compatible mode', async () => {
    const streams = [uniqueName('kcl3-ms-a'), uniqueName('kcl3-ms-b')];
    const appName = uniqueName('app');
    const coordinatorStateTableName = uniqueName('fleet-coordination');
    const workerMetricsTableName = uniqueName('fleet-metrics');
    for (const stream of streams) await createStream(kinesis, stream, 1);
    await createTable(coordinatorStateTableName, 'key');
    await createTable(workerMetricsTableName, 'wid');
    const options = { ...workerClientOptions(), appName, streams, coordinatorStateTableName, workerMetricsTableName, workerMetricsReporterFreqMs: 300, logger: new CapturingLogger() };

    await setMigrationState(coordinatorStateTableName, 'CLIENT_VERSION_3X');
    const refused = createWorker(options, () => ({ processRecords: () => undefined }));
    const error = await refused.start().then(() => undefined, (e: unknown) => e);
    await refused.stop();
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect(error).toMatchObject({ option: 'streams' });
    expect((error as Error).message).toMatch(/KCL 3\.x mode.*one stream only.*CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X/);

    // Compatible mode: it runs by the 2.x rules and withholds its worker metrics, so it is never what lets the fleet flip.
    await setMigrationState(coordinatorStateTableName, 'CLIENT_VERSION_UPGRADE_FROM_2X');
    const worker = createWorker(options, () => ({ processRecords: () => undefined }));
    try {
      await worker.start();
      await waitFor(() => worker.describe().leases.length === 2 && worker.describe().leases.every((l) => l.leaseOwner === worker.workerId), 'both leases taken by the 2.x rules');
      expect(worker.describe().kcl3).toMatchObject({ rules: '2.x' });
      expect(await scanRaw(dynamo, workerMetricsTableName)).toEqual([]);
    } finally {
      await worker.stop();
    }
  });
});

