import { CreateTableCommand, GetItemCommand, PutItemCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { createStream, type PutResult } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, uniqueName, tableActive } from '../support/aws';
import { ownerCounts, readLeases } from '../support/lease-table';
import { BackgroundProducer } from '../support/producer';
import { listShards, splitShard } from '../support/reshard';
import { duplicateReport, orderViolations, overlapViolations } from '../support/verifier';
import { waitFor } from '../support/wait-for';
import { FAST_INTERVALS, WorkerFleet } from '../support/worker-fleet';
import type { WorkerFileEvent } from '../support/worker-process';

/**
 * A native-only KCL 3.x application: the Java fleet is gone, its tables stay (the lease table with the
 * LeaseOwnerToLeaseKeyIndex GSI, <app>-CoordinatorState with Migration3.0 = CLIENT_VERSION_3X,
 * <app>-WorkerMetricStats), and native worker processes run the application by themselves in 3.x mode:
 * one of them holds the Leader lock and assigns the leases, the others follow. No JVM. On dynalite +
 * kinesis-local, real worker processes (kill -9 able).
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const fleets: WorkerFleet[] = [];
const watchers: LockWatcher[] = [];
afterEach(async () => {
  await BackgroundProducer.stopAll();
  for (const watcher of watchers.splice(0)) await watcher.stop();
  for (const fleet of fleets.splice(0)) {
    if (process.env.DEBUG_KCL3) for (const e of fleet.events()) if (e.kind === 'log') console.log(JSON.stringify(e));
    fleet.killAll();
  }
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

const LOCK_MS = 4000;

async function createTable(name: string, key: string) {
  await dynamo.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // dynalite answers CreateTable while the table is CREATING; a write right after can meet ResourceNotFound.
  await waitUntilTableExists({ client: dynamo, maxWaitTime: 30, minDelay: 0.1 }, { TableName: name });
}

/** The tables a Java fleet deployed with CLIENT_VERSION_CONFIG_3X leaves behind (kcl3-modes.e2e-spec.ts observed them). */
async function setUp(shards: number, extra: object = {}, { metricsTable = true } = {}) {
  const stream = uniqueName('kcl3-leader');
  const appName = uniqueName('app');
  await createStream(kinesis, stream, shards);
  await createKcl3LeaseTable(dynamo, appName).then(() => tableActive(dynamo, appName));
  await createTable(`${appName}-CoordinatorState`, 'key');
  if (metricsTable) await createTable(`${appName}-WorkerMetricStats`, 'wid');
  await dynamo.send(
    new PutItemCommand({
      TableName: `${appName}-CoordinatorState`,
      Item: {
        key: { S: 'Migration3.0' },
        cv: { S: 'CLIENT_VERSION_3X' },
        mb: { S: 'java-gone' },
        mts: { N: String(Date.now()) },
        h: { L: [] },
      },
    }),
  );
  const fleet = new WorkerFleet({
    streamName: stream,
    appName,
    ...FAST_INTERVALS,
    workerMetricsReporterFreqMs: 1000,
    clientVersionPollIntervalMs: 1000,
    leaderLockLeaseDurationMs: LOCK_MS,
    leaseAssignmentIntervalMs: 1000,
    gracefulLeaseHandoffTimeoutMs: 5000,
    ...extra,
  });
  fleets.push(fleet);
  const producer = new BackgroundProducer(kinesis, stream, 10, 200);
  const watcher = new LockWatcher(`${appName}-CoordinatorState`);
  watchers.push(watcher);
  return { stream, appName, fleet, producer, watcher };
}

