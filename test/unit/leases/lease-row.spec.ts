import { leaseFromItem, rowProblem } from '../../../lib/leases/lease';
import { SkippedRowWarnings } from '../../../lib/leases/skipped-rows';

const valid = {
  leaseKey: { S: 'shardId-000000000000' },
  leaseCounter: { N: '3' },
  leaseOwner: { S: 'w1' },
  checkpoint: { S: 'TRIM_HORIZON' },
};

describe('lease rows that are not usable leases', () => {
  it('accepts a KCL 2.x row and reads it', () => {
    expect(rowProblem(valid)).toBeUndefined();
    expect(leaseFromItem(valid)).toMatchObject({ leaseKey: 'shardId-000000000000', leaseCounter: 3, leaseOwner: 'w1' });
  });

  it.each([
    [{ leaseKey: valid.leaseKey }, /leaseCounter is missing/],
    [{ ...valid, leaseCounter: { S: 'three' } }, /leaseCounter is \{"S":"three"\}, not a number/],
    [{ ...valid, leaseCounter: { N: '-1' } }, /not a non-negative integer/],
    [{ ...valid, leaseOwner: { N: '5' } }, /leaseOwner is \{"N":"5"\}, not a string/],
    [{ ...valid, parentShardId: { S: 'shardId-1' } }, /parentShardId .* not a string set/],
    [{ ...valid, entityType: { S: 'WORKER_METRIC_STATS' } }, /not a lease \(a KCL 3.x row\)/],
  ])('names what is wrong with %j', (item, problem) => {
    expect(rowProblem(item as never)).toMatch(problem);
  });

  it('accepts a KCL 3.x row that is a lease', () => {
    expect(rowProblem({ ...valid, entityType: { S: 'LEASE' } })).toBeUndefined();
  });

  it('reads checkpointOwner (a KCL 3.x graceful hand-over), and has no such key when the row has none', () => {
    expect(leaseFromItem({ ...valid, checkpointOwner: { S: 'w0' } })).toMatchObject({ leaseOwner: 'w1', checkpointOwner: 'w0' });
    expect('checkpointOwner' in leaseFromItem(valid)).toBe(false);
  });

  it('warns once per row, then again only after the quiet period', () => {
    const warnings: string[] = [];
    let now = 0;
    const skipped = new SkippedRowWarnings({ log() {}, warn: (m) => void warnings.push(m), error() {} }, 'app', 60_000, () => now);
    for (let i = 0; i < 10; i++) skipped.skipped('bad-1', 'leaseCounter is missing');
    skipped.skipped('bad-2', 'leaseCounter is missing');
    expect(warnings).toHaveLength(2);
    now = 60_000;
    skipped.skipped('bad-1', 'leaseCounter is missing');
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/Lease table app: row bad-1 skipped, leaseCounter is missing/);
  });
});
