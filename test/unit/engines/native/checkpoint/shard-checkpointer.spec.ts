import { InvalidCheckpointError, LeaseLostError } from '../../../../../lib';
import { ShardCheckpointer } from '../../../../../lib/engines/native/checkpoint/shard-checkpointer';
import { HeldLease } from '../../../../../lib/engines/native/leases/held-lease';
import type { Lease } from '../../../../../lib/leases/lease';
import type { LeaseTable } from '../../../../../lib/leases/lease-table';
import type { ExtendedSequenceNumber } from '../../../../../lib';

const silent = { log() {}, warn() {}, error() {} };
const SEQ = (n: number) => `4968061264274881052013050876133${String(n).padStart(25, '0')}`;

/** A lease table in memory with the real conditions; `failures` injects errors before a write. */
class FakeLeaseTable {
  row: Lease;
  failures: Error[] = [];
  writes: string[] = [];
  active = 0;
  maxActive = 0;
  /** Apply the write but answer with this error, as a timed-out request that did land. */
  landThenFail: Error | undefined;

  constructor(owner: string) {
    this.row = {
      leaseKey: 'shardId-000000000000',
      leaseOwner: owner,
      leaseCounter: 7,
      ownerSwitchesSinceCheckpoint: 1,
      checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
      parentShardIds: [],
      childShardIds: [],
    };
  }

  private async write(kind: string, lease: Lease, change: Partial<Lease>): Promise<Lease | undefined> {
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      await new Promise((resolve) => setTimeout(resolve, 5));
      const failure = this.failures.shift();
      if (failure) throw failure;
      if (this.row.leaseCounter !== lease.leaseCounter || this.row.leaseOwner !== lease.leaseOwner) return undefined;
      this.row = { ...this.row, ...change, leaseCounter: this.row.leaseCounter + 1 };
      this.writes.push(kind);
      if (this.landThenFail) {
        const error = this.landThenFail;
        this.landThenFail = undefined;
        throw error;
      }
      return this.row;
    } finally {
      this.active--;
    }
  }

  renewLease(lease: Lease) {
    return this.write('renew', lease, {});
  }

  updateCheckpoint(lease: Lease, checkpoint: ExtendedSequenceNumber) {
    return this.write(`checkpoint ${checkpoint.sequenceNumber.slice(-3)}`, lease, { checkpoint, ownerSwitchesSinceCheckpoint: 0 });
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- a stubbed lease table read, answered at once
  async getLease() {
    return this.row;
  }
}

function setup() {
  const fake = new FakeLeaseTable('me');
  const table = fake as unknown as LeaseTable;
  const held = new HeldLease(fake.row, table, 10_000);
  const checkpointer = new ShardCheckpointer(held, table, { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 }, silent);
  return { fake, held, checkpointer };
}

const throttled = () => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });

