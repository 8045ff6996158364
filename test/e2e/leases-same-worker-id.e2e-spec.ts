import { createStream } from '../../lib/testing';
import { dynamoClient, kinesisClient, uniqueName } from '../support/aws';
import { ownerCounts, readLeases } from '../support/lease-table';
import { waitFor } from '../support/wait-for';
import { FAST_INTERVALS, WorkerFleet } from '../support/worker-fleet';
import { leaseEvents } from './leases-support';

/** Two processes misconfigured with one workerId (defect 9). */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const fleets: WorkerFleet[] = [];
afterEach(() => {
  for (const fleet of fleets.splice(0)) fleet.killAll();
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

describe('two worker processes with the same workerId', () => {
  it('do not take the shards from each other; the second one warns about the clash', async () => {
    const streamName = uniqueName('twins');
    const appName = uniqueName('app');
    await createStream(kinesis, streamName, 2);
    // One fleet per process: each keeps its own events file, the workerId is the same.
    const first = new WorkerFleet({ appName, streamName, ...FAST_INTERVALS });
    const second = new WorkerFleet({ appName, streamName, ...FAST_INTERVALS });
    fleets.push(first, second);
    first.start('twin');
    await waitFor(
      async () => ownerCounts(await readLeases(dynamo, appName)).byOwner.get('twin') === 2,
      'the first twin to own both shards',
    );
    await waitFor(() => leaseEvents(first.events(), 'leaseTaken').length === 2, 'its two takes reported');
    second.start('twin');
    await waitFor(() => second.events().some((e) => e.kind === 'started'), 'the second twin to start');

    // Four failover periods: a ping-pong would move each shard on every taker pass (every 500 ms).
    await new Promise((resolve) => setTimeout(resolve, 4 * FAST_INTERVALS.failoverTimeMs));
    const takes = [...leaseEvents(first.events(), 'leaseTaken'), ...leaseEvents(second.events(), 'leaseTaken')];
    const losses = [...leaseEvents(first.events(), 'leaseLost'), ...leaseEvents(second.events(), 'leaseLost')];
    console.log(
      `same workerId: ${takes.length} leaseTaken and ${losses.length} leaseLost events over ${4 * FAST_INTERVALS.failoverTimeMs} ms`,
    );
    expect(takes).toHaveLength(2);
    expect(losses).toEqual([]);
    const warning = second.events().find((e) => e.kind === 'log' && e.level === 'warn' && e.message.includes("workerId 'twin'"));
    expect(warning).toBeDefined();
    expect((warning as { message: string }).message).toMatch(
      /Another process renews shardId-00000000000\d, shardId-00000000000\d under this worker's workerId 'twin'/,
    );
    expect(second.events().filter((e) => e.kind === 'initialize')).toEqual([]);

    // When the first twin dies, the second takes over after failoverTimeMs, as from any dead worker.
    first.kill('twin');
    await waitFor(() => leaseEvents(second.events(), 'leaseTaken').length === 2, 'the second twin to take both after expiry', 20_000);
    expect(leaseEvents(second.events(), 'leaseTaken').map((e) => e.event.how)).toEqual(['expired', 'expired']);
    await second.stopAll();
  });
});