/** Samples the Leader item: every distinct (owner, recordVersionNumber) and every time it was absent. */
class LockWatcher {
  /** Owner per sample, undefined when the item was absent; consecutive repeats collapsed. */
  readonly owners: (string | undefined)[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly table: string) {
    this.loop = (async () => {
      while (this.running) {
        const { Item } = await dynamo
          .send(new GetItemCommand({ TableName: table, Key: { key: { S: 'Leader' } }, ConsistentRead: true }))
          .catch(() => ({ Item: undefined }));
        const owner = Item?.isReleased ? undefined : Item?.ownerName?.S;
        if (this.owners.length === 0 || this.owners.at(-1) !== owner) this.owners.push(owner);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
  }

  /** The owners since the first one (the item is absent until the first worker takes it). */
  holders(): (string | undefined)[] {
    const first = this.owners.findIndex((owner) => owner !== undefined);
    return first < 0 ? [] : this.owners.slice(first);
  }

  async current(): Promise<string | undefined> {
    const { Item } = await dynamo.send(new GetItemCommand({ TableName: this.table, Key: { key: { S: 'Leader' } }, ConsistentRead: true }));
    return Item?.isReleased ? undefined : Item?.ownerName?.S;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

type LogEvent = Extract<WorkerFileEvent, { kind: 'log' }>;
const logs = (fleet: WorkerFleet, worker?: string, contains?: string) =>
  fleet
    .events()
    .filter(
      (e): e is LogEvent =>
        e.kind === 'log' && (worker === undefined || e.worker === worker) && (contains === undefined || e.message.includes(contains)),
    );
/**
 * Each time a worker took the lock, in order, a worker that took it again right after itself counted once
 * (a heartbeat whose answer was lost under load makes the holder re-take its own lock: "held under this worker id").
 */
const becameLeader = (fleet: WorkerFleet) =>
  logs(fleet, undefined, 'This worker is now the KCL 3.x leader')
    .sort((a, b) => a.at - b.at)
    .filter((e, i, all) => i === 0 || all[i - 1].worker !== e.worker);

const cleanedUp = (fleet: WorkerFleet, shardId: string) =>
  logs(fleet, undefined, 'Removed the finished leases').some((e) => e.message.includes(shardId));

const countsOf = async (appName: string) => ownerCounts(await readLeases(dynamo, appName));

/** Every record delivered, in order within each processor session, duplicates only inside the at-least-once window, no two workers on one shard at once. */
async function expectEveryRecord(fleet: WorkerFleet, puts: readonly PutResult[], appName: string) {
  await waitFor(() => fleet.deliveredAll(puts), 'every record', 120_000);
  const events = fleet.events();
  const report = duplicateReport(puts, events);
  expect(report.missing).toEqual([]);
  expect(report.unexplained).toEqual([]);
  expect(orderViolations(events)).toEqual([]);
  expect(overlapViolations(events)).toEqual([]);
  // Checkpoints kept: each shard's stored checkpoint reaches its last record.
  const last = new Map<string, string>();
  for (const p of puts)
    if (!last.has(p.shardId) || BigInt(p.sequenceNumber) > BigInt(last.get(p.shardId)!)) last.set(p.shardId, p.sequenceNumber);
  await waitFor(
    async () => {
      const rows = await scanRaw(dynamo, appName);
      return [...last].every(([shardId, seq]) => {
        const row = rows.find((r) => r.leaseKey.S === shardId);
        // A finished parent's lease is deleted once its children have started (lease cleanup).
        if (!row) return cleanedUp(fleet, shardId);
        const checkpoint = row.checkpoint?.S;
        return checkpoint === 'SHARD_END' || (checkpoint !== undefined && /^\d+$/.test(checkpoint) && BigInt(checkpoint) >= BigInt(seq));
      });
    },
    'checkpoints at the last record of each shard',
    60_000,
  );
}

describe('a native-only KCL 3.x application (native workers lead)', () => {
  it('three workers on 6 shards: one leader among them, every lease assigned, balanced 2/2/2 by graceful hand-overs; kill -9 of a follower moves its leases to the survivors', async () => {
    const { appName, fleet, producer, watcher } = await setUp(6);
    producer.start();
    fleet.start('native-1');
    // Alone, the first worker leads and is the only live worker: it gets every lease.
    await waitFor(async () => (await countsOf(appName)).byOwner.get('native-1') === 6, 'native-1 to hold all 6', 60_000);
    expect(await watcher.current()).toBe('native-1');
    fleet.start('native-2');
    fleet.start('native-3');
    await waitFor(
      async () => {
        const { counts, unowned } = await countsOf(appName);
        return unowned === 0 && counts.join() === '2,2,2';
      },
      '2/2/2',
      90_000,
    );
    // The moves were the leader's graceful hand-overs: the old owner shut down (REQUESTED) and the lease went on from its checkpoint.
    // Waited on: the worker's log lines reach the fleet's event file after the table shows the moves.
    await waitFor(() => logs(fleet, 'native-1', 'handed over to').length > 0, "native-1's hand-over log lines");
    await waitFor(
      async () => (await scanRaw(dynamo, appName)).every((row) => row.checkpointOwner === undefined),
      'every hand-over finished',
    );
    expect(
      fleet.events().filter((e) => e.kind === 'shutdown' && e.worker === 'native-1' && e.reason === 'REQUESTED').length,
    ).toBeGreaterThanOrEqual(4);
    // One leader all along, one of the workers.
    expect(watcher.holders()).toEqual(['native-1']);
    expect(becameLeader(fleet).map((e) => e.worker)).toEqual(['native-1']);

    const victim = 'native-3';
    const victimShards = (await readLeases(dynamo, appName)).filter((l) => l.owner === victim).map((l) => l.shardId);
    fleet.kill(victim);
    await waitFor(
      async () => {
        const { byOwner, unowned } = await countsOf(appName);
        return unowned === 0 && !byOwner.has(victim) && byOwner.get('native-1') === 3 && byOwner.get('native-2') === 3;
      },
      "the killed follower's leases on the survivors (3/3)",
      60_000,
    );
    expect(victimShards.length).toBeGreaterThan(0);
    const reassigned = () =>
      new Set(
        logs(fleet, 'native-1', 'KCL 3.x leader:').flatMap((e) =>
          victimShards.filter((s) => e.message.includes(`${s} assigned to`) && e.message.includes(`was ${victim}`)),
        ),
      );
    // The leader's log lines reach the test through its worker process's event file, possibly after the table shows the result.
    await waitFor(() => reassigned().size === victimShards.length, "the leader's reassignment log lines", 30_000);
    expect(reassigned()).toEqual(new Set(victimShards));
    const afterKill = producer.puts.length;
    await waitFor(
      () => producer.puts.length > afterKill + 30 && fleet.deliveredAll(producer.puts.slice(afterKill)),
      'records put after the kill',
      60_000,
    );
    await producer.stop();
    await expectEveryRecord(fleet, producer.puts, appName);
    expect(watcher.holders()).toEqual(['native-1']);
    await fleet.stopAll();
  });

  it('the leader stops gracefully (its lock deleted, another worker leads at once), then the new leader is killed -9 (the last worker takes its lock after the lease duration); every lease reassigned, every record delivered', async () => {
    const { appName, fleet, producer, watcher } = await setUp(4);
    producer.start();
    fleet.start('native-1');
    await waitFor(async () => (await countsOf(appName)).byOwner.get('native-1') === 4, 'native-1 to hold all 4', 60_000);
    fleet.start('native-2');
    fleet.start('native-3');
    await waitFor(
      async () => {
        const { counts, unowned } = await countsOf(appName);
        return unowned === 0 && counts.join() === '1,1,2';
      },
      '2/1/1',
      90_000,
    );
    expect(await watcher.current()).toBe('native-1');

    // SIGTERM of the leader: it releases its leases and deletes the lock; a follower takes the absent lock.
    expect(await fleet.stop('native-1')).toBe(0);
    expect(logs(fleet, 'native-1', 'Released the KCL 3.x leader lock')).toHaveLength(1);
    await waitFor(() => becameLeader(fleet).length === 2, 'a second leader', 30_000);
    const second = becameLeader(fleet)[1];
    expect(second.worker).not.toBe('native-1');
    // Taken because nobody held it (deleted), not after the dead holder's lease duration.
    expect(second.message).toContain('no worker held it');
    await waitFor(
      async () => {
        const { byOwner, unowned } = await countsOf(appName);
        return unowned === 0 && !byOwner.has('native-1') && byOwner.get('native-2') === 2 && byOwner.get('native-3') === 2;
      },
      "the stopped leader's leases on the others (2/2)",
      60_000,
    );
    // A hand-over the stopping leader had just written away from itself was ended by its release, not by the new owner's timeout.
    expect(logs(fleet, undefined, 'native-1 did not clear checkpointOwner').map((e) => e.message)).toEqual([]);
    expect(watcher.holders().filter((owner) => owner !== undefined)).toEqual(['native-1', second.worker]);

    // kill -9 of the new leader: its lock stays, unchanged; the last worker takes it after its lease duration and assigns the dead leader's leases.
    const leader = second.worker;
    const last = leader === 'native-2' ? 'native-3' : 'native-2';
    fleet.kill(leader);
    await waitFor(() => becameLeader(fleet).length === 3, 'a third leader', 60_000);
    const third = becameLeader(fleet)[2];
    expect(third.worker).toBe(last);
    expect(third.message).toContain(`${leader} had not renewed it`);
    await waitFor(async () => (await countsOf(appName)).byOwner.get(last) === 4, `${last} to hold all 4`, 60_000);
    // Taken from the dead leader's item as it was left (never deleted nor released in between): the
    // lease-duration wait on the taker's own clock is asserted in leader-election.spec (fake clock).
    expect(watcher.holders().slice(-2)).toEqual([leader, last]);
    expect(watcher.holders().filter((owner) => owner !== undefined)).toEqual(['native-1', leader, last]);
    const afterKill = producer.puts.length;
    await waitFor(
      () => producer.puts.length > afterKill + 30 && fleet.deliveredAll(producer.puts.slice(afterKill)),
      'records put after the kill',
      60_000,
    );
    await producer.stop();
    await expectEveryRecord(fleet, producer.puts, appName);
    await fleet.stopAll();
  });

  it('a split: the child leases are assigned by the leader, the parent finishes before its children start, every record delivered in order', async () => {
    const { stream, appName, fleet, producer } = await setUp(2);
    producer.start();
    fleet.start('native-1');
    fleet.start('native-2');
    await waitFor(
      async () => {
        const { counts, unowned } = await countsOf(appName);
        return unowned === 0 && counts.join() === '1,1';
      },
      '1/1',
      60_000,
    );
    await waitFor(() => fleet.deliveredSequenceNumbers().size >= 20, 'records flowing');
    const [parent] = await listShards(kinesis, stream);
    await splitShard(kinesis, stream, parent.ShardId!);
    const children = (await listShards(kinesis, stream))
      .filter((shard) => shard.ParentShardId === parent.ShardId)
      .map((shard) => shard.ShardId!);
    expect(children).toHaveLength(2);
    await waitFor(() => producer.puts.filter((p) => children.includes(p.shardId)).length >= 40, 'records in the children', 60_000);
    await producer.stop();
    await expectEveryRecord(fleet, producer.puts, appName);

    const rows = new Map((await scanRaw(dynamo, appName)).map((row) => [row.leaseKey.S!, row]));
    const parentRow = rows.get(parent.ShardId!);
    expect(parentRow ? parentRow.checkpoint?.S === 'SHARD_END' : cleanedUp(fleet, parent.ShardId!)).toBe(true);
    for (const child of children) {
      expect(rows.get(child)?.parentShardId?.SS).toEqual([parent.ShardId!]);
      expect(['native-1', 'native-2']).toContain(rows.get(child)?.leaseOwner?.S);
    }
    // The leader assigned the children (no worker takes in 3.x mode).
    const leader = becameLeader(fleet)[0].worker;
    for (const child of children) expect(logs(fleet, leader, `${child} assigned to`).length).toBeGreaterThan(0);
    const events = fleet.events();
    const batches = events.filter((e): e is Extract<WorkerFileEvent, { kind: 'batch' }> => e.kind === 'batch');
    const lastParent = Math.max(...batches.filter((b) => b.shardId === parent.ShardId).map((b) => b.end));
    for (const child of children) {
      const childBatches = batches.filter((b) => b.shardId === child);
      expect(childBatches.length).toBeGreaterThan(0);
      expect(Math.min(...childBatches.map((b) => b.start))).toBeGreaterThanOrEqual(lastParent);
      const init = events.find((e) => e.kind === 'initialize' && e.shardId === child) as Extract<WorkerFileEvent, { kind: 'initialize' }>;
      expect(init.checkpoint).toBe('TRIM_HORIZON');
    }
    await fleet.stopAll();
  });

  it("the fleet's WorkerMetricStats table is gone: the first native worker creates it, leads and assigns itself every lease; every record delivered", async () => {
    const { appName, fleet, producer } = await setUp(2, {}, { metricsTable: false });
    producer.start();
    fleet.start('native-1');
    await waitFor(
      async () => {
        const { counts, unowned } = await countsOf(appName);
        return unowned === 0 && counts.join() === '2';
      },
      'both leases assigned to the only worker',
      60_000,
    );
    expect(logs(fleet, 'native-1', `Created the KCL 3.x worker metrics table ${appName}-WorkerMetricStats`).length).toBe(1);
    expect(becameLeader(fleet).map((e) => e.worker)).toEqual(['native-1']);
    await waitFor(() => fleet.deliveredSequenceNumbers().size >= 20, 'records flowing');
    await producer.stop();
    await expectEveryRecord(fleet, producer.puts, appName);
    await fleet.stopAll();
  });
});