describe('ShardCheckpointer', () => {
  it('serializes checkpoints and renewals on the lease counter: never two writes in flight', async () => {
    const { fake, held, checkpointer } = setup();
    checkpointer.markDelivered({ sequenceNumber: SEQ(3), subSequenceNumber: 0 });
    await Promise.all([
      held.renew(),
      checkpointer.checkpoint(SEQ(1)),
      held.renew(),
      checkpointer.checkpoint(SEQ(2)),
      held.renew(),
      checkpointer.checkpoint(),
    ]);
    expect(fake.maxActive).toBe(1);
    expect(fake.writes).toEqual(['renew', 'checkpoint 001', 'renew', 'checkpoint 002', 'renew', 'checkpoint 003']);
    expect(fake.row.leaseCounter).toBe(13);
    expect(fake.row.checkpoint.sequenceNumber).toBe(SEQ(3));
  });

  it('retries throttling and 5xx with backoff, then succeeds', async () => {
    const { fake, checkpointer } = setup();
    checkpointer.markDelivered({ sequenceNumber: SEQ(1), subSequenceNumber: 0 });
    fake.failures.push(throttled(), Object.assign(new Error('boom'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }));
    await checkpointer.checkpoint();
    expect(fake.row.checkpoint.sequenceNumber).toBe(SEQ(1));
  });

  it('gives up after maxAttempts and does not retry errors that are not transient', async () => {
    const { fake, checkpointer } = setup();
    checkpointer.markDelivered({ sequenceNumber: SEQ(1), subSequenceNumber: 0 });
    fake.failures.push(throttled(), throttled(), throttled(), throttled());
    await expect(checkpointer.checkpoint()).rejects.toMatchObject({ name: 'ThrottlingException' });
    fake.failures = [Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } })];
    await expect(checkpointer.checkpoint()).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(fake.writes).toEqual([]);
  });

  it('accepts its own write that landed although the answer was lost (the SDK retry then fails the condition)', async () => {
    const { fake, checkpointer } = setup();
    checkpointer.markDelivered({ sequenceNumber: SEQ(5), subSequenceNumber: 0 });
    fake.landThenFail = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    await checkpointer.checkpoint();
    expect(fake.writes).toEqual(['checkpoint 005']);
  });

  it('rejects with LeaseLostError once another worker took the lease, and keeps rejecting', async () => {
    const { fake, held, checkpointer } = setup();
    const lost: string[] = [];
    held.onLost((reason) => lost.push(reason));
    checkpointer.markDelivered({ sequenceNumber: SEQ(1), subSequenceNumber: 0 });
    fake.row = { ...fake.row, leaseOwner: 'thief', leaseCounter: 8 };
    await expect(checkpointer.checkpoint()).rejects.toBeInstanceOf(LeaseLostError);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toContain('leaseOwner=thief');
    await expect(checkpointer.checkpoint()).rejects.toBeInstanceOf(LeaseLostError);
    await expect(held.renew()).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('rejects positions that were never delivered, lie before the checkpoint, or are not sequence numbers', async () => {
    const { checkpointer } = setup();
    await expect(checkpointer.checkpoint()).rejects.toThrow(/no record has been delivered/);
    checkpointer.markDelivered({ sequenceNumber: SEQ(10), subSequenceNumber: 0 });
    await expect(checkpointer.checkpoint(SEQ(11))).rejects.toThrow(/never delivered/);
    await expect(checkpointer.checkpoint(SEQ(10), 1)).rejects.toBeInstanceOf(InvalidCheckpointError);
    await expect(checkpointer.checkpoint('not-a-number')).rejects.toThrow(/not a Kinesis sequence number/);
    await expect(checkpointer.checkpoint('SHARD_END')).rejects.toThrow(/has not ended/);
    await checkpointer.checkpoint(SEQ(9));
    await expect(checkpointer.checkpoint(SEQ(8))).rejects.toThrow(/before the current checkpoint/);
    // Sequence numbers compare as numbers, not strings: a shorter one is smaller.
    await expect(checkpointer.checkpoint('99')).rejects.toThrow(/before the current checkpoint/);
  });

  it('checkpoints SHARD_END with no argument once the shard ended', async () => {
    const { fake, checkpointer } = setup();
    checkpointer.markShardEnded();
    await checkpointer.checkpoint();
    expect(fake.row.checkpoint).toEqual({ sequenceNumber: 'SHARD_END', subSequenceNumber: 0 });
  });

  it('logs a refused checkpoint once per kind, however often the processor repeats it; every call still rejects', async () => {
    const fake = new FakeLeaseTable('me');
    const table = fake as unknown as LeaseTable;
    const lines: string[] = [];
    const logger = { log() {}, warn() {}, error: (m: string) => void lines.push(m) };
    const checkpointer = new ShardCheckpointer(
      new HeldLease(fake.row, table, 10_000),
      table,
      { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      logger,
    );
    checkpointer.markDelivered({ sequenceNumber: SEQ(10), subSequenceNumber: 0 });
    for (let i = 0; i < 5; i++) await expect(checkpointer.checkpoint(SEQ(99))).rejects.toBeInstanceOf(InvalidCheckpointError);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(SEQ(99));
    expect(lines[0]).toContain('never delivered');
    expect(lines[0]).toContain('stays at TRIM_HORIZON');
    fake.row = { ...fake.row, leaseOwner: 'thief', leaseCounter: 8 };
    for (let i = 0; i < 3; i++) await expect(checkpointer.checkpoint()).rejects.toBeInstanceOf(LeaseLostError);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/Checkpoint refused: Lease lost for shardId-000000000000.*delivered again to the next owner/);
  });

  it('refuses every checkpoint once revoked (a processor past processingTimeoutMs), though the lease is still held', async () => {
    const { fake, held, checkpointer } = setup();
    checkpointer.markDelivered({ sequenceNumber: SEQ(4), subSequenceNumber: 0 });
    checkpointer.revoke('processRecords did not return within processingTimeoutMs (100 ms)');
    await expect(checkpointer.checkpoint()).rejects.toThrow(/processingTimeoutMs \(100 ms\)/);
    expect(held.isHeld()).toBe(true);
    expect(fake.writes).toEqual([]);
  });
});
