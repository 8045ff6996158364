import { CreateTableCommand, GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { TestingModule } from '@nestjs/testing';
import type { KinesisWorkerOptions } from '../../lib';
import { KCL_3_LINE } from '../../lib/engines/kcl/kcl-lines';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { readKcl3Mode } from '../../lib/leases/kcl3-application';
import { createStream, putRecords, type PutResult } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, tableActive, uniqueName } from '../support/aws';
import { closeAndCheck, kclWorkers } from '../support/kcl-processes';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { records } from '../support/records';
import { listShards, splitShard } from '../support/reshard';
import { waitFor } from '../support/wait-for';
import { FAST_INTERVALS, WorkerFleet } from '../support/worker-fleet';

/**
 * The native engine as a member of a Java KCL 3.x application in 3.x mode (docs/kcl3-protocol.md,
 * section 5): a real 3.1.3 MultiLangDaemon (clientVersionConfig CLIENT_VERSION_CONFIG_3X) is the leader
 * and assigns leases; native workers run as real processes (kill -9 able), publish their worker
 * metrics, hold what the leader assigns, and hand leases over gracefully. On dynalite + kinesis-local.
 * The native workers here run with kcl3LeaderEligible: false, so the Java worker leads although a
 * native worker starts first (a native leader with Java followers: kcl3-leader-java.e2e-spec.ts).
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const openApps = new Set<TestingModule>();
const fleets: WorkerFleet[] = [];
afterEach(async () => {
  for (const fleet of fleets.splice(0)) {
    if (process.env.DEBUG_KCL3)
      for (const e of fleet.events())
        if (e.kind === 'log' || e.kind === 'shutdown' || e.kind === 'initialize') console.log(JSON.stringify(e));
    fleet.killAll();
  }
  await Promise.all([...openApps].map((app) => closeAndCheck(app).catch(() => undefined)));
  openApps.clear();
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

/** Java worker settings that make the leader act within seconds instead of minutes. */
const JAVA_3X: Partial<KinesisWorkerOptions> = {
  kcl: {
    version: KCL_3_LINE,
    properties: {
      clientVersionConfig: 'CLIENT_VERSION_CONFIG_3X',
      leaseAssignmentIntervalMillis: 1000,
      // The leader counts a worker as alive while its metrics are younger than twice this.
      workerMetricsReporterFreqInMillis: 3000,
    },
  },
};

/** What a fleet deployed with CLIENT_VERSION_CONFIG_3X leaves in the coordinator state (copied from the daemon's own item). */
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
      Item: { key: { S: 'Migration3.0' }, cv: { S: clientVersion }, mb: { S: 'deployer' }, mts: { N: now }, h: { L: [] } },
    }),
  );
}

async function setUp(shards: number) {
  const stream = uniqueName('kcl3-member');
  const appName = uniqueName('app');
  await createStream(kinesis, stream, shards);
  // dynalite cannot add the GSI later (docs/kcl-engine.md); the Java fleet's table has it.
  await createKcl3LeaseTable(dynamo, appName).then(() => tableActive(dynamo, appName));
  await writeMigrationState(appName, 'CLIENT_VERSION_3X');
  const fleet = new WorkerFleet({
    streamName: stream,
    appName,
    ...FAST_INTERVALS,
    workerMetricsReporterFreqMs: 1000,
    clientVersionPollIntervalMs: 1000,
    gracefulLeaseHandoffTimeoutMs: 10_000,
    // This suite is about a Java leader: the native workers never contend for the lock.
    kcl3LeaderEligible: false,
  });
  fleets.push(fleet);
  return { stream, appName, fleet };
}

async function startJava(recorder: Recorder, stream: string, appName: string): Promise<TestingModule> {
  const debug = process.env.DEBUG_KCL3
    ? {
        logger: {
          log: (m: string) => console.log(m),
          warn: (m: string) => console.log(m),
          error: (m: string) => console.log(m),
          debug: (m: string) => console.log(m),
        },
        kcl: { ...JAVA_3X.kcl, logLevel: 'INFO' as const },
      }
    : {};
  const app = await startApp(recorder, recordingProcessor(stream), { appName, engine: 'kcl', ...JAVA_3X, ...debug });
  openApps.add(app);
  return app;
}

