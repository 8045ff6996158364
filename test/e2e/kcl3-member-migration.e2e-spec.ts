import { CreateTableCommand, GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { TestingModule } from '@nestjs/testing';
import { createWorker, KinesisWorkerConfigError, KinesisWorkerService } from '../../lib';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { createStream, putRecords } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, uniqueName, workerClientOptions, tableActive } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';

/**
 * The native worker follows a KCL 3.x fleet's migration state at run time (the Java
 * ClientVersionChangeMonitor's job): 2.x rules in the compatible states, the leader's assignments in
 * 3.x mode, and back at a rollback. No JVM here: the first test plays the Java leader's writes, exactly as
 * docs/kcl3-protocol.md describes them (its worker has kcl3LeaderEligible: false); the real leader is in
 * kcl3-member.e2e-spec.ts. The last test lets the native worker lead from the flip on.
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
  await dynamo.send(
    new PutItemCommand({
      TableName: table,
      Item: { key: { S: 'Migration3.0' }, cv: { S: clientVersion }, mb: { S: 'java-1' }, mts: { N: String(Date.now()) }, h: { L: [] } },
    }),
  );
}

async function createTable(name: string, key: string) {
  await dynamo.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await tableActive(dynamo, name);
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

/** The application's Leader lock item, if any. */
async function leaderItem(table: string) {
  const { Item } = await dynamo.send(new GetItemCommand({ TableName: table, Key: { key: { S: 'Leader' } }, ConsistentRead: true }));
  return Item;
}

const rowsOf = async (table: string) => new Map((await scanRaw(dynamo, table)).map((row) => [row.leaseKey.S!, row]));

