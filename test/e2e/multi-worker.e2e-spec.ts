import { createStream } from '../../lib/testing';
import { dynamoClient, kinesisClient, uniqueName } from '../support/aws';
import { readLeases, ownerCounts } from '../support/lease-table';
import { BackgroundProducer } from '../support/producer';
import { waitFor } from '../support/wait-for';
import { FAST_INTERVALS, WorkerFleet } from '../support/worker-fleet';
import type { WorkerFileEvent } from '../support/worker-process';

const kinesis = kinesisClient();
const dynamo = dynamoClient();
const fleets: WorkerFleet[] = [];
afterEach(async () => {
  await BackgroundProducer.stopAll();
  for (const fleet of fleets.splice(0)) fleet.killAll();
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

function fleetFor(stream: string, appName: string, extra: object = {}) {
  const fleet = new WorkerFleet({ appName, streamName: stream, ...FAST_INTERVALS, ...extra });
  fleets.push(fleet);
  return fleet;
}

const batches = (events: WorkerFileEvent[]) => events.filter((e): e is Extract<WorkerFileEvent, { kind: 'batch' }> => e.kind === 'batch');
const leaseEvents = (events: WorkerFileEvent[], type: string) =>
  events.filter((e): e is Extract<WorkerFileEvent, { kind: 'event' }> => e.kind === 'event' && e.event.type === type);

/** Every record each shard received, from the producer's own PutRecords results, was delivered. */
function expectAllDelivered(producer: BackgroundProducer, events: WorkerFileEvent[]) {
  const delivered = new Set(batches(events).flatMap((b) => b.records.map((r) => r.seq)));
  const missing = producer.puts.filter((p) => !delivered.has(p.sequenceNumber));
  expect(missing.map((p) => `${p.shardId}/${p.data.toString()}`)).toEqual([]);
}

describe('many workers, one application (real processes on the emulators)', () => {
  it('balances 8 shards over 3 workers as 3/3/2, and a 4th worker takes its share by stealing', async () => {
    const stream = uniqueName('balance');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 8);
    const fleet = fleetFor(stream, appName);
    fleet.start();
    fleet.start();
    fleet.start();
    await waitFor(async () => {
      const { counts, unowned } = ownerCounts(await readLeases(dynamo, appName));
      return unowned === 0 && counts.join() === '2,3,3';
    }, '3/3/2');
    fleet.start('worker-4');
    await waitFor(async () => ownerCounts(await readLeases(dynamo, appName)).counts.join() === '2,2,2,2', '2/2/2/2');
    const takenBy4 = () => leaseEvents(fleet.events(), 'leaseTaken').filter((e) => e.worker === 'worker-4');
    // The table shows a take a moment before the worker writes its event.
    await waitFor(() => takenBy4().length >= 2, 'worker-4 to report its takes');
    const taken = takenBy4();
    expect(taken.every((e) => e.event.how === 'stolen')).toBe(true);
    // The victims noticed: a stolen lease ends its old consumer as a ZOMBIE.
    await waitFor(() => leaseEvents(fleet.events(), 'leaseLost').length >= taken.length, 'victims to see their leases lost');
    await waitFor(
      () => fleet.events().filter((e) => e.kind === 'shutdown' && e.reason === 'ZOMBIE' && e.worker !== 'worker-4').length >= taken.length,
      'shutdown(ZOMBIE) on the victims',
    );
    await fleet.stopAll();
  });

  it('fails over: after kill -9 the survivors resume its shards from their checkpoints', async () => {
    const stream = uniqueName('failover');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 4);
    const producer = new BackgroundProducer(kinesis, stream);
    producer.start();
    const fleet = fleetFor(stream, appName);
    fleet.start('worker-1');
    await waitFor(async () => ownerCounts(await readLeases(dynamo, appName)).byOwner.get('worker-1') === 4, 'worker-1 to own all 4');
    fleet.start('worker-2');
    await waitFor(async () => ownerCounts(await readLeases(dynamo, appName)).counts.join() === '2,2', '2/2');
    await waitFor(() => batches(fleet.events()).filter((b) => b.worker === 'worker-2').length >= 2, 'worker-2 to process');

    const victimShards = (await readLeases(dynamo, appName)).filter((l) => l.owner === 'worker-1').map((l) => l.shardId);
    const killedAt = Date.now();
    fleet.kill('worker-1');
    await waitFor(async () => ownerCounts(await readLeases(dynamo, appName)).byOwner.get('worker-2') === 4, 'worker-2 to take over all 4');
    const afterKill = producer.puts.length;
    await waitFor(
      () => producer.puts.length > afterKill + 20 && fleet.deliveredAll(producer.puts.slice(afterKill, afterKill + 20)),
      'records put after the kill',
    );
    await producer.stop();
    await waitFor(() => fleet.deliveredAll(producer.puts), 'every record');
    const events = fleet.events();
    expectAllDelivered(producer, events);

    const byShard = producer.byShard();
    const failoverMs: number[] = [];
    for (const shardId of victimShards) {
      const take = leaseEvents(events, 'leaseTaken').find(
        (e) => e.worker === 'worker-2' && e.event.shardId === shardId && e.at > killedAt,
      )!;
      expect(take.event.how).toBe('expired');
      failoverMs.push(take.at - killedAt);
      const lastCheckpoint = events.filter((e) => e.kind === 'checkpointed' && e.worker === 'worker-1' && e.shardId === shardId).at(-1) as
        Extract<WorkerFileEvent, { kind: 'checkpointed' }> | undefined;
      const init = events.find(
        (e) => e.kind === 'initialize' && e.worker === 'worker-2' && e.shardId === shardId && e.at > killedAt,
      ) as Extract<WorkerFileEvent, { kind: 'initialize' }>;
      // The kill may land between a checkpoint's write and its line in the events file: the stored
      // checkpoint is then the end of worker-1's last batch, one the file has not recorded yet.
      const lastBatchEnd = batches(events)
        .filter((b) => b.worker === 'worker-1' && b.shardId === shardId)
        .at(-1)
        ?.records.at(-1)?.seq;
      expect([lastCheckpoint?.seq ?? 'TRIM_HORIZON', lastBatchEnd]).toContain(init.checkpoint);
      const firstAfter = batches(events).find((b) => b.worker === 'worker-2' && b.shardId === shardId && b.start > killedAt)!;
      const seqs = byShard.get(shardId)!.map((p) => p.sequenceNumber);
      const expectedFirst = init.checkpoint === 'TRIM_HORIZON' ? seqs[0] : seqs[seqs.indexOf(init.checkpoint) + 1];
      expect(firstAfter.records[0].seq).toBe(expectedFirst);
    }
    console.log(`failover: lease taken ${failoverMs.join(', ')} ms after kill -9 (failoverTimeMs 3000, taker every 500 ms)`);
    await fleet.stopAll();
  });

  it('hands leases over on graceful close: released, then taken as unowned, long before failoverTimeMs', async () => {
    const stream = uniqueName('handoff');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 4);
    const producer = new BackgroundProducer(kinesis, stream);
    producer.start();
    // A failover time far beyond the wait below: only a release can move the leases in time.
    const fleet = fleetFor(stream, appName, { failoverTimeMs: 60_000 });
    fleet.start('worker-1');
    await waitFor(async () => ownerCounts(await readLeases(dynamo, appName)).byOwner.get('worker-1') === 4, 'worker-1 to own all 4');
    fleet.start('worker-2');
    // No lease expires with a 60 s failover, so worker-2 gets its share by stealing, one per taker run.
    await waitFor(async () => ownerCounts(await readLeases(dynamo, appName)).counts.join() === '2,2', '2/2', 30_000);
    const moving = (await readLeases(dynamo, appName)).filter((l) => l.owner === 'worker-1').map((l) => l.shardId);

    const stoppedAt = Date.now();
    expect(await fleet.stop('worker-1')).toBe(0);
    await waitFor(
      async () => ownerCounts(await readLeases(dynamo, appName)).byOwner.get('worker-2') === 4,
      'worker-2 to take all 4',
      15_000,
    );
    await producer.stop();
    await waitFor(() => fleet.deliveredAll(producer.puts), 'every record');

    const events = fleet.events();
    expectAllDelivered(producer, events);
    const handoffMs: number[] = [];
    for (const shardId of moving) {
      const released = leaseEvents(events, 'leaseReleased').find(
        (e) => e.worker === 'worker-1' && e.event.shardId === shardId && e.at >= stoppedAt,
      )!;
      expect(released.event.reason).toBe('REQUESTED');
      const shutdown = events.find((e) => e.kind === 'shutdown' && e.worker === 'worker-1' && e.shardId === shardId);
      expect(shutdown).toMatchObject({ reason: 'REQUESTED' });
      const taken = leaseEvents(events, 'leaseTaken').find(
        (e) => e.worker === 'worker-2' && e.event.shardId === shardId && e.at >= stoppedAt,
      )!;
      expect(taken.event.how).toBe('unowned');
      expect(taken.at).toBeGreaterThanOrEqual(released.at);
      handoffMs.push(taken.at - released.at);
    }
    // A graceful handoff redelivers nothing: the final checkpoint covers every delivered record.
    // (Duplicates from the earlier steals are allowed: a stolen lease's batch in flight fails its checkpoint.)
    const beforeStop = new Set(
      batches(events)
        .filter((b) => b.worker === 'worker-1')
        .flatMap((b) => b.records.map((r) => r.seq)),
    );
    const redelivered = batches(events)
      .filter((b) => b.worker === 'worker-2' && b.start >= stoppedAt && moving.includes(b.shardId))
      .flatMap((b) => b.records.filter((r) => beforeStop.has(r.seq)));
    expect(redelivered).toEqual([]);
    console.log(`handoff: released -> taken in ${handoffMs.join(', ')} ms (taker every 500 ms, failoverTimeMs 60000)`);
    await fleet.stopAll();
  });
});