/**
 * Starts a native member and waits until its metrics item is in the WorkerMetricStats table (the native
 * reporter creates the table when missing). A Java leader that makes its first assignment before it
 * can see the native worker gives every lease to itself, and its utilisation-based balancing never
 * moves one to a worker that reports CPU while it reports none: on a loaded machine that made the
 * suite wait for an assignment that never came.
 */
async function startNativeMember(fleet: WorkerFleet, appName: string, workerId = 'native-1'): Promise<string> {
  const native = fleet.start(workerId);
  await waitFor(
    async () => {
      try {
        const { Item } = await dynamo.send(
          new GetItemCommand({ TableName: `${appName}-WorkerMetricStats`, Key: { wid: { S: native } }, ConsistentRead: true }),
        );
        return Item !== undefined;
      } catch {
        return false;
      }
    },
    `the metrics item of ${native}`,
    60_000,
  );
  return native;
}

/** The ownerName of the application's Leader lock item. */
async function leaderOf(appName: string): Promise<string | undefined> {
  const { Item } = await dynamo.send(
    new GetItemCommand({ TableName: `${appName}-CoordinatorState`, Key: { key: { S: 'Leader' } }, ConsistentRead: true }),
  );
  return Item?.ownerName?.S;
}

const ownersOf = async (appName: string) => new Map((await scanRaw(dynamo, appName)).map((row) => [row.leaseKey.S!, row.leaseOwner?.S]));
const lastPerShard = (puts: readonly PutResult[]) => new Map(puts.map((p) => [p.shardId, p.sequenceNumber]));

