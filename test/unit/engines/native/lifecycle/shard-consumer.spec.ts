import { WorkerMetrics } from '../../../../../lib/core/metrics';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { KinesisRecordProcessor, WorkerEvent } from '../../../../../lib';
import type { ResolvedWorkerOptions } from '../../../../../lib/core/options';
import { HeldLease } from '../../../../../lib/engines/native/leases/held-lease';
import { ShardConsumer } from '../../../../../lib/engines/native/lifecycle/shard-consumer';
import { FakeLeaseTable, LinesLogger, accessDenied, lease, throttled } from './fake-lease-table';

const FAST = { baseDelayMs: 1, maxDelayMs: 2 };
const PARENT = 'shardId-000000000000';
const CHILD = 'shardId-000000000001';

/** A consumer of the child shard, with a Kinesis client no test here reaches. */
function setup(factory: () => KinesisRecordProcessor | Promise<KinesisRecordProcessor>) {
  const fake = new FakeLeaseTable(
    lease(PARENT, { leaseOwner: undefined, checkpoint: { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 } }),
    lease(CHILD, { parentShardIds: [PARENT] }),
  );
  const table = fake.asTable();
  const logger = new LinesLogger();
  const events: WorkerEvent[] = [];
  const held = new HeldLease(fake.rows.get(CHILD)!, table, 60_000);
  const options = {
    streamName: 'stream',
    workerId: 'me',
    logger,
    emit: (event: WorkerEvent) => events.push(event),
    parentShardPollIntervalMs: 5,
    failoverTimeMs: 60_000,
    maxRecords: 100,
    idleTimeBetweenReadsMs: 5,
    processingTimeoutMs: Infinity,
    checkpointRetry: { maxAttempts: 3, ...FAST },
    processingRetry: { maxAttempts: 3, ...FAST },
  } as unknown as ResolvedWorkerOptions;
  const kinesis = { send: () => Promise.reject(new Error('no Kinesis in this test')) } as unknown as KinesisClient;
  // No SDK registered: the metrics are the real ones, recording into the no-op global meter.
  const metrics = new WorkerMetrics({ streamName: 'stream', appName: 'app', workerId: 'me' }, undefined);
  const consumer = new ShardConsumer({
    held,
    table,
    kinesis,
    options,
    metrics,
    factory,
    // eslint-disable-next-line @typescript-eslint/require-await -- a stubbed ListShards, answered at once
    findChildShards: async () => [],
    onShardEnded: () => undefined,
  });
  return { fake, held, logger, events, consumer };
}

describe('ShardConsumer: failures outside processRecords never leave the lease held', () => {
  it('a parent lookup that fails for good: the lease is given up (evicted), with one clear error line', async () => {
    const { fake, held, logger, events, consumer } = setup(() => ({ processRecords() {} }));
    fake.failAlways('getLease', accessDenied());
    await consumer.done;
    expect(held.lost).toBe(true);
    expect(fake.rows.get(CHILD)!.leaseOwner).toBeUndefined();
    expect(events).toContainEqual({ type: 'leaseReleased', shardId: CHILD, reason: 'GAVE_UP' });
    const errors = logger.lines.filter((l) => l.startsWith('ERROR'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/Shard shardId-000000000001 failed while waiting on parents: AccessDeniedException.*Giving the lease up/);
  });

  it('a throttled parent lookup is retried and the consumer goes on', async () => {
    let built = 0;
    const { fake, held, consumer } = setup(() => {
      built++;
      throw new Error('stop here');
    });
    fake.fail('getLease', throttled(), throttled());
    await consumer.done;
    expect(built).toBe(3);
    expect(held.lost).toBe(true);
  });

  it('a processor factory that keeps throwing: retried under processingRetry, then the lease is given up', async () => {
    let built = 0;
    const { fake, events, logger, consumer } = setup(() => {
      throw new Error(`missing dependency (${++built})`);
    });
    await consumer.done;
    expect(built).toBe(3);
    expect(fake.rows.get(CHILD)!.leaseOwner).toBeUndefined();
    expect(events).toContainEqual({ type: 'leaseReleased', shardId: CHILD, reason: 'GAVE_UP' });
    expect(logger.lines.some((l) => l.includes('the processor factory on stream/shardId-000000000001 failed 3 times'))).toBe(true);
  });

  it('stops renewing even when the release itself fails: the lease then expires for the next owner', async () => {
    const { fake, held, consumer } = setup(() => ({ processRecords() {} }));
    fake.failAlways('getLease', accessDenied());
    fake.failAlways('evictLease', throttled());
    await consumer.done;
    expect(held.lost).toBe(true);
    await expect(held.renew()).rejects.toMatchObject({ name: 'LeaseLostError' });
  });
});
