/* eslint-disable @typescript-eslint/require-await -- stubbed findChildShards answers at once */
import type { KinesisRecordProcessor, ShutdownInput } from '../../../../../lib';
import type { ResolvedWorkerOptions } from '../../../../../lib/core/options';
import { ShardCheckpointer } from '../../../../../lib/engines/native/checkpoint/shard-checkpointer';
import { HeldLease } from '../../../../../lib/engines/native/leases/held-lease';
import { finishShard } from '../../../../../lib/engines/native/lifecycle/shard-end';
import type { ChildShard } from '../../../../../lib/leases/shard-lister';
import { FakeLeaseTable, LinesLogger, accessDenied, lease, throttled } from './fake-lease-table';

const FAST = { baseDelayMs: 1, maxDelayMs: 2 };
const CHILDREN: ChildShard[] = [
  { shardId: 'shardId-000000000001', parentShardIds: ['shardId-000000000000'] },
  { shardId: 'shardId-000000000002', parentShardIds: ['shardId-000000000000'] },
];

function setup(
  shutdown: (input: ShutdownInput, call: number) => void | Promise<void>,
  processingAttempts = 5,
  initial = lease('shardId-000000000000'),
) {
  const fake = new FakeLeaseTable(initial);
  const table = fake.asTable();
  const logger = new LinesLogger();
  const held = new HeldLease(fake.rows.get('shardId-000000000000')!, table, 60_000);
  const checkpointer = new ShardCheckpointer(held, table, { maxAttempts: 4, ...FAST }, logger);
  let calls = 0;
  const processor: KinesisRecordProcessor = {
    processRecords() {},
    async shutdown(input) {
      fake.history.push(`shutdown(${input.reason}) #${++calls}`);
      await shutdown(input, calls);
    },
  };
  const abort = new AbortController();
  const run = (namedChildren: readonly ChildShard[] | undefined = CHILDREN, findChildShards = async () => CHILDREN) =>
    finishShard({
      held,
      table,
      options: { processingRetry: { maxAttempts: processingAttempts, ...FAST } } as ResolvedWorkerOptions,
      processor,
      checkpointer,
      namedChildren,
      findChildShards,
      retrying: { where: 'stream/shardId-000000000000', policy: { maxAttempts: 4, ...FAST }, logger, signal: abort.signal },
      abandoned: () => held.lost,
    });
  return { fake, held, logger, run, calls: () => calls };
}

const checkpointOf = (fake: FakeLeaseTable) => fake.rows.get('shardId-000000000000')!.checkpoint.sequenceNumber;

describe('finishShard (native engine, SHARD_END)', () => {
  it('creates the children, records childShardIds BEFORE SHARD_END, then TERMINATE, then SHARD_END', async () => {
    const { fake, run } = setup(() => undefined);
    await expect(run()).resolves.toMatchObject({ finished: true });
    expect(fake.history).toEqual([
      'create shardId-000000000001',
      'create shardId-000000000002',
      'childShardIds shardId-000000000001,shardId-000000000002',
      'shutdown(TERMINATE) #1',
      'checkpoint SHARD_END',
    ]);
    expect(fake.rows.get('shardId-000000000001')).toMatchObject({
      parentShardIds: ['shardId-000000000000'],
      checkpoint: { sequenceNumber: 'TRIM_HORIZON' },
    });
  });

  it('leaves SHARD_END to a processor that checkpoints it in shutdown(TERMINATE): written once', async () => {
    const { fake, run } = setup(async ({ checkpointer }) => checkpointer!.checkpoint());
    await run();
    expect(fake.history.filter((h) => h === 'checkpoint SHARD_END')).toHaveLength(1);
    expect(fake.history.indexOf('checkpoint SHARD_END')).toBeGreaterThan(fake.history.indexOf('shutdown(TERMINATE) #1'));
  });

  it('retries a shutdown(TERMINATE) that throws, and writes SHARD_END only after it returned', async () => {
    const { fake, run, logger } = setup((_, call) => {
      if (call <= 2) throw new Error(`downstream unavailable (${call})`);
    });
    await expect(run()).resolves.toMatchObject({ finished: true });
    expect(fake.history.slice(-4)).toEqual([
      'shutdown(TERMINATE) #1',
      'shutdown(TERMINATE) #2',
      'shutdown(TERMINATE) #3',
      'checkpoint SHARD_END',
    ]);
    expect(logger.lines.filter((l) => l.includes('shutdown(TERMINATE)') && l.includes('retrying'))).toHaveLength(2);
  });

  it('never writes SHARD_END for a processor whose shutdown(TERMINATE) keeps throwing; says so once retries run out', async () => {
    const { fake, run, logger, calls } = setup(() => {
      throw new Error('always');
    }, 3);
    await expect(run()).resolves.toEqual({ finished: false, shutdown: 'gave-up' });
    expect(calls()).toBe(3);
    expect(checkpointOf(fake)).toBe('TRIM_HORIZON');
    expect(fake.history).not.toContain('checkpoint SHARD_END');
    expect(logger.lines.filter((l) => l.includes('SHARD_END is not recorded'))).toHaveLength(1);
  });

  it('retries throttled child-lease creation and childShardIds writes, and finishes', async () => {
    const { fake, run } = setup(() => undefined);
    fake.fail('createLeaseIfNotExists', throttled(), throttled());
    fake.fail('updateChildShards', throttled());
    await expect(run()).resolves.toMatchObject({ finished: true });
    expect(checkpointOf(fake)).toBe('SHARD_END');
    expect(fake.rows.get('shardId-000000000000')!.childShardIds).toEqual(['shardId-000000000001', 'shardId-000000000002']);
  });

  it('throws a permanent failure of the childShardIds write before TERMINATE and SHARD_END', async () => {
    const { fake, run, calls } = setup(() => undefined);
    fake.failAlways('updateChildShards', accessDenied());
    await expect(run()).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(calls()).toBe(0);
    expect(checkpointOf(fake)).toBe('TRIM_HORIZON');
  });

  it('looks the children up when GetRecords named none', async () => {
    const { fake, run } = setup(() => undefined);
    await expect(run([], async () => CHILDREN)).resolves.toMatchObject({ finished: true, children: CHILDREN });
    expect(fake.history).toContain('create shardId-000000000002');
  });

  it('does not write childShardIds again for a next owner that finds them recorded', async () => {
    const recorded = lease('shardId-000000000000', { childShardIds: CHILDREN.map((c) => c.shardId) });
    const { fake, run } = setup(() => undefined, 5, recorded);
    await run();
    expect(fake.history.filter((h) => h.startsWith('childShardIds'))).toEqual([]);
    expect(checkpointOf(fake)).toBe('SHARD_END');
  });
});
