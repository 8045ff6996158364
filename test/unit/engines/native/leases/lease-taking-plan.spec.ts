import type { Lease } from '../../../../../lib/leases/lease';
import { planLeaseTaking, type TakingInput } from '../../../../../lib/engines/native/leases/lease-taking-plan';

const lease = (leaseKey: string, leaseOwner?: string): Lease => ({
  leaseKey,
  leaseOwner,
  leaseCounter: 5,
  ownerSwitchesSinceCheckpoint: 0,
  checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
  parentShardIds: [],
  childShardIds: [],
});

const identity = <T>(items: T[]) => items;

function plan(owners: (string | undefined)[], me: string, extra: Partial<TakingInput> = {}) {
  const leases = owners.map((owner, i) => lease(`shard-${i}`, owner));
  return planLeaseTaking({
    leases,
    workerId: me,
    expired: new Set(leases.filter((l) => !l.leaseOwner).map((l) => l.leaseKey)),
    held: new Set(leases.filter((l) => l.leaseOwner === me).map((l) => l.leaseKey)),
    maxLeasesForWorker: Number.MAX_SAFE_INTEGER,
    maxLeasesToStealAtOneTime: 1,
    shuffle: identity,
    ...extra,
  });
}

describe('planLeaseTaking (KCL 2.x taker arithmetic)', () => {
  it('a lone worker takes every unowned lease', () => {
    const result = plan([undefined, undefined, undefined, undefined], 'w1');
    expect(result.target).toBe(4);
    expect(result.take.map((l) => l.leaseKey)).toEqual(['shard-0', 'shard-1', 'shard-2', 'shard-3']);
  });

  it('aims at ceil(leases / live workers) and takes expired leases before stealing', () => {
    const result = plan(['w1', 'w1', 'w1', 'w1', 'w1', 'w1', undefined, undefined], 'w2');
    expect(result.target).toBe(4);
    expect(result.take.map((l) => l.leaseKey)).toEqual(['shard-6', 'shard-7']);
    expect(result.stealFrom).toBeUndefined();
  });

  it('does not count the owner of an expired lease as a live worker', () => {
    const leases = ['w1', 'w1', 'dead', 'dead'].map((o, i) => lease(`s${i}`, o));
    const result = planLeaseTaking({
      leases,
      workerId: 'w2',
      expired: new Set(['s2', 's3']),
      held: new Set(),
      maxLeasesForWorker: 100,
      maxLeasesToStealAtOneTime: 1,
      shuffle: identity,
    });
    expect(result.target).toBe(2);
    expect(result.take.map((l) => l.leaseKey)).toEqual(['s2', 's3']);
  });

  it('steals one lease at a time from the most loaded worker when nothing is expired', () => {
    const result = plan(['w1', 'w1', 'w1', 'w2', 'w2', 'w2', 'w3', 'w3'], 'w4');
    expect(result.target).toBe(2);
    expect(result.take).toHaveLength(1);
    expect(result.stealFrom).toMatch(/^w[12]$/);
  });

  it('steals one when it needs more than one and the most loaded is exactly at target', () => {
    // 3 workers, 7 leases: target 3; w3 holds 1, so it needs 2 while w1 and w2 sit at 3.
    const result = plan(['w1', 'w1', 'w1', 'w2', 'w2', 'w2', 'w3'], 'w3');
    expect(result.target).toBe(3);
    expect(result.take).toHaveLength(1);
  });

  it('leaves a balanced fleet alone (3/3/2)', () => {
    for (const me of ['w1', 'w2', 'w3']) {
      expect(plan(['w1', 'w1', 'w1', 'w2', 'w2', 'w2', 'w3', 'w3'], me).take).toEqual([]);
    }
  });

  it('respects maxLeasesForWorker and maxLeasesToStealAtOneTime', () => {
    expect(plan([undefined, undefined, undefined, undefined], 'w1', { maxLeasesForWorker: 3 }).take).toHaveLength(3);
    expect(plan(['w1', 'w1', 'w1', 'w1', 'w1', 'w1'], 'w2', { maxLeasesToStealAtOneTime: 2 }).take).toHaveLength(2);
  });

  it('treats a lease under its own workerId that it does not hold like any other owner: taken only once expired', () => {
    // Another process with the same workerId renews 'b'; taking it at once made the two take it from each other forever.
    const leases = [lease('a', 'w1'), lease('b', 'w1')];
    const input = {
      leases,
      workerId: 'w1',
      held: new Set(['a']),
      maxLeasesForWorker: 100,
      maxLeasesToStealAtOneTime: 1,
      shuffle: identity,
    };
    expect(planLeaseTaking({ ...input, expired: new Set() }).take).toEqual([]);
    expect(planLeaseTaking({ ...input, expired: new Set(['b']) }).take.map((l) => l.leaseKey)).toEqual(['b']);
  });
});
