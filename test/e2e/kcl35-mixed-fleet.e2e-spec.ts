import { UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { StreamWorkerOptions } from '../../lib';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { createStream, putRecords, type PutResult } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, tableActive, tableExists, uniqueName } from '../support/aws';
import { KCL35_FAST, Kcl35Consumer, killAll } from '../support/kcl35-consumer';
import { javaSessions, nativeSessions, replayViolations, type FleetSession } from '../support/mixed-fleet-sessions';
import { records } from '../support/records';
import { listShards, splitShard } from '../support/reshard';
import { waitFor } from '../support/wait-for';
import { FAST_INTERVALS, WorkerFleet } from '../support/worker-fleet';

/**
 * Native workers as full members of a Java KCL 3.5.1 application in the single-table layout (its
 * migration state, leader lock and worker metrics are entityType rows of the lease table): a Java leader
 * with native followers, a native leader with a Java follower, kill -9 on either side. Every record is
 * delivered, nothing checkpointed is delivered again, and no two-table state is created. Native workers
 * are processes (WorkerFleet); the Java workers are the 3.5.1 test consumer. On kinesis-local + dynalite.
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const javas: Kcl35Consumer[] = [];
const fleets: WorkerFleet[] = [];
afterEach(async () => {
  for (const fleet of fleets.splice(0)) {
    if (process.env.DEBUG_KCL35)
      for (const e of fleet.events()) if (e.kind !== 'batch' && e.kind !== 'checkpointed') console.log(JSON.stringify(e));
    fleet.killAll();
  }
  await killAll(javas.splice(0));
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

type Row = Record<string, AttributeValue>;

async function application(shards: number) {
  const stream = uniqueName('k35mix');
  const appName = uniqueName('k35app');
  await createStream(kinesis, stream, shards);
  // dynalite cannot add the lease-owner GSI afterwards (docs/kcl-engine.md): the table is made with it.
  await createKcl3LeaseTable(dynamo, appName);
  await tableActive(dynamo, appName);
  return { stream, appName };
}

function java(stream: string, appName: string, workerId: string, settings: Record<string, number> = {}) {
  const consumer = new Kcl35Consumer({ stream, applicationName: appName, workerId, settings: { ...KCL35_FAST, ...settings } });
  javas.push(consumer);
  return consumer;
}

function nativeFleet(stream: string, appName: string, extra: Partial<StreamWorkerOptions> = {}) {
  const fleet = new WorkerFleet({
    streamName: stream,
    appName,
    ...FAST_INTERVALS,
    // The same reporter period as the Java workers' (3000): each leader judges liveness by its own period.
    workerMetricsReporterFreqMs: 3000,
    clientVersionPollIntervalMs: 1000,
    gracefulLeaseHandoffTimeoutMs: 10_000,
    leaseAssignmentIntervalMs: 1000,
    ...extra,
  });
  fleets.push(fleet);
  return fleet;
}

const byKey = (rows: Row[], key: string) => rows.find((row) => row.leaseKey.S === key);
const leaseOwners = async (appName: string) =>
  new Map(
    (await scanRaw(dynamo, appName))
      .filter((row) => row.entityType?.S === undefined || row.entityType.S === 'LEASE')
      .map((row) => [row.leaseKey.S!, row.leaseOwner?.S]),
  );

function everyRecordOnce(puts: readonly PutResult[], sessions: readonly FleetSession[]) {
  const delivered = new Set(sessions.flatMap((s) => s.records.map((r) => r.seq)));
  expect(puts.filter((p) => !delivered.has(p.sequenceNumber)).map((p) => p.data.toString())).toEqual([]);
  expect(replayViolations(sessions)).toEqual([]);
}

it('a Java 3.5.1 leader assigns leases to native followers, whose worker metrics are rows of the lease table; kill -9 of a native worker: the Java leader moves its leases to the other', async () => {
  const { stream, appName } = await application(4);
  const puts: PutResult[] = await putRecords(kinesis, stream, records('before', 20));
  // Capped at two leases, the Java leader leaves the other two for the native workers, which start once it
  // holds its two. Started as soon as it holds the lock, they can come first: a Java 3.5.1 leader assigns
  // leases only to workers with a fresh metrics row, its own included, and writes its own 2 s after its
  // LeaseAssignmentManager starts (twice inMemoryWorkerMetricsCaptureFrequencyMillis); native workers that
  // create the leases and publish their rows within those 2 s get all four, two each (the cap holds for
  // every worker), and keep them (seen in a loaded run: the Java worker then held none for 180 s).
  const leader = java(stream, appName, 'java-1', { maxLeasesForWorker: 2 });
  await leader.start();
  await waitFor(
    async () => byKey(await scanRaw(dynamo, appName), 'Leader')?.ownerName?.S === 'java-1',
    'the Java worker to take the leader lock',
    120_000,
  );
  let freeLeases: string[] = [];
  await waitFor(
    async () => {
      const owners = await leaseOwners(appName);
      freeLeases = [...owners].filter(([, owner]) => owner === undefined).map(([key]) => key);
      return owners.size === 4 && [...owners.values()].filter((o) => o === 'java-1').length === 2;
    },
    'the Java leader to create the four leases and take two',
    180_000,
  );
  expect(freeLeases).toHaveLength(2);

  const fleet = nativeFleet(stream, appName);
  fleet.start('native-1');
  fleet.start('native-2');
  const allSessions = () => [...javaSessions(leader.events), ...nativeSessions(fleet.events())];
  await waitFor(
    async () => {
      const owners = await leaseOwners(appName);
      return freeLeases.every((key) => /^native-[12]$/.test(owners.get(key) ?? ''));
    },
    'the Java leader to assign the two free leases to the native workers',
    180_000,
  );
  // Each native worker reports its metrics at its own pace (the second may start later on a loaded machine).
  await waitFor(
    async () => {
      const scanned = await scanRaw(dynamo, appName);
      return ['native-1', 'native-2'].every((worker) => byKey(scanned, worker) !== undefined);
    },
    "both native workers' metrics rows",
    60_000,
  );
  const rows = await scanRaw(dynamo, appName);
  for (const worker of ['native-1', 'native-2']) {
    const metrics = byKey(rows, worker);
    expect(metrics?.entityType.S).toBe('WORKER_METRIC_STATS');
    expect(Object.keys(metrics!).sort()).toEqual(['entityType', 'leaseKey', 'lut', 'opr', 'slu', 'sts', 'sup']);
    expect(metrics!.sup.N).toBe('1');
  }
  expect(byKey(rows, 'Leader')?.ownerName?.S).toBe('java-1');
  expect(await tableExists(dynamo, `${appName}-WorkerMetricStats`)).toBe(false);
  expect(await tableExists(dynamo, `${appName}-CoordinatorState`)).toBe(false);

  puts.push(...(await putRecords(kinesis, stream, records('shared', 20))));
  await waitFor(() => allDelivered(puts, allSessions()), 'every record so far', 120_000);

  const victim = (await leaseOwners(appName)).get([...nativeShards(fleet)][0]) === 'native-1' ? 'native-1' : 'native-2';
  const survivor = victim === 'native-1' ? 'native-2' : 'native-1';
  fleet.kill(victim);
  await waitFor(
    async () => [...(await leaseOwners(appName)).values()].filter((o) => o === survivor).length === 2,
    `the Java leader to move the leases of the killed ${victim} to ${survivor}`,
    120_000,
  );
  puts.push(...(await putRecords(kinesis, stream, records('after-kill', 20))));
  await waitFor(() => allDelivered(puts, allSessions()), 'every record after the kill', 120_000);
  everyRecordOnce(puts, allSessions());
}, 480_000);

it('a native leader with a Java 3.5.1 follower: the native worker takes the lock, hands leases over to the Java worker, and takes them back after the Java worker is killed -9', async () => {
  const { stream, appName } = await application(4);
  const puts: PutResult[] = await putRecords(kinesis, stream, records('java-0', 20));
  // A Java 3.5.1 worker made the application (Migration3.0 = CLIENT_VERSION_3X in the lease table) and stopped:
  // its graceful stop deletes the lock, and leaves its leases owned (Java 3.5.1 releases nothing).
  const first = java(stream, appName, 'java-0');
  await first.start();
  await first.waitFor(() => first.records().length === 20, 'its 20 records', 180_000);
  await first.waitFor(() => first.events.filter((e) => e.event === 'checkpoint').length >= 4, 'its checkpoints');
  await first.stop();
  expect(byKey(await scanRaw(dynamo, appName), 'Leader')).toBeUndefined();

  const fleet = nativeFleet(stream, appName);
  fleet.start('native-1');
  const second = java(stream, appName, 'java-2');
  const allSessions = () => [...javaSessions(first.events), ...javaSessions(second.events), ...nativeSessions(fleet.events())];
  await waitFor(
    async () => byKey(await scanRaw(dynamo, appName), 'Leader')?.ownerName?.S === 'native-1',
    'the native worker to take the leader lock',
    60_000,
  );
  const lock = byKey(await scanRaw(dynamo, appName), 'Leader')!;
  expect(Object.keys(lock).sort()).toEqual(['entityType', 'leaseDuration', 'leaseKey', 'ownerName', 'recordVersionNumber']);
  expect(lock.entityType.S).toBe('LEADER');
  await waitFor(
    async () => [...(await leaseOwners(appName)).values()].every((o) => o === 'native-1'),
    'the native leader to assign itself the stopped Java worker leases',
    120_000,
  );
  puts.push(...(await putRecords(kinesis, stream, records('native', 20))));
  await waitFor(() => allDelivered(puts, allSessions()), 'the records put while the native worker leads alone', 120_000);

  await second.start();
  await waitFor(
    async () => [...(await leaseOwners(appName)).values()].filter((o) => o === 'java-2').length === 2,
    'the native leader to hand two leases over to the Java follower',
    180_000,
  );
  await second.waitFor(
    () => second.events.filter((e) => e.event === 'initialize').length === 2,
    'its processors on the two leases handed over',
  );
  const javaShards = new Set(javaSessions(second.events).map((s) => s.shardId));
  const both = await putRecords(kinesis, stream, records('both', 20));
  puts.push(...both);
  await waitFor(() => allDelivered(puts, allSessions()), 'the records put while both work', 120_000);
  // What went to the Java worker's shards after it started there, the Java worker delivered.
  expect(second.records().map((r) => r.data)).toEqual(
    expect.arrayContaining(both.filter((p) => javaShards.has(p.shardId)).map((p) => p.data.toString())),
  );
  expect(byKey(await scanRaw(dynamo, appName), 'Leader')?.ownerName?.S).toBe('native-1');

  await second.kill();
  await waitFor(
    async () => [...(await leaseOwners(appName)).values()].every((o) => o === 'native-1'),
    'the native leader to take back the killed Java worker leases',
    120_000,
  );
  puts.push(...(await putRecords(kinesis, stream, records('after-kill', 20))));
  await waitFor(() => allDelivered(puts, allSessions()), 'every record after the kill', 120_000);
  everyRecordOnce(puts, allSessions());
}, 600_000);

it('2.x -> 3.5 migration with native workers present: a Java 3.5.1 worker deployed in compatible mode writes its state into the lease table, the running native workers find it there at their next poll and publish their metrics there, and after the flip to 3.x a native leader assigns leases to the Java worker', async () => {
  const { stream, appName } = await application(4);
  const fleet = nativeFleet(stream, appName);
  fleet.start('native-1');
  fleet.start('native-2');
  const puts: PutResult[] = await putRecords(kinesis, stream, records('2x', 20));
  await waitFor(() => allDelivered(puts, nativeSessions(fleet.events())), 'the records of the 2.x application', 120_000);
  expect(await scanRaw(dynamo, appName)).toHaveLength(4);

  // The rolling upgrade's first step: a KCL 3.5.1 worker in CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X.
  const upgraded = new Kcl35Consumer({
    stream,
    applicationName: appName,
    workerId: 'java-1',
    clientVersionConfig: 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X',
    settings: KCL35_FAST,
  });
  javas.push(upgraded);
  const sessions = () => [...javaSessions(upgraded.events), ...nativeSessions(fleet.events())];
  await upgraded.start();
  await waitFor(async () => {
    const rows = await scanRaw(dynamo, appName);
    return (
      byKey(rows, 'Migration3.0')?.cv?.S === 'CLIENT_VERSION_UPGRADE_FROM_2X' &&
      byKey(rows, 'java-1')?.entityType?.S === 'WORKER_METRIC_STATS'
    );
  }, 'the Java worker migration state and metrics rows in the lease table');
  // The running native workers (started with no 3.x state, two-table layout assumed) find the state in the
  // lease table at their next poll, and from then on publish their metrics there.
  await waitFor(async () => {
    const rows = await scanRaw(dynamo, appName);
    return ['native-1', 'native-2'].every((w) => byKey(rows, w)?.entityType?.S === 'WORKER_METRIC_STATS');
  }, 'the native workers metrics rows in the lease table');
  expect(await tableExists(dynamo, `${appName}-WorkerMetricStats`)).toBe(false);
  expect(await tableExists(dynamo, `${appName}-CoordinatorState`)).toBe(false);
  puts.push(...(await putRecords(kinesis, stream, records('compatible', 20))));
  await waitFor(() => allDelivered(puts, sessions()), 'the records of the compatible phase', 120_000);

  // The flip, written as the Java leader's MigrationReadyMonitor writes it once every lease owner has
  // published fresh metrics for its 10-minute stabilisation window (too long for a test).
  const before = byKey(await scanRaw(dynamo, appName), 'Migration3.0')!;
  await dynamo.send(
    new UpdateItemCommand({
      TableName: appName,
      Key: { leaseKey: { S: 'Migration3.0' } },
      UpdateExpression: 'SET cv = :cv, mb = :mb, mts = :mts, h = list_append(h, :entry)',
      ConditionExpression: 'cv = :previous AND entityType = :et',
      ExpressionAttributeValues: {
        ':cv': { S: 'CLIENT_VERSION_3X_WITH_ROLLBACK' },
        ':mb': { S: 'java-1' },
        ':mts': { N: String(Date.now()) },
        ':entry': { L: [{ M: { cv: before.cv, mb: before.mb, mts: before.mts } }] },
        ':previous': { S: 'CLIENT_VERSION_UPGRADE_FROM_2X' },
        ':et': { S: 'CLIENT_VERSION_MIGRATION' },
      },
    }),
  );
  await waitFor(
    async () => /^native-/.test(byKey(await scanRaw(dynamo, appName), 'Leader')?.ownerName?.S ?? ''),
    'a native worker to take the leader lock',
    60_000,
  );
  // The Java worker polls the state every minute (plus jitter).
  await upgraded.waitFor(
    () => upgraded.logged(/Entering \S*MigrationClientVersion3xWithRollbackState/),
    'its switch to the 3.x rules',
    180_000,
  );
  await waitFor(
    async () => [...(await leaseOwners(appName)).values()].some((o) => o === 'java-1'),
    'the native leader to assign the Java worker a lease',
    180_000,
  );
  puts.push(...(await putRecords(kinesis, stream, records('3x', 20))));
  await waitFor(() => allDelivered(puts, sessions()), 'the records after the flip', 120_000);
  expect(byKey(await scanRaw(dynamo, appName), 'Leader')?.entityType?.S).toBe('LEADER');
  everyRecordOnce(puts, sessions());
}, 600_000);

it('a split in a mixed 3.5 fleet: the Java owner ends the parent and the Java leader gives both children to the native worker, which starts them only after the parent finished; every record delivered once', async () => {
  const { stream, appName } = await application(2);
  // The Java leader's maxLeasesForWorker caps every worker it assigns to (its LeaseAssignmentManager), not
  // only itself: at 2, with both leases on the Java worker, the two children can only go to the native one.
  const leader = java(stream, appName, 'java-1', { maxLeasesForWorker: 2 });
  await leader.start();
  await waitFor(
    async () => [...(await leaseOwners(appName)).values()].filter((o) => o === 'java-1').length === 2,
    'the Java worker to hold both leases',
    180_000,
  );
  const fleet = nativeFleet(stream, appName);
  fleet.start('native-1');
  const sessions = () => [...javaSessions(leader.events), ...nativeSessions(fleet.events())];
  await waitFor(
    async () => byKey(await scanRaw(dynamo, appName), 'native-1')?.entityType?.S === 'WORKER_METRIC_STATS',
    'the native worker metrics row',
  );
  const puts: PutResult[] = await putRecords(kinesis, stream, records('parent', 20));
  await waitFor(() => allDelivered(puts, sessions()), 'the parent records', 120_000);
  const [parent] = await listShards(kinesis, stream);
  await splitShard(kinesis, stream, parent.ShardId!);
  const after = await putRecords(kinesis, stream, records('children', 30));
  puts.push(...after);
  const children = [...new Set(after.map((p) => p.shardId))].filter((id) => id !== parent.ShardId && id !== 'shardId-000000000001');
  expect(children).toHaveLength(2);
  await leader
    .waitFor(() => allDelivered(puts, sessions()), 'every record, parent and children', 240_000)
    .catch(async (error: Error) => {
      error.message += `\n--- lease table ---\n${JSON.stringify(await scanRaw(dynamo, appName))}`;
      throw error;
    });

  // The parent ended (shardEnded on Java, TERMINATE on native) before any child session started.
  const parentEnd = Math.max(
    ...leader.events.filter((e) => e.event === 'shardEnded' && e.shardId === parent.ShardId).map((e) => e.at),
    ...fleet.events().flatMap((e) => (e.kind === 'shutdown' && e.shardId === parent.ShardId && e.reason === 'TERMINATE' ? [e.at] : [])),
  );
  expect(parentEnd).toBeGreaterThan(0);
  const childStarts = sessions()
    .filter((s) => children.includes(s.shardId))
    .map((s) => s.startedAt);
  expect(childStarts.length).toBeGreaterThanOrEqual(2);
  expect(Math.min(...childStarts)).toBeGreaterThan(parentEnd);
  const rows = await scanRaw(dynamo, appName);
  expect(byKey(rows, parent.ShardId!)?.checkpoint?.S).toBe('SHARD_END');
  everyRecordOnce(puts, sessions());
}, 480_000);

function allDelivered(puts: readonly PutResult[], sessions: readonly FleetSession[]): boolean {
  const delivered = new Set(sessions.flatMap((s) => s.records.map((r) => r.seq)));
  return puts.every((p) => delivered.has(p.sequenceNumber));
}

/** The shards the native workers have started on. */
function nativeShards(fleet: WorkerFleet): Set<string> {
  return new Set(nativeSessions(fleet.events()).map((s) => s.shardId));
}