describe('the native engine follows the KCL 3.x migration state at run time', () => {
  it('UPGRADE_FROM_2X -> 3X_WITH_ROLLBACK -> 2X, with table-name overrides: publishes metrics, stops taking in 3.x mode, holds what is assigned, takes again after the rollback', async () => {
    const stream = uniqueName('kcl3-flip');
    const appName = uniqueName('app');
    const coordinatorStateTableName = uniqueName('fleet-coordination');
    const workerMetricsTableName = uniqueName('fleet-metrics');
    await createStream(kinesis, stream, 2);
    await createKcl3LeaseTable(dynamo, appName).then(() => tableActive(dynamo, appName));
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
      // The test plays the leader: the worker must not contend for the lock (it would lead alone).
      kcl3LeaderEligible: false,
      logger,
    });
    apps.push(app);
    const worker = app.get(KinesisWorkerService).workers()[0];

    // Compatible mode: the 2.x rules (it takes both leases) and worker metrics for the migration monitor.
    await waitFor(
      async () => [...(await rowsOf(appName)).values()].filter((row) => row.leaseOwner?.S === 'native-1').length === 2,
      'both leases taken by the 2.x rules',
    );
    await waitFor(async () => {
      const { Items } = await dynamo.send(new ScanCommand({ TableName: workerMetricsTableName }));
      const item = Items?.find((i) => i.wid?.S === 'native-1');
      return (
        item !== undefined && Number(item.lut.N) > 0 && (item.sts?.M?.CPU?.L?.length ?? 0) > 0 && item.opr?.M?.CPU?.L?.[0]?.N === '100'
      );
    }, 'the WorkerMetricStats item in the overridden table');
    expect(worker.describe().kcl3).toMatchObject({ rules: '2.x', clientVersion: 'CLIENT_VERSION_UPGRADE_FROM_2X' });

    // The fleet flips to 3.x: the held leases stay; the leader moves one away, then assigns it back.
    await setMigrationState(coordinatorStateTableName, 'CLIENT_VERSION_3X_WITH_ROLLBACK');
    await waitFor(() => worker.describe().kcl3?.rules === '3.x', 'the switch to the 3.x rules');
    // Not eligible: it never writes the Leader lock, and says that nobody leads.
    await waitFor(() => worker.describe().kcl3?.problem !== undefined, 'the missing leader reported');
    expect(worker.describe().kcl3?.problem).toMatch(/no KCL 3\.x leader/);
    expect(logger.lines.some((line) => line.startsWith('WARN No KCL 3.x leader') && line.includes('kcl3LeaderEligible: false'))).toBe(true);
    expect(await leaderItem(coordinatorStateTableName)).toBeUndefined();
    const [moved, kept] = [...(await rowsOf(appName)).keys()];
    await assign(appName, moved, 'native-1', 'java-1');
    await waitFor(() => !worker.describe().shards.some((s) => s.shardId === moved), 'the processor of the moved lease to stop (ZOMBIE)');
    expect(recorder.events.some((e) => e.type === 'shutdown' && e.shardId === moved && e.reason === 'ZOMBIE')).toBe(true);
    // 'java-1' never renews it: by the 2.x rules it would be taken back after failoverTimeMs; in 3.x mode it is not.
    // Long enough for the 2.x taker to have taken it: the kept lease renewed 8 times (every ~1 s; failoverTimeMs 3000).
    const counterOf = async (key: string) => Number((await rowsOf(appName)).get(key)?.leaseCounter?.N);
    const keptCounter = await counterOf(kept);
    await waitFor(async () => (await counterOf(kept)) >= keptCounter + 8, 'two failover periods of renewals');
    expect((await rowsOf(appName)).get(moved)?.leaseOwner?.S).toBe('java-1');
    expect((await rowsOf(appName)).get(kept)?.leaseOwner?.S).toBe('native-1');
    await assign(appName, moved, 'java-1', 'native-1');
    await waitFor(() => worker.describe().shards.some((s) => s.shardId === moved), 'the lease assigned back to be processed');
    const puts = await putRecords(kinesis, stream, records('flip', 20));
    await waitFor(() => puts.every((p) => recorder.deliveries.some((d) => d.sequenceNumber === p.sequenceNumber)), 'every record');
    await waitFor(async () => (await rowsOf(appName)).get(moved)?.throughputKBps?.N !== undefined, 'throughputKBps written at renewal');

    // Rollback: the 2.x rules again; a lease left to a dead worker is taken once expired.
    await setMigrationState(coordinatorStateTableName, 'CLIENT_VERSION_2X');
    await waitFor(() => worker.describe().kcl3?.rules === '2.x', 'the switch back to the 2.x rules');
    await assign(appName, moved, 'native-1', 'java-1');
    await waitFor(
      async () => (await rowsOf(appName)).get(moved)?.leaseOwner?.S === 'native-1',
      'the expired lease taken back by the 2.x rules',
      60_000,
    );
    expect(await leaderItem(coordinatorStateTableName)).toBeUndefined();
  });

  it('a worker that started with no migration state (no CoordinatorState table) publishes its worker metrics once the fleet writes UPGRADE_FROM_2X, and flips with the fleet', async () => {
    const stream = uniqueName('kcl3-late');
    const appName = uniqueName('app');
    const coordinatorState = `${appName}-CoordinatorState`;
    const workerMetrics = `${appName}-WorkerMetricStats`;
    await createStream(kinesis, stream, 1);
    await createKcl3LeaseTable(dynamo, appName).then(() => tableActive(dynamo, appName));

    const recorder = new Recorder();
    const logger = new CapturingLogger();
    const app = await startApp(recorder, recordingProcessor(stream), {
      appName,
      engine: 'native',
      workerId: 'native-1',
      leaseTakerIntervalMs: 500,
      workerMetricsReporterFreqMs: 1000,
      clientVersionPollIntervalMs: 500,
      kcl3LeaderEligible: false,
      logger,
    });
    apps.push(app);
    const worker = app.get(KinesisWorkerService).workers()[0];
    await waitFor(
      async () => [...(await rowsOf(appName)).values()].some((row) => row.leaseOwner?.S === 'native-1'),
      'the lease taken by the 2.x rules',
    );
    expect(worker.describe().kcl3).toBeUndefined();

    // The Java fleet is deployed with KCL 3.x (CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X): its workers create
    // the coordinator state table and write the compatible migration state (docs/kcl3-protocol.md, section 3).
    await createTable(coordinatorState, 'key');
    await setMigrationState(coordinatorState, 'CLIENT_VERSION_UPGRADE_FROM_2X');
    // The fleet's migration monitor flips only when every lease owner publishes worker metrics.
    await waitFor(async () => {
      const scan = await dynamo.send(new ScanCommand({ TableName: workerMetrics, ConsistentRead: true })).catch(() => undefined);
      const item = scan?.Items?.find((i) => i.wid?.S === 'native-1');
      return item !== undefined && (item.sts?.M?.CPU?.L?.length ?? 0) > 0 && item.opr?.M?.CPU?.L?.[0]?.N === '100';
    }, "native-1's WorkerMetricStats row");
    expect(worker.describe().kcl3).toMatchObject({ rules: '2.x', clientVersion: 'CLIENT_VERSION_UPGRADE_FROM_2X' });
    expect(logger.lines.some((line) => line.includes('changed from none to CLIENT_VERSION_UPGRADE_FROM_2X'))).toBe(true);

    // And the flip it made possible is followed.
    await setMigrationState(coordinatorState, 'CLIENT_VERSION_3X_WITH_ROLLBACK');
    await waitFor(() => worker.describe().kcl3?.rules === '3.x', 'the switch to the 3.x rules');
    const puts = await putRecords(kinesis, stream, records('late', 10));
    await waitFor(() => puts.every((p) => recorder.deliveries.some((d) => d.sequenceNumber === p.sequenceNumber)), 'every record');
  });

  it("a leader-eligible worker takes the Leader lock at the flip, gives a dead worker's lease to a live one and deletes stale worker metrics, and releases the lock at a rollback", async () => {
    const stream = uniqueName('kcl3-lead');
    const appName = uniqueName('app');
    const coordinatorState = `${appName}-CoordinatorState`;
    const workerMetrics = `${appName}-WorkerMetricStats`;
    await createStream(kinesis, stream, 2);
    await createKcl3LeaseTable(dynamo, appName).then(() => tableActive(dynamo, appName));
    await createTable(coordinatorState, 'key');
    await createTable(workerMetrics, 'wid');
    await setMigrationState(coordinatorState, 'CLIENT_VERSION_UPGRADE_FROM_2X');
    // A worker that left a day ago: the leader deletes its metrics (staleWorkerMetricsCleanupMs).
    const longAgo = String(Math.floor(Date.now() / 1000) - 3600);
    await dynamo.send(
      new PutItemCommand({
        TableName: workerMetrics,
        Item: { wid: { S: 'gone-worker' }, lut: { N: longAgo }, sts: { M: {} }, opr: { M: {} } },
      }),
    );

    const recorder = new Recorder();
    const logger = new CapturingLogger();
    const app = await startApp(recorder, recordingProcessor(stream), {
      appName,
      engine: 'native',
      workerId: 'native-1',
      leaseTakerIntervalMs: 500,
      workerMetricsReporterFreqMs: 1000,
      clientVersionPollIntervalMs: 500,
      leaseAssignmentIntervalMs: 500,
      leaderLockLeaseDurationMs: 4000,
      staleWorkerMetricsCleanupMs: 60_000,
      logger,
    });
    apps.push(app);
    const worker = app.get(KinesisWorkerService).workers()[0];
    await waitFor(
      async () => [...(await rowsOf(appName)).values()].filter((row) => row.leaseOwner?.S === 'native-1').length === 2,
      'both leases taken by the 2.x rules',
    );
    // The 2.x rules elect no 3.x leader.
    expect(await leaderItem(coordinatorState)).toBeUndefined();
    expect(worker.describe().kcl3).not.toHaveProperty('leading');

    await setMigrationState(coordinatorState, 'CLIENT_VERSION_3X_WITH_ROLLBACK');
    await waitFor(() => worker.describe().kcl3?.leading === true, 'the worker to lead');
    expect(worker.describe().kcl3).toMatchObject({ rules: '3.x', leader: 'native-1', leading: true });
    // The lock as the dynamodb-lock-client writes it, so a Java worker sees an ordinary held lock.
    expect(await leaderItem(coordinatorState)).toMatchObject({
      ownerName: { S: 'native-1' },
      leaseDuration: { S: '4000' },
      recordVersionNumber: { S: expect.any(String) },
    });
    await waitFor(
      async () => !(await scanRaw(dynamo, workerMetrics)).some((item) => item.wid?.S === 'gone-worker'),
      'the stale worker metrics deleted',
    );

    // Another leader's assignment to a worker that never renews (no metrics, no renewals): expired after
    // failoverTimeMs on the leader's clock, the lease goes to the only live worker.
    const [moved] = [...(await rowsOf(appName)).keys()];
    await assign(appName, moved, 'native-1', 'java-1');
    await waitFor(
      async () => (await rowsOf(appName)).get(moved)?.leaseOwner?.S === 'native-1',
      "the dead worker's lease assigned back",
      30_000,
    );
    expect(
      logger.lines.some(
        (line) => line.startsWith('LOG KCL 3.x leader:') && line.includes(`${moved} assigned to native-1 (expired, was java-1)`),
      ),
    ).toBe(true);
    await waitFor(() => worker.describe().shards.some((s) => s.shardId === moved), 'the lease processed again');
    const puts = await putRecords(kinesis, stream, records('lead', 20));
    await waitFor(() => puts.every((p) => recorder.deliveries.some((d) => d.sequenceNumber === p.sequenceNumber)), 'every record');
    // Still the same term: the holder's heartbeats kept the lock.
    expect(await leaderItem(coordinatorState)).toMatchObject({ ownerName: { S: 'native-1' } });

    // Rollback: the 2.x rules have no 3.x leader; the lock is deleted, so a later flip elects at once.
    await setMigrationState(coordinatorState, 'CLIENT_VERSION_2X');
    await waitFor(() => worker.describe().kcl3?.rules === '2.x', 'the switch back to the 2.x rules');
    // status() shows the new rules as soon as the state is read; the lock's release follows in the switch.
    await waitFor(async () => (await leaderItem(coordinatorState)) === undefined, 'the lock deleted by the switch', 10_000);
    expect(worker.describe().kcl3).not.toHaveProperty('leading');
  });

  it('a multi-stream worker refuses to start in a 3.x-mode application (its 3.x membership is single-stream), and publishes no worker metrics in compatible mode', async () => {
    const streams = [uniqueName('kcl3-ms-a'), uniqueName('kcl3-ms-b')];
    const appName = uniqueName('app');
    const coordinatorStateTableName = uniqueName('fleet-coordination');
    const workerMetricsTableName = uniqueName('fleet-metrics');
    for (const stream of streams) await createStream(kinesis, stream, 1);
    await createTable(coordinatorStateTableName, 'key');
    await createTable(workerMetricsTableName, 'wid');
    const options = {
      ...workerClientOptions(),
      appName,
      streams,
      coordinatorStateTableName,
      workerMetricsTableName,
      workerMetricsReporterFreqMs: 300,
      logger: new CapturingLogger(),
    };

    await setMigrationState(coordinatorStateTableName, 'CLIENT_VERSION_3X');
    const refused = createWorker(options, () => ({ processRecords: () => undefined }));
    const error = await refused.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    await refused.stop();
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect(error).toMatchObject({ option: 'streams' });
    expect((error as Error).message).toMatch(/KCL 3\.x mode.*one stream only.*CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X/);

    // Compatible mode: it runs by the 2.x rules and withholds its worker metrics, so it is never what lets the fleet flip.
    await setMigrationState(coordinatorStateTableName, 'CLIENT_VERSION_UPGRADE_FROM_2X');
    const worker = createWorker(options, () => ({ processRecords: () => undefined }));
    try {
      await worker.start();
      await waitFor(
        () => worker.describe().leases.length === 2 && worker.describe().leases.every((l) => l.leaseOwner === worker.workerId),
        'both leases taken by the 2.x rules',
      );
      expect(worker.describe().kcl3).toMatchObject({ rules: '2.x' });
      expect(await scanRaw(dynamo, workerMetricsTableName)).toEqual([]);
    } finally {
      await worker.stop();
    }
  });
});