describe('the native engine in a KCL 3.x application (3.x mode)', () => {
  it('mixed fleet: the Java leader assigns leases to the native worker, every record is delivered, checkpoints kept; after kill -9 of the native worker the leader gives its leases to the Java worker', async () => {
    const { stream, appName, fleet } = await setUp(4);
    const native = await startNativeMember(fleet, appName);
    const java = new Recorder();
    const javaApp = await startJava(java, stream, appName);
    const javaId = kclWorkers(javaApp)[0].workerId;
    expect(await readKcl3Mode(dynamo, appName)).toMatchObject({ kind: '3.x', clientVersion: 'CLIENT_VERSION_3X' });
    await waitFor(async () => (await leaderOf(appName)) === javaId, 'the Java worker to hold the Leader lock', 60_000);

    await waitFor(async () => [...(await ownersOf(appName)).values()].includes(native), 'a lease assigned to the native worker', 90_000);
    const first = await putRecords(kinesis, stream, records('first', 40));
    const delivered = () => new Set([...fleet.deliveredSequenceNumbers(), ...java.deliveries.map((d) => d.sequenceNumber)]);
    await waitFor(() => first.every((p) => delivered().has(p.sequenceNumber)), 'every record on one of the two workers', 90_000);
    expect(fleet.deliveredSequenceNumbers().size).toBeGreaterThan(0);
    await waitFor(
      async () => {
        const rows = await scanRaw(dynamo, appName);
        const last = lastPerShard(first);
        return rows.every((row) => !last.has(row.leaseKey.S!) || row.checkpoint?.S === last.get(row.leaseKey.S!));
      },
      'checkpoints at the last record of each shard',
      60_000,
    );
    // The native worker's 3.x traces: its metrics item (what made the leader count it) and throughputKBps on the leases it renews.
    const { Items: metrics } = await dynamo.send(new ScanCommand({ TableName: `${appName}-WorkerMetricStats` }));
    expect(metrics?.find((item) => item.wid?.S === native)).toMatchObject({ opr: { M: { CPU: { L: [{ N: '100' }] } } } });
    const nativeRows = (await scanRaw(dynamo, appName)).filter((row) => row.leaseOwner?.S === native);
    expect(nativeRows.length).toBeGreaterThan(0);
    await waitFor(
      async () =>
        (await scanRaw(dynamo, appName)).filter((row) => row.leaseOwner?.S === native).every((row) => row.throughputKBps?.N !== undefined),
      'throughputKBps on the native leases',
    );

    fleet.kill(native);
    await waitFor(
      async () => [...(await ownersOf(appName)).values()].every((owner) => owner !== undefined && owner !== native),
      'every lease reassigned away from the killed native worker',
      120_000,
    );
    const second = await putRecords(kinesis, stream, records('second', 20));
    await waitFor(
      () => second.every((p) => java.deliveries.some((d) => d.sequenceNumber === p.sequenceNumber)),
      'the second records on the Java worker',
      90_000,
    );
    expect(await leaderOf(appName)).toBe(javaId);
  });

  it('graceful hand-over both ways: the old owner shuts its processor down (REQUESTED), checkpoints and clears checkpointOwner; the new owner starts from that checkpoint, and no record is lost', async () => {
    const { stream, appName, fleet } = await setUp(2);
    const native = await startNativeMember(fleet, appName);
    const java = new Recorder();
    const javaApp = await startJava(java, stream, appName);
    const javaId = kclWorkers(javaApp)[0].workerId;
    await waitFor(async () => (await leaderOf(appName)) === javaId, 'the Java worker to hold the Leader lock', 60_000);
    await waitFor(
      async () => [...(await ownersOf(appName)).values()].filter((owner) => owner !== undefined).length === 2,
      'both leases assigned',
      90_000,
    );
    const [leaseKey, firstOwner] = [...(await ownersOf(appName))][0];
    const other = firstOwner === native ? javaId : native;
    const sides = {
      [native]: {
        delivered: (seq: string) => fleet.deliveredSequenceNumbers().has(seq),
        shutdownRequested: () =>
          fleet.events().filter((e) => e.kind === 'shutdown' && e.shardId === leaseKey && e.reason === 'REQUESTED').length,
        lastInit: () =>
          fleet
            .events()
            .filter((e) => e.kind === 'initialize' && e.shardId === leaseKey)
            .map((e) => (e as { checkpoint: string }).checkpoint)
            .at(-1),
      },
      [javaId]: {
        delivered: (seq: string) => java.deliveries.some((d) => d.sequenceNumber === seq),
        shutdownRequested: () => java.events.filter((e) => e.type === 'shutdown' && e.shardId === leaseKey).length,
        lastInit: () =>
          java.events
            .filter((e) => e.type === 'initialize' && e.shardId === leaseKey)
            .map((e) => e.checkpoint)
            .at(-1),
      },
    };
    const deliveredAnywhere = (seq: string) => sides[native].delivered(seq) || sides[javaId].delivered(seq);

    // Each way in turn: the first owner hands the lease to the other, then gets it back.
    for (const [from, to] of [
      [firstOwner!, other],
      [other, firstOwner!],
    ] as const) {
      const before = await putRecords(kinesis, stream, records(`before-${to}`, 20));
      await waitFor(() => before.every((p) => deliveredAnywhere(p.sequenceNumber)), 'the records before the move', 90_000);
      // 20 records over 2 shards: the moved lease's shard has some (asserted, so that the checks below cannot be skipped).
      const lastBefore = lastPerShard(before).get(leaseKey);
      expect(lastBefore).toBeDefined();
      await waitFor(
        async () => (await scanRaw(dynamo, appName)).find((r) => r.leaseKey.S === leaseKey)?.checkpoint?.S === lastBefore,
        `${from} to checkpoint`,
        60_000,
      );
      const shutdownsBefore = sides[from].shutdownRequested();

      // What the leader's initiateGracefulLeaseHandoff writes (docs/kcl3-protocol.md, section 4).
      await handOver(appName, leaseKey, from, to);
      // The native old owner clears checkpointOwner itself. The Java 3.1.3 old owner does so only when its
      // processor's shutdown checkpoint is accepted (not always, see docs/kcl3-protocol.md, section 5); the
      // native new owner then starts after gracefulLeaseHandoffTimeoutMs and clears it.
      await waitFor(
        async () => {
          const row = (await scanRaw(dynamo, appName)).find((r) => r.leaseKey.S === leaseKey);
          return row?.leaseOwner?.S === to && row.checkpointOwner === undefined;
        },
        `${from} to finish and checkpointOwner to clear`,
        90_000,
      );
      expect(sides[from].shutdownRequested()).toBeGreaterThan(shutdownsBefore);

      const after = await putRecords(kinesis, stream, records(`after-${to}`, 20));
      await waitFor(() => after.every((p) => deliveredAnywhere(p.sequenceNumber)), 'the records after the move', 90_000);
      for (const p of after.filter((p) => p.shardId === leaseKey)) expect(sides[to].delivered(p.sequenceNumber)).toBe(true);
      // The new owner started where the old one checkpointed.
      expect(sides[to].lastInit()).toBe(lastBefore);
    }
  });

  it('a split in a mixed fleet: both children start only after their parent finished, wherever each shard runs, and every record is delivered', async () => {
    const { stream, appName, fleet } = await setUp(2);
    await startNativeMember(fleet, appName);
    const java = new Recorder();
    const javaFirstSeen = new Map<string, number>();
    java.beforeBatch = ({ records }) => {
      for (const r of records) if (!javaFirstSeen.has(r.sequenceNumber)) javaFirstSeen.set(r.sequenceNumber, Date.now());
    };
    const javaApp = await startJava(java, stream, appName);
    await waitFor(
      async () => (await leaderOf(appName)) === kclWorkers(javaApp)[0].workerId,
      'the Java worker to hold the Leader lock',
      60_000,
    );
    await waitFor(
      async () => [...(await ownersOf(appName)).values()].filter((owner) => owner !== undefined).length === 2,
      'both leases assigned',
      90_000,
    );
    const before = await putRecords(kinesis, stream, records('parent', 30));
    const [parent] = await listShards(kinesis, stream);
    await splitShard(kinesis, stream, parent.ShardId!);
    await waitFor(async () => (await listShards(kinesis, stream)).length === 4, 'the two children');
    const after = await putRecords(kinesis, stream, records('child', 30));
    const all = [...before, ...after];

    const firstSeen = () => {
      const times = new Map(javaFirstSeen);
      for (const e of fleet.events())
        if (e.kind === 'batch') for (const r of e.records) if (!times.has(r.seq) || times.get(r.seq)! > e.start) times.set(r.seq, e.start);
      return times;
    };
    await waitFor(() => all.every((p) => firstSeen().has(p.sequenceNumber)), 'every record, parents and children', 180_000);
    const times = firstSeen();
    const childShards = (await listShards(kinesis, stream))
      .filter((shard) => shard.ParentShardId === parent.ShardId)
      .map((shard) => shard.ShardId!);
    expect(childShards).toHaveLength(2);
    const lastParentRecord = Math.max(...before.filter((p) => p.shardId === parent.ShardId).map((p) => times.get(p.sequenceNumber)!));
    const firstChildRecord = Math.min(...after.filter((p) => childShards.includes(p.shardId)).map((p) => times.get(p.sequenceNumber)!));
    expect(firstChildRecord).toBeGreaterThanOrEqual(lastParentRecord);
    await waitFor(
      async () => {
        const rows = new Map((await scanRaw(dynamo, appName)).map((row) => [row.leaseKey.S!, row]));
        const last = lastPerShard(after);
        return childShards.every((child) => !last.has(child) || rows.get(child)?.checkpoint?.S === last.get(child));
      },
      'checkpoints at the last record of each child',
      90_000,
    );
  });
});

async function handOver(appName: string, leaseKey: string, from: string, to: string) {
  await dynamo.send(
    new UpdateItemCommand({
      TableName: appName,
      Key: { leaseKey: { S: leaseKey } },
      UpdateExpression: 'SET leaseOwner = :to, checkpointOwner = :from, leaseCounter = leaseCounter + :one',
      ConditionExpression: 'leaseOwner = :from AND attribute_not_exists(checkpointOwner)',
      ExpressionAttributeValues: { ':to': { S: to }, ':from': { S: from }, ':one': { N: '1' } },
    }),
  );
}
