import {
  CreateTableCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  type AttributeValue,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { TestingModule } from '@nestjs/testing';
import type { KinesisWorkerOptions, StreamWorkerOptions } from '../../lib';
import { processGroupAlive } from '../../lib/engines/kcl/daemon';
import { KCL_3_LINE } from '../../lib/engines/kcl/kcl-lines';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { createStream, putRecords, type PutResult } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, uniqueName, tableActive } from '../support/aws';
import { closeAndCheck, kclWorkers } from '../support/kcl-processes';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';
import { FAST_INTERVALS, WorkerFleet } from '../support/worker-fleet';

/**
 * The native engine LEADS a KCL 3.x application with a real Java KCL 3.1.3 MultiLangDaemon in it
 * (docs/kcl3-protocol.md): the Java worker follows the native leader's assignments and graceful
 * hand-overs, and a native worker takes the lock of a killed Java leader, which no Java 3.x worker does
 * (awslabs/amazon-kinesis-client#1803). Native workers run as real processes (WorkerFleet); the Java
 * worker is a Nest app with the kcl engine in this process. On dynalite + kinesis-local.
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

/** Java worker settings that make a Java leader act within seconds (as in kcl3-member.e2e-spec.ts). */
const JAVA_3X: Partial<KinesisWorkerOptions> = {
  kcl: {
    version: KCL_3_LINE,
    properties: {
      clientVersionConfig: 'CLIENT_VERSION_CONFIG_3X',
      leaseAssignmentIntervalMillis: 1000,
      workerMetricsReporterFreqInMillis: 3000,
    },
  },
};

/**
 * What a fleet deployed with CLIENT_VERSION_CONFIG_3X leaves behind: the coordinator state with its
 * migration item, and the worker metrics table (the Java workers create both; the native engine creates
 * neither, and its leader cannot run a pass without the metrics table).
 */
