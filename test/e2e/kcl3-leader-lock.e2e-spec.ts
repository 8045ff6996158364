import { randomUUID } from 'node:crypto';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { TestingModule } from '@nestjs/testing';
import { KinesisWorkerService } from '../../lib';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { LeaderElection } from '../../lib/engines/native/kcl3/leader-election';
import { createStream, putRecords, startFaultProxy, type FaultProxy } from '../../lib/testing';
import { dynamoClient, endpoints, kinesisClient, scanRaw, uniqueName, tableActive } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';
import { FAST_INTERVALS, WorkerFleet } from '../support/worker-fleet';

/**
 * The native KCL 3.x leader on dynalite, no JVM: the `Leader` lock of `<app>-CoordinatorState` written
 * with the dynamodb-lock-client 1.4.0 protocol (real conditional writes), its failover (release, a silent
 * holder, a Java 3.1.3 holder's lock), the lock under DynamoDB faults, and real native worker processes
 * that lead a 3.x application: they assign the leases, fail over after kill -9, and give leadership up
 * after failed assignment passes.
 */
const dynamo = dynamoClient();
const kinesis = kinesisClient();
let proxy: FaultProxy;
const elections = new Set<LeaderElection>();
const clients: DynamoDBClient[] = [];
const fleets: WorkerFleet[] = [];
const apps: TestingModule[] = [];

beforeAll(async () => {
  proxy = await startFaultProxy({ target: endpoints().dynamodb });
});
afterEach(async () => {
  proxy.clear();
  for (const fleet of fleets.splice(0)) fleet.killAll();
  await Promise.all([...elections].map((election) => election.stop()));
  elections.clear();
  await Promise.all(apps.splice(0).map((app) => app.close()));
  for (const client of clients.splice(0)) client.destroy();
});
afterAll(async () => {
  dynamo.destroy();
  kinesis.destroy();
  await proxy.close();
});

const LEASE_MS = 2_000;

async function createTable(name: string, key: string) {
  await dynamo.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await waitUntilTableExists({ client: dynamo, maxWaitTime: 30, minDelay: 0.1 }, { TableName: name });
}

async function coordinatorState(): Promise<string> {
  const table = `${uniqueName('lock')}-CoordinatorState`;
  await createTable(table, 'key');
  return table;
}

/** A contender with its own client; through the fault proxy when `viaProxy`. `maxAttempts: 1` lets a fault reach the election as it is. */
function contender(table: string, workerId: string, options: { viaProxy?: boolean; leaseDurationMs?: number; eligible?: boolean } = {}) {
  const client = new DynamoDBClient({ endpoint: options.viaProxy ? proxy.url : endpoints().dynamodb, maxAttempts: 1 });
  clients.push(client);
  const logger = new CapturingLogger();
  const election = new LeaderElection(
    client,
    {
      workerId,
      eligible: options.eligible ?? true,
      leaseDurationMs: options.leaseDurationMs ?? LEASE_MS,
      coordinatorStateTableName: table,
    },
    logger,
  );
  elections.add(election);
  return { election, logger, workerId };
}

async function lockItem(table: string): Promise<Record<string, AttributeValue> | undefined> {
  return (await dynamo.send(new GetItemCommand({ TableName: table, Key: { key: { S: 'Leader' } }, ConsistentRead: true }))).Item;
}

/**
 * Samples isLeader of every contender every few milliseconds until `done` holds, and fails on any sample
 * where two of them lead at once. Returns the ids that led, in the order they first led.
 */
