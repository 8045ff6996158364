import { createStream, type PutResult } from '../../lib/testing';
import { dynamoClient, kinesisClient, uniqueName } from '../support/aws';
import { readLeases } from '../support/lease-table';
import { BackgroundProducer } from '../support/producer';
import { listShards, mergeShards, splitShard, updateShardCount } from '../support/reshard';
import { waitFor } from '../support/wait-for';
import { FAST_INTERVALS, WorkerFleet } from '../support/worker-fleet';
import type { WorkerFileEvent } from '../support/worker-process';
import { holderBatches, orderViolations } from '../support/verifier';

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

type Batch = Extract<WorkerFileEvent, { kind: 'batch' }>;
const batchesOf = (events: WorkerFileEvent[]) => events.filter((e): e is Batch => e.kind === 'batch');
/** The records put in `shardIds` that no batch of their lease's holder delivered (a zombie's batch alone does not count). */
const notDeliveredByHolder = (puts: readonly PutResult[], held: readonly Batch[], shardIds: readonly string[]) => {
  const delivered = new Set(held.flatMap((b) => b.records.map((r) => r.seq)));
  return puts
    .filter((p) => shardIds.includes(p.shardId) && !delivered.has(p.sequenceNumber))
    .map((p) => `${p.shardId}/${p.sequenceNumber}`);
};

describe('resharding while records flow (2 worker processes)', () => {
  it('splits one shard and merges two others: every parent record is delivered before any of its children, and the engine finishes the parents', async () => {
    const stream = uniqueName('reshard');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 3);
    const producer = new BackgroundProducer(kinesis, stream, 10, 100);
    producer.start();
    fleet = new WorkerFleet({ appName, streamName: stream, ...FAST_INTERVALS }, 0, { skipTerminateCheckpoint: true }); // the engine must checkpoint SHARD_END by itself
    fleet.start();
    fleet.start();
    await waitFor(() => batchesOf(fleet!.events()).length >= 6, 'both workers processing');

    await splitShard(kinesis, stream, 'shardId-000000000000');
    await mergeShards(kinesis, stream, 'shardId-000000000001', 'shardId-000000000002');
    const shards = await listShards(kinesis, stream);
    const children = shards.filter((s) => s.ParentShardId);
    expect(children).toHaveLength(3);

    // Let records flow into the children, then stop producing and drain.
    await waitFor(() => producer.puts.filter((p) => children.some((c) => c.ShardId === p.shardId)).length >= 60, 'records in the children');
    await producer.stop();
    await waitFor(() => fleet!.deliveredAll(producer.puts), 'every record, parents and children');

    const events = fleet.events();
    const batches = batchesOf(events);
    // Parents before children is a promise of the lease's holder: a worker that lost a parent's lease may still
    // deliver its batch in flight, late (holderBatches), and the owner delivers those records again.
    const held = holderBatches(events);
    for (const child of children) {
      const parents = [child.ParentShardId!, child.AdjacentParentShardId].filter((p): p is string => !!p);
      expect(notDeliveredByHolder(producer.puts, held, parents)).toEqual([]);
      const parentBatches = held.filter((b) => parents.includes(b.shardId));
      const childBatches = batches.filter((b) => b.shardId === child.ShardId);
      expect(childBatches.length).toBeGreaterThan(0);
      const lastParentDelivery = Math.max(...parentBatches.map((b) => b.end));
      const firstChildDelivery = Math.min(...childBatches.map((b) => b.start));
      expect(firstChildDelivery).toBeGreaterThanOrEqual(lastParentDelivery);
      const init = events.find((e) => e.kind === 'initialize' && e.shardId === child.ShardId) as Extract<
        WorkerFileEvent,
        { kind: 'initialize' }
      >;
      expect(init.checkpoint).toBe('TRIM_HORIZON');
    }
    for (const parent of ['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002']) {
      const shutdown = events.find((e) => e.kind === 'shutdown' && e.shardId === parent && e.reason === 'TERMINATE');
      expect(shutdown).toBeDefined();
    }
    expect(orderViolations(events)).toEqual([]);
    // Finished parents are cleaned up once their children have started.
    await waitFor(async () => {
      const leases = await readLeases(dynamo, appName);
      return leases.every((l) => !['shardId-000000000000', 'shardId-000000000001', 'shardId-000000000002'].includes(l.shardId));
    }, 'parent leases cleaned up');
    const leases = await readLeases(dynamo, appName);
    expect(leases.map((l) => l.shardId).sort()).toEqual(children.map((c) => c.ShardId).sort());
    await fleet.stopAll();
  });

  it('follows UpdateShardCount (2 -> 4 -> 3) while records flow, parents before children', async () => {
    const stream = uniqueName('scale');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 2);
    const producer = new BackgroundProducer(kinesis, stream, 10, 100);
    producer.start();
    fleet = new WorkerFleet({ appName, streamName: stream, ...FAST_INTERVALS });
    fleet.start();
    fleet.start();
    await waitFor(() => batchesOf(fleet!.events()).length >= 4, 'both workers processing');
    await updateShardCount(kinesis, stream, 4);
    await waitFor(() => producer.puts.length >= 200, 'more records');
    await updateShardCount(kinesis, stream, 3);
    const open = (await listShards(kinesis, stream)).filter((s) => !s.SequenceNumberRange?.EndingSequenceNumber);
    expect(open).toHaveLength(3);
    await waitFor(() => producer.puts.filter((p) => open.some((s) => s.ShardId === p.shardId)).length >= 60, 'records in the final shards');
    await producer.stop();
    await waitFor(() => fleet!.deliveredAll(producer.puts), 'every record');

    const events = fleet.events();
    const batches = batchesOf(events);
    // As above: the parents' batches that count are their holders' (a zombie's late batch is delivered again by the holder).
    const held = holderBatches(events);
    const all = await listShards(kinesis, stream);
    let checkedPairs = 0;
    let expectedPairs = 0;
    for (const child of all.filter((s) => s.ParentShardId)) {
      const parents = [child.ParentShardId!, child.AdjacentParentShardId].filter((p): p is string => !!p);
      const childBatches = batches.filter((b) => b.shardId === child.ShardId);
      const parentBatches = held.filter((b) => parents.includes(b.shardId));
      expect(notDeliveredByHolder(producer.puts, held, parents)).toEqual([]);
      // Every shard that received records was processed: a shard without batches is checked, not skipped.
      const received = (shardId: string) => producer.puts.some((p) => p.shardId === shardId);
      expect([child.ShardId, childBatches.length > 0]).toEqual([child.ShardId, received(child.ShardId!)]);
      for (const parent of parents) expect([parent, parentBatches.some((b) => b.shardId === parent)]).toEqual([parent, received(parent)]);
      // A child that had records starts after the holders' last batch of its parents (if they had any records at all).
      if (childBatches.length > 0 && parentBatches.length > 0) {
        expect(Math.min(...childBatches.map((b) => b.start))).toBeGreaterThanOrEqual(Math.max(...parentBatches.map((b) => b.end)));
      }
      checkedPairs += childBatches.length > 0 && parentBatches.length > 0 ? 1 : 0;
      expectedPairs += received(child.ShardId!) && parents.some(received) ? 1 : 0;
    }
    // The order was checked for every child and parent that both had records, and there were some.
    expect(checkedPairs).toBe(expectedPairs);
    expect(checkedPairs).toBeGreaterThan(0);
    expect(orderViolations(events)).toEqual([]);
    await fleet.stopAll();
  });
});