async function writeMigrationState(appName: string) {
  await dynamo.send(
    new CreateTableCommand({
      TableName: `${appName}-WorkerMetricStats`,
      AttributeDefinitions: [{ AttributeName: 'wid', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'wid', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await dynamo.send(
    new CreateTableCommand({
      TableName: `${appName}-CoordinatorState`,
      AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // dynalite answers CreateTable while the table is CREATING: a write right after can meet ResourceNotFound.
  await waitUntilTableExists({ client: dynamo, maxWaitTime: 30, minDelay: 0.1 }, { TableName: `${appName}-CoordinatorState` });
  await dynamo.send(
    new PutItemCommand({
      TableName: `${appName}-CoordinatorState`,
      Item: {
        key: { S: 'Migration3.0' },
        cv: { S: 'CLIENT_VERSION_3X' },
        mb: { S: 'deployer' },
        mts: { N: String(Date.now()) },
        h: { L: [] },
      },
    }),
  );
}

async function setUp(shards: number, extra: Partial<StreamWorkerOptions> = {}) {
  const stream = uniqueName('kcl3-lead');
  const appName = uniqueName('app');
  await createStream(kinesis, stream, shards);
  await createKcl3LeaseTable(dynamo, appName).then(() => tableActive(dynamo, appName));
  await writeMigrationState(appName);
  const fleet = new WorkerFleet({
    streamName: stream,
    appName,
    ...FAST_INTERVALS,
    // The leader counts a worker alive while its metrics are younger than 2 × ITS OWN reporter period
    // (as the Java leader does): the same period as the Java workers', or they would flicker dead.
    workerMetricsReporterFreqMs: 3000,
    clientVersionPollIntervalMs: 1000,
    gracefulLeaseHandoffTimeoutMs: 10_000,
    leaseAssignmentIntervalMs: 1000,
    ...extra,
  });
  fleets.push(fleet);
  return { stream, appName, fleet };
}

async function startJava(recorder: Recorder, stream: string, appName: string, workerId: string): Promise<TestingModule> {
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
  const app = await startApp(recorder, recordingProcessor(stream), { appName, engine: 'kcl', workerId, ...JAVA_3X, ...debug });
  openApps.add(app);
  return app;
}

async function leaderItem(appName: string): Promise<Record<string, AttributeValue> | undefined> {
  const { Item } = await dynamo.send(
    new GetItemCommand({ TableName: `${appName}-CoordinatorState`, Key: { key: { S: 'Leader' } }, ConsistentRead: true }),
  );
  return Item;
}
const leaderOf = async (appName: string) => (await leaderItem(appName))?.ownerName?.S;
const rowsOf = async (appName: string) => new Map((await scanRaw(dynamo, appName)).map((row) => [row.leaseKey.S!, row]));
const keysOwnedBy = (rows: Map<string, Record<string, AttributeValue>>, owner: string) =>
  [...rows].filter(([, row]) => row.leaseOwner?.S === owner).map(([key]) => key);
const lastPerShard = (puts: readonly PutResult[]) => new Map(puts.map((p) => [p.shardId, p.sequenceNumber]));

async function checkpointsAt(appName: string, puts: readonly PutResult[], what: string): Promise<Map<string, string | undefined>> {
  const last = lastPerShard(puts);
  await waitFor(
    async () => [...(await rowsOf(appName))].every(([key, row]) => !last.has(key) || row.checkpoint?.S === last.get(key)),
    what,
    90_000,
  );
  return new Map([...(await rowsOf(appName))].map(([key, row]) => [key, row.checkpoint?.S]));
}

describe('a native KCL 3.x leader with a real Java KCL 3.1.3 worker', () => {
  it("the native leader assigns to the Java follower, and count balancing moves leases native -> Java and Java -> native by graceful hand-overs; every record delivered, each new owner starts at the old owner's checkpoint", async () => {
    const { stream, appName, fleet } = await setUp(4);
    const nativeBatches = (worker: string) =>
      fleet
        .events()
        .flatMap((e) => (e.kind === 'batch' && e.worker === worker ? e.records.map((r) => ({ shardId: e.shardId, seq: r.seq })) : []));
    const nativeInit = (worker: string, shardId: string) =>
      fleet
        .events()
        .filter(
          (e): e is Extract<typeof e, { kind: 'initialize' }> => e.kind === 'initialize' && e.worker === worker && e.shardId === shardId,
        )
        .at(-1)?.checkpoint;
    const nativeLogs = () => fleet.events().flatMap((e) => (e.kind === 'log' ? [`${e.worker} ${e.level} ${e.message}`] : []));
    const java = new Recorder();
    const delivered = () => new Set([...fleet.deliveredSequenceNumbers(), ...java.deliveries.map((d) => d.sequenceNumber)]);

    // 1. native-1 alone: it takes the absent lock and assigns every lease to itself.
    fleet.start('native-1');
    await waitFor(async () => (await leaderOf(appName)) === 'native-1', 'native-1 to take the Leader lock', 60_000);
    await waitFor(async () => keysOwnedBy(await rowsOf(appName), 'native-1').length === 4, 'every lease assigned to native-1', 60_000);
    const first = await putRecords(kinesis, stream, records('first', 40));
    await waitFor(() => first.every((p) => delivered().has(p.sequenceNumber)), 'the first records', 90_000);
    const atFirst = await checkpointsAt(appName, first, 'native-1 checkpoints at the last first record');

    // 2. The Java worker joins: the native leader counts it live (its WorkerMetricStats item) and moves
    //    two leases to it by graceful hand-over; native-1 finishes them, Java starts at their checkpoints.
    await startJava(java, stream, appName, 'java-1');
    await waitFor(
      async () => {
        const rows = await rowsOf(appName);
        return (
          keysOwnedBy(rows, 'java-1').length === 2 &&
          keysOwnedBy(rows, 'native-1').length === 2 &&
          [...rows.values()].every((row) => row.checkpointOwner === undefined)
        );
      },
      'two leases handed over to java-1 and the hand-overs finished',
      120_000,
    );
    const toJava = keysOwnedBy(await rowsOf(appName), 'java-1');
    for (const key of toJava) {
      expect(
        nativeLogs().some(
          (line) => line.startsWith('native-1 log KCL 3.x leader:') && line.includes(`${key} handed over to java-1 (balance`),
        ),
      ).toBe(true);
      expect(
        fleet.events().some((e) => e.kind === 'shutdown' && e.worker === 'native-1' && e.shardId === key && e.reason === 'REQUESTED'),
      ).toBe(true);
    }
    await waitFor(
      () => toJava.every((key) => java.events.some((e) => e.type === 'initialize' && e.shardId === key)),
      'the Java processors of the handed-over leases',
    );
    for (const key of toJava)
      expect(java.events.filter((e) => e.type === 'initialize' && e.shardId === key).at(-1)!.checkpoint).toBe(atFirst.get(key));

    const second = await putRecords(kinesis, stream, records('second', 40));
    await waitFor(() => second.every((p) => delivered().has(p.sequenceNumber)), 'the second records', 90_000);
    for (const p of second.filter((p) => toJava.includes(p.shardId)))
      expect(java.deliveries.some((d) => d.sequenceNumber === p.sequenceNumber)).toBe(true);
    const atSecond = await checkpointsAt(appName, second, 'checkpoints at the last second record, on both sides');
    // The Java worker follows: it never took or heartbeat the lock, and it published its metrics.
    expect(await leaderOf(appName)).toBe('native-1');
    const { Items: metrics } = await dynamo.send(new ScanCommand({ TableName: `${appName}-WorkerMetricStats` }));
    expect(metrics?.map((item) => item.wid?.S).sort()).toEqual(['java-1', 'native-1']);

    // 3. Java -> native: native-2 joins while java-1 and native-1 hold 2 leases each. On equal counts the
    //    leader moves from the one with more throughput, then by worker id ('java-1' < 'native-1'): once
    //    native-1's leases report no throughput, the lease moves from java-1.
    await waitFor(async () => {
      const rows = await rowsOf(appName);
      return keysOwnedBy(rows, 'native-1').every((key) => Number(rows.get(key)?.throughputKBps?.N ?? 0) === 0);
    }, "no throughput on native-1's leases");
    fleet.start('native-2');
    await waitFor(
      async () => {
        const rows = await rowsOf(appName);
        return keysOwnedBy(rows, 'native-2').length === 1 && [...rows.values()].every((row) => row.checkpointOwner === undefined);
      },
      'one lease handed over to native-2 and the hand-over finished',
      120_000,
    );
    const rows = await rowsOf(appName);
    const [toNative2] = keysOwnedBy(rows, 'native-2');
    expect(toJava).toContain(toNative2);
    expect(keysOwnedBy(rows, 'java-1')).toHaveLength(1);
    expect(keysOwnedBy(rows, 'native-1')).toHaveLength(2);
    expect(
      nativeLogs().some(
        (line) =>
          line.startsWith('native-1 log KCL 3.x leader:') && line.includes(`${toNative2} handed over to native-2 (balance, was java-1)`),
      ),
    ).toBe(true);
    // The Java old owner shut its processor down (shutdownRequested) ...
    await waitFor(
      () => java.events.some((e) => e.type === 'shutdown' && e.shardId === toNative2),
      'the Java processor of the moved lease to shut down',
    );
    // ... and native-2 started at its checkpoint.
    await waitFor(() => nativeInit('native-2', toNative2) !== undefined, 'native-2 to start the moved lease');
    expect(nativeInit('native-2', toNative2)).toBe(atSecond.get(toNative2));
    const clearedByTimeout = nativeLogs().some(
      (line) => line.startsWith('native-2 warn') && line.includes(`Lease ${toNative2}: java-1 did not clear checkpointOwner`),
    );
    console.log(
      `Java -> native hand-over of ${toNative2}: checkpointOwner ${clearedByTimeout ? 'cleared by native-2 after gracefulLeaseHandoffTimeoutMs (the Java old owner did not clear it)' : 'cleared by the Java old owner'}`,
    );

    const third = await putRecords(kinesis, stream, records('third', 40));
    await waitFor(() => third.every((p) => delivered().has(p.sequenceNumber)), 'the third records', 90_000);
    for (const p of third.filter((p) => p.shardId === toNative2))
      expect(nativeBatches('native-2').some((b) => b.seq === p.sequenceNumber)).toBe(true);
    await checkpointsAt(appName, third, 'checkpoints at the last third record');
    expect(await leaderOf(appName)).toBe('native-1');
  }, 300_000);
  it("kill -9 of the Java leader (awslabs/amazon-kinesis-client#1803): a native worker takes the lock once the Java lock's leaseDuration passed without a heartbeat, and gives itself the dead worker's leases; every record delivered from the Java checkpoints", async () => {
    // native-1 looks at the lock every 2 s (a quarter of its own lease duration); the Java item's 120 s is what it waits.
    const { stream, appName, fleet } = await setUp(2, { leaderLockLeaseDurationMs: 8000 });
    const java = new Recorder();
    const delivered = () => new Set([...fleet.deliveredSequenceNumbers(), ...java.deliveries.map((d) => d.sequenceNumber)]);
    const javaApp = await startJava(java, stream, appName, 'java-1');
    await waitFor(async () => (await leaderOf(appName)) === 'java-1', 'the Java worker to take the Leader lock', 60_000);
    expect(await leaderItem(appName)).toMatchObject({ leaseDuration: { S: '120000' } });
    await waitFor(async () => keysOwnedBy(await rowsOf(appName), 'java-1').length === 2, 'both leases assigned to the Java worker', 90_000);

    // native-1 joins as a follower of the live Java leader: it does not take a held lock.
    fleet.start('native-1');
    await waitFor(async () => {
      const { Items } = await dynamo.send(new ScanCommand({ TableName: `${appName}-WorkerMetricStats` }));
      return Items?.some((item) => item.wid?.S === 'native-1') ?? false;
    }, 'native-1 metrics');
    // The live Java leader heartbeats its lock (the lock client rewrites recordVersionNumber every 30 s):
    // what keeps an eligible native worker from ever taking a live Java leader's lock.
    const version = (await leaderItem(appName))?.recordVersionNumber?.S;
    await waitFor(
      async () => {
        const item = await leaderItem(appName);
        return item?.ownerName?.S === 'java-1' && item.recordVersionNumber?.S !== version;
      },
      'a heartbeat of the Java leader',
      60_000,
    );
    const first = await putRecords(kinesis, stream, records('first', 30));
    await waitFor(() => first.every((p) => delivered().has(p.sequenceNumber)), 'the first records', 90_000);
    const atKill = await checkpointsAt(appName, first, 'checkpoints at the last first record');
    expect(await leaderOf(appName)).toBe('java-1');
    const javaKeys = keysOwnedBy(await rowsOf(appName), 'java-1');
    expect(javaKeys.length).toBeGreaterThan(0);

    // kill -9 of the JVM's whole process group, and no restart (the kcl engine's supervisor would start a new daemon).
    const javaWorker = kclWorkers(javaApp)[0];
    const pgid = javaWorker.daemonPid!;
    await (javaWorker as unknown as { supervisor: { kill(): Promise<void> } }).supervisor.kill();
    expect(processGroupAlive(pgid)).toBe(false);
    const second = await putRecords(kinesis, stream, records('second', 30));

    await waitFor(async () => (await leaderOf(appName)) === 'native-1', "native-1 to take the dead Java leader's lock", 200_000);
    const took = fleet
      .events()
      .find((e) => e.kind === 'log' && e.worker === 'native-1' && e.message.startsWith('This worker is now the KCL 3.x leader'));
    expect(took && took.kind === 'log' && took.message).toMatch(
      /java-1 had not renewed it for (\d+) s \(its lease duration is 120000 ms\)/,
    );
    const silentSeconds = Number(/for (\d+) s/.exec((took as { message: string }).message)![1]);
    expect(silentSeconds).toBeGreaterThanOrEqual(120);

    await waitFor(
      async () => keysOwnedBy(await rowsOf(appName), 'native-1').length === 2,
      "the dead worker's leases assigned to native-1",
      60_000,
    );
    // Until a leader came back, nobody moved them: they went from java-1 to native-1 by the new leader's assignment.
    // Waited on: the leader logs its pass once every write of it is answered, and the line reaches the fleet's
    // event file after the table shows the moves (a test that read the file right away failed so in a loaded run).
    const leaderLines = () =>
      fleet
        .events()
        .flatMap((e) => (e.kind === 'log' && e.worker === 'native-1' && e.message.startsWith('KCL 3.x leader:') ? [e.message] : []));
    const notLogged = () =>
      javaKeys.filter((key) => !leaderLines().some((line) => line.includes(`${key} assigned to native-1 (expired, was java-1)`)));
    await waitFor(() => notLogged().length === 0, "native-1's assignment lines for the dead worker's leases", 30_000).catch(
      () => undefined,
    );
    expect({ notLogged: notLogged(), leaderLines: leaderLines() }).toMatchObject({ notLogged: [] });
    await waitFor(() => second.every((p) => delivered().has(p.sequenceNumber)), 'the second records', 60_000);
    for (const p of second) expect(fleet.deliveredSequenceNumbers().has(p.sequenceNumber)).toBe(true);
    const inits = fleet
      .events()
      .filter((e): e is Extract<typeof e, { kind: 'initialize' }> => e.kind === 'initialize' && e.worker === 'native-1');
    for (const key of javaKeys) expect(inits.filter((e) => e.shardId === key).at(-1)?.checkpoint).toBe(atKill.get(key));
    await checkpointsAt(appName, second, 'native-1 checkpoints at the last second record');
  }, 360_000);
});