async function watchLeaders(
  contenders: readonly { election: LeaderElection; workerId: string }[],
  done: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
) {
  const order: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leading = contenders.filter((c) => c.election.isLeader).map((c) => c.workerId);
    expect(leading.length).toBeLessThanOrEqual(1);
    for (const id of leading) if (!order.includes(id)) order.push(id);
    if (await done()) return order;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What a kill -9 leaves: the holder's timer stops, nothing is released, its item stays as last written. */
function freeze(election: LeaderElection): void {
  clearInterval((election as unknown as { timer?: NodeJS.Timeout }).timer);
  elections.delete(election);
}

describe('the Leader lock (dynamodb-lock-client protocol) on real conditional writes', () => {
  it("of three contenders exactly one leads, with the lock client's exact attributes; a holder that stops (release) is replaced at once", async () => {
    const table = await coordinatorState();
    const all = ['native-a', 'native-b', 'native-c'].map((id) => contender(table, id));
    for (const c of all) c.election.start();
    const [first] = await watchLeaders(all, () => all.some((c) => c.election.isLeader), 'a leader');
    // Several heartbeats: still exactly one, always the same.
    const heartbeats = new Set<string>();
    const led = await watchLeaders(
      all,
      async () => heartbeats.add((await lockItem(table))!.recordVersionNumber.S!).size >= 4,
      'four heartbeats',
    );
    expect(led).toEqual([first]);

    const item = (await lockItem(table))!;
    expect(Object.keys(item).sort()).toEqual(['key', 'leaseDuration', 'ownerName', 'recordVersionNumber']);
    expect(item.key).toEqual({ S: 'Leader' });
    expect(item.ownerName).toEqual({ S: first });
    expect(item.leaseDuration).toEqual({ S: String(LEASE_MS) });
    expect(item.recordVersionNumber.S).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    for (const c of all) expect(c.election.state).toEqual({ kind: 'live', leader: first });

    const holder = all.find((c) => c.workerId === first)!;
    await holder.election.stop();
    elections.delete(holder.election);
    expect(holder.logger.lines).toContain(`LOG Released the KCL 3.x leader lock in ${table}.`);
    const rest = all.filter((c) => c !== holder);
    const [second] = await watchLeaders(rest, () => rest.some((c) => c.election.isLeader), 'a new leader');
    const next = rest.find((c) => c.workerId === second)!;
    // Taken because the item was gone, not because a lease duration passed.
    expect(next.logger.lines.some((line) => line.includes('This worker is now the KCL 3.x leader (no worker held it)'))).toBe(true);
    expect((await lockItem(table))!.ownerName).toEqual({ S: second });
  });

  it('a holder that stops heartbeating without release (as after kill -9) is replaced after the lease duration, never while it still believes it leads', async () => {
    const table = await coordinatorState();
    const a = contender(table, 'native-a');
    a.election.start();
    await waitFor(() => a.election.isLeader, 'native-a leads');
    const b = contender(table, 'native-b');
    b.election.start();
    await waitFor(() => b.election.state.kind === 'live', 'native-b sees the leader');
    freeze(a.election);
    const rvn = (await lockItem(table))!.recordVersionNumber.S;
    let aStoppedLeadingAt = 0;
    await watchLeaders(
      [a, b],
      () => {
        if (!a.election.isLeader && aStoppedLeadingAt === 0) aStoppedLeadingAt = Date.now();
        return b.election.isLeader;
      },
      'native-b leads',
    );
    expect(aStoppedLeadingAt).toBeGreaterThan(0);
    // b judged the item dead on its own clock: it saw the same rvn for a whole lease duration (not a release).
    expect(
      b.logger.lines.some(
        (line) => line.includes(`native-a had not renewed it for`) && line.includes(`its lease duration is ${LEASE_MS} ms`),
      ),
    ).toBe(true);
    const item = (await lockItem(table))!;
    expect(item.ownerName).toEqual({ S: 'native-b' });
    expect(item.recordVersionNumber.S).not.toBe(rvn);
  });

  it('a lock written as a Java 3.1.3 worker writes it is respected while its rvn moves, and taken once it stays unchanged for its leaseDuration', async () => {
    const table = await coordinatorState();
    // The Java DynamoDBLockBasedLeaderDecider writes leaseDuration '120000'; 3000 keeps the test short, the rule is the same.
    const javaItem = (rvn: string) => ({
      key: { S: 'Leader' },
      ownerName: { S: 'java-x' },
      leaseDuration: { S: '3000' },
      recordVersionNumber: { S: rvn },
    });
    await dynamo.send(new PutItemCommand({ TableName: table, Item: javaItem(randomUUID()) }));
    const native = contender(table, 'native-a');
    native.election.start();
    // The Java holder heartbeats every second for 5 s: longer than its duration, so only the moving rvn keeps it.
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(native.election.isLeader).toBe(false);
      await dynamo.send(new PutItemCommand({ TableName: table, Item: javaItem(randomUUID()) }));
    }
    await waitFor(() => native.election.state.kind === 'live', 'the Java leader seen');
    expect(native.election.state).toEqual({ kind: 'live', leader: 'java-x' });
    const lastJavaRvn = (await lockItem(table))!.recordVersionNumber.S;
    await waitFor(() => native.election.isLeader, 'the native worker takes the silent Java lock', 15_000);
    expect(
      native.logger.lines.some((line) => line.includes('java-x had not renewed it for') && line.includes('its lease duration is 3000 ms')),
    ).toBe(true);
    const item = (await lockItem(table))!;
    expect(item.ownerName).toEqual({ S: 'native-a' });
    expect(item.leaseDuration).toEqual({ S: String(LEASE_MS) });
    expect(item.recordVersionNumber.S).not.toBe(lastJavaRvn);
  });

  it('a released lock (isReleased "1", as the lock client leaves it when not deleting) is taken at once', async () => {
    const table = await coordinatorState();
    await dynamo.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          key: { S: 'Leader' },
          ownerName: { S: 'java-x' },
          leaseDuration: { S: '120000' },
          recordVersionNumber: { S: randomUUID() },
          isReleased: { S: '1' },
        },
      }),
    );
    const native = contender(table, 'native-a');
    native.election.start();
    await waitFor(() => native.election.isLeader, 'the released lock taken');
    expect(native.logger.lines.some((line) => line.includes('java-x had released it'))).toBe(true);
    expect((await lockItem(table))!.isReleased).toBeUndefined();
  });

  it.each(['throttle', 'http500', 'blackhole'] as const)(
    'heartbeats failing (%s) for longer than the lease duration: the holder stops leading, another worker takes over, never two at once',
    async (fault) => {
      const table = await coordinatorState();
      const holder = contender(table, 'native-a', { viaProxy: true });
      holder.election.start();
      await waitFor(() => holder.election.isLeader, 'native-a leads');
      const other = contender(table, 'native-b');
      other.election.start();
      await waitFor(() => other.election.state.kind === 'live', 'native-b sees the leader');
      const rule = proxy.set((request) => request.body?.TableName === table, fault);
      await watchLeaders([holder, other], () => other.election.isLeader, 'native-b leads');
      expect(holder.election.isLeader).toBe(false);
      expect(rule.applied).toBeGreaterThan(0);
      // The warning follows the failed request's answer (a blackholed one is cut off after two heartbeat periods).
      await waitFor(
        () =>
          holder.logger.lines.some((line) =>
            line.startsWith('WARN The KCL 3.x leader lock could not be renewed within its lease duration'),
          ),
        "the holder's warning",
      );
      rule.remove();
      // Once DynamoDB answers again, the old holder finds the new leader and stays a follower.
      await waitFor(
        () => holder.election.state.kind === 'live' && (holder.election.state as { leader: string }).leader === 'native-b',
        'native-a sees native-b lead',
        15_000,
      );
      await watchLeaders(
        [holder, other],
        async () => (await lockItem(table))!.ownerName.S === 'native-b' && other.election.isLeader,
        'native-b still leads',
      );
    },
  );

  it('kcl3LeaderEligible false: a worker that may not lead never writes the lock, even when nobody holds it', async () => {
    const table = await coordinatorState();
    const watcher = contender(table, 'native-a', { eligible: false, viaProxy: true });
    proxy.resetStats();
    watcher.election.start();
    await waitFor(() => watcher.election.state.kind === 'none', 'no leader seen');
    await waitFor(() => proxy.count('GetItem') >= 4, 'several looks at the lock');
    expect([...proxy.operations()].filter((op) => !op.endsWith(':GetItem'))).toEqual([]);
    expect(await lockItem(table)).toBeUndefined();
    expect(watcher.logger.lines.filter((line) => line.startsWith('WARN No KCL 3.x leader'))).toHaveLength(1);
  });
});

