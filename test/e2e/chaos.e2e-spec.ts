import { createStream } from '../../lib/testing';
import { dynamoClient, kinesisClient, uniqueName } from '../support/aws';
import { readLeases } from '../support/lease-table';
import { BackgroundProducer } from '../support/producer';
import { listShards, splitShard } from '../support/reshard';
import { duplicateReport, orderViolations, overlapViolations, sessionsOf } from '../support/verifier';
import { waitFor } from '../support/wait-for';
import { FAST_INTERVALS, WorkerFleet } from '../support/worker-fleet';

const kinesis = kinesisClient();
const dynamo = dynamoClient();
let fleet: WorkerFleet | undefined;
afterEach(async () => {
  await BackgroundProducer.stopAll();
  fleet?.killAll();
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

/** mulberry32: a small seeded generator, so a failing schedule can be replayed. */
function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.CHAOS_SEED ?? 20261127);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe(`chaos: 3+ workers, kill -9, restarts and a split while records flow (seed ${SEED})`, () => {
  it('delivers every record at least once, in order per shard, duplicates only after a failover, with correct final checkpoints', async () => {
    const random = seeded(SEED);
    const stream = uniqueName('chaos');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 4);
    const producer = new BackgroundProducer(kinesis, stream, 8, 80);
    producer.start();
    fleet = new WorkerFleet({ appName, streamName: stream, ...FAST_INTERVALS, failoverTimeMs: 2000 }, 15);
    for (let i = 0; i < 3; i++) fleet.start();
    await waitFor(async () => (await readLeases(dynamo, appName)).filter((l) => l.owner).length === 4, 'all shards leased');

    const schedule = ['kill', 'restart', 'kill', 'split', 'restart', 'stop', 'restart', 'kill', 'kill', 'restart', 'restart'];
    const log: string[] = [];
    for (const action of schedule) {
      await sleep(1000 + Math.floor(random() * 1500));
      const running = fleet.running();
      if (action === 'kill' && running.length > 1) {
        const victim = running[Math.floor(random() * running.length)];
        fleet.kill(victim);
        log.push(`kill -9 ${victim}`);
      } else if (action === 'stop' && running.length > 1) {
        const victim = running[Math.floor(random() * running.length)];
        await fleet.stop(victim);
        log.push(`stop ${victim}`);
      } else if (action === 'restart') {
        log.push(`start ${fleet.start()}`);
      } else if (action === 'split') {
        const open = (await listShards(kinesis, stream)).filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber);
        const target = open[Math.floor(random() * open.length)].ShardId!;
        await splitShard(kinesis, stream, target);
        log.push(`split ${target}`);
      }
    }
    while (fleet.running().length < 3) log.push(`start ${fleet.start()}`);
    await sleep(1000);
    await producer.stop();

    const byShard = producer.byShard();
    await waitFor(
      async () => {
        if (!fleet!.deliveredAll(producer.puts)) return false;
        const leases = await readLeases(dynamo, appName);
        return [...byShard].every(([shardId, puts]) => {
          const lease = leases.find((l) => l.shardId === shardId);
          return !lease || lease.checkpoint === 'SHARD_END' || lease.checkpoint === puts.at(-1)!.sequenceNumber;
        });
      },
      'every record delivered and checkpointed',
      90_000,
    );
    await fleet.stopAll();

    const events = fleet.events();
    const report = duplicateReport(producer.puts, events);
    const failovers = log.filter((l) => l.startsWith('kill')).length;
    console.log(
      `chaos (seed ${SEED}): ${log.join('; ')}\n` +
        `${producer.puts.length} records, ${sessionsOf(events).length} processor sessions, ${report.duplicates} duplicate deliveries after ${failovers} kills`,
    );
    expect(log.filter((l) => l.startsWith('kill')).length).toBeGreaterThanOrEqual(2);
    expect(log.some((l) => l.startsWith('split'))).toBe(true);
    expect(report.missing).toEqual([]);
    expect(report.unexplained).toEqual([]);
    expect(orderViolations(events)).toEqual([]);
    expect(overlapViolations(events)).toEqual([]);

    // Final checkpoints: each open shard at its last record, each finished parent at SHARD_END or cleaned up.
    const leases = await readLeases(dynamo, appName);
    for (const [shardId, puts] of byShard) {
      const lease = leases.find((l) => l.shardId === shardId);
      if (lease && lease.checkpoint !== 'SHARD_END') expect(lease.checkpoint).toBe(puts.at(-1)!.sequenceNumber);
    }
    const closed = (await listShards(kinesis, stream)).filter((s) => s.SequenceNumberRange?.EndingSequenceNumber).map((s) => s.ShardId!);
    expect(closed).toHaveLength(1);
    for (const shardId of closed) {
      const lease = leases.find((l) => l.shardId === shardId);
      expect(lease === undefined || lease.checkpoint === 'SHARD_END').toBe(true);
    }
    expect(leases.every((l) => l.owner === undefined)).toBe(true);
  });
});