/** A native-only KCL 3.x application: the 3.x lease table (with its GSI), the coordinator state (mode 3X), the worker metrics table. */
async function threeXApplication(shards: number) {
  const stream = uniqueName('kcl3-lead');
  const appName = uniqueName('app');
  await createStream(kinesis, stream, shards);
  await createKcl3LeaseTable(dynamo, appName).then(() => tableActive(dynamo, appName));
  await createTable(`${appName}-CoordinatorState`, 'key');
  await createTable(`${appName}-WorkerMetricStats`, 'wid');
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
  return { stream, appName };
}

/** Intervals that make the native leader act in seconds. */
const LEADER_FAST = {
  leaderLockLeaseDurationMs: LEASE_MS,
  leaseAssignmentIntervalMs: 500,
  workerMetricsReporterFreqMs: 500,
  clientVersionPollIntervalMs: 1_000,
  gracefulLeaseHandoffTimeoutMs: 2_000,
};

const leaderOf = async (appName: string) => (await lockItem(`${appName}-CoordinatorState`))?.ownerName?.S;
const ownersOf = async (appName: string) => new Map((await scanRaw(dynamo, appName)).map((row) => [row.leaseKey.S!, row.leaseOwner?.S]));

describe('native worker processes lead a KCL 3.x application', () => {
  it('two workers: one leads and assigns every lease to the two of them; after kill -9 of the leader the other leads, gets its leases, and every record is delivered', async () => {
    const { stream, appName } = await threeXApplication(4);
    const fleet = new WorkerFleet({ streamName: stream, appName, ...FAST_INTERVALS, ...LEADER_FAST });
    fleets.push(fleet);
    fleet.start('native-1');
    await waitFor(async () => (await leaderOf(appName)) === 'native-1', 'native-1 leads');
    fleet.start('native-2');
    await waitFor(async () => (await scanRaw(dynamo, appName)).length === 4, 'the four leases (shard sync)');
    await waitFor(async () => {
      const owners = [...(await ownersOf(appName)).values()];
      return owners.filter((o) => o === 'native-1').length === 2 && owners.filter((o) => o === 'native-2').length === 2;
    }, 'two leases each (assignment, then count balancing)');
    // Balancing is a graceful hand-over: native-2 starts its two shards once native-1 has let them go.
    const initialized = (worker: string) =>
      new Set(
        fleet
          .events()
          .filter((e) => e.kind === 'initialize' && e.worker === worker)
          .map((e) => (e as { shardId: string }).shardId),
      );
    await waitFor(() => initialized('native-2').size === 2, 'native-2 processing its two shards');
    const first = await putRecords(kinesis, stream, records('before', 40));
    await waitFor(() => fleet.deliveredAll(first), 'records delivered by both workers');
    expect(
      new Set(
        fleet
          .events()
          .filter((e) => e.kind === 'batch')
          .map((e) => e.worker),
      ),
    ).toEqual(new Set(['native-1', 'native-2']));

    fleet.kill('native-1');
    await waitFor(async () => (await leaderOf(appName)) === 'native-2', "native-2 takes the dead leader's lock", 30_000);
    await waitFor(
      async () => [...(await ownersOf(appName)).values()].every((o) => o === 'native-2'),
      'every lease assigned to native-2',
      30_000,
    );
    const second = await putRecords(kinesis, stream, records('after', 40));
    await waitFor(() => fleet.deliveredAll(second), 'records after the failover delivered');
    const logs = fleet
      .events()
      .filter((e) => e.kind === 'log' && e.worker === 'native-2')
      .map((e) => (e as { message: string }).message);
    expect(logs.some((m) => m.includes('This worker is now the KCL 3.x leader (native-1 had not renewed it for'))).toBe(true);
    expect(logs.some((m) => /KCL 3\.x leader: .*assigned to native-2 \(expired, was native-1\)/.test(m))).toBe(true);
  });

  async function leaderAndFollower() {
    const { stream, appName } = await threeXApplication(2);
    const loggers = { a: new CapturingLogger(), b: new CapturingLogger() };
    // native-a through the fault proxy, started first so it leads; native-b direct. Shard sync only at
    // start: then every Scan of the lease table through the proxy is native-a's assignment pass.
    const a = await startApp(new Recorder(), recordingProcessor(stream), {
      appName,
      engine: 'native',
      workerId: 'native-a',
      leaseTakerIntervalMs: 500,
      shardSyncIntervalMs: 600_000,
      ...LEADER_FAST,
      dynamodb: { endpoint: proxy.url, maxAttempts: 1 },
      logger: loggers.a,
    });
    apps.push(a);
    const workerA = a.get(KinesisWorkerService).workers()[0];
    await waitFor(() => workerA.describe().kcl3?.leading === true, 'native-a leads');
    const b = await startApp(new Recorder(), recordingProcessor(stream), {
      appName,
      engine: 'native',
      workerId: 'native-b',
      leaseTakerIntervalMs: 500,
      shardSyncIntervalMs: 600_000,
      ...LEADER_FAST,
      logger: loggers.b,
    });
    apps.push(b);
    const workerB = b.get(KinesisWorkerService).workers()[0];
    await waitFor(() => workerB.describe().kcl3?.leader === 'native-a', 'native-b follows native-a');
    await waitFor(async () => [...(await ownersOf(appName)).values()].filter((o) => o !== undefined).length === 2, 'both leases assigned');
    return { appName, workerA, workerB, loggers };
  }

  it('assignment passes failing (Scan of the lease table) three times in a row: the leader gives the lock up and the other worker leads; one throttled Scan is only retried at the next pass', async () => {
    const { appName, workerA, workerB, loggers } = await leaderAndFollower();
    const leaseScans = (request: { operation: string; body?: Readonly<Record<string, unknown>> }) =>
      request.operation === 'Scan' && request.body?.TableName === appName;

    // One throttled Scan: the pass fails once, the next one succeeds, leadership stays.
    const once = proxy.set(leaseScans, 'throttle', { times: 1 });
    await waitFor(() => once.applied === 1, 'one throttled Scan');
    await waitFor(
      () => loggers.a.lines.some((line) => line.startsWith('WARN KCL 3.x leader: the lease assignment pass failed')),
      'the failed pass logged',
    );
    const scansAfter = proxy.count('Scan');
    await waitFor(() => proxy.count('Scan') >= scansAfter + 4, 'later passes scanning again');
    expect(loggers.a.lines.some((line) => line.includes('giving up leadership'))).toBe(false);
    expect(workerA.describe().kcl3?.leading).toBe(true);

    // Every Scan of the lease table fails: after three passes native-a stands down.
    const failing = proxy.set(leaseScans, 'http500');
    await waitFor(
      () =>
        loggers.a.lines.some((line) => line.startsWith('ERROR KCL 3.x leader: 3 assignment passes failed in a row; giving up leadership')),
      'native-a gives leadership up',
      30_000,
    );
    failing.remove();
    await waitFor(() => workerB.describe().kcl3?.leading === true, 'native-b leads', 30_000);
    expect(workerA.describe().kcl3?.leading).toBe(false);
    await waitFor(() => workerA.describe().kcl3?.leader === 'native-b', 'native-a follows native-b');
    expect(await leaderOf(appName)).toBe('native-b');

    expect(loggers.b.lines.some((line) => line.includes('This worker is now the KCL 3.x leader (no worker held it)'))).toBe(true);
  });

  it("the leader's heartbeats blackholed for longer than the lease duration: describe().kcl3.leading turns false and the other worker takes over", async () => {
    const { appName, workerA, workerB, loggers } = await leaderAndFollower();
    const rule = proxy.set(
      (request) => request.body?.TableName === `${appName}-CoordinatorState` && request.operation === 'UpdateItem',
      'blackhole',
    );
    await waitFor(() => workerA.describe().kcl3?.leading !== true, 'native-a no longer leading', 30_000);
    await waitFor(() => workerB.describe().kcl3?.leading === true, 'native-b leads', 30_000);
    expect(workerA.describe().kcl3?.leading).not.toBe(true);
    expect(
      loggers.a.lines.some((line) => line.startsWith('WARN The KCL 3.x leader lock could not be renewed within its lease duration')),
    ).toBe(true);
    rule.remove();
    await waitFor(() => workerA.describe().kcl3?.leader === 'native-b', 'native-a follows native-b', 30_000);
    expect(workerA.describe().kcl3?.leading).toBe(false);
    expect(await leaderOf(appName)).toBe('native-b');
  });
});
