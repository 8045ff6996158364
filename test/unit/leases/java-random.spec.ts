import { JavaRandom, javaShuffle } from '../../../lib/leases/java-random';
import { isShardSyncLeader } from '../../../lib/leases/leader-decider';
import type { Lease } from '../../../lib/leases/lease';

// Vectors printed by OpenJDK 17's java.util.Random(1947) and Collections.shuffle on this machine.
describe('JavaRandom', () => {
  it('matches java.util.Random(1947).nextInt for power-of-two and other bounds', () => {
    const random = new JavaRandom(1947);
    const bounds = [2, 3, 5, 7, 8, 10, 16, 100, 1000, 1 << 30, 2147483647];
    expect(bounds.map((b) => random.nextInt(b))).toEqual([1, 1, 0, 2, 3, 8, 11, 0, 565, 926476647, 980392342]);
  });

  it('matches Collections.shuffle(sorted owners, new Random(1947))', () => {
    const owners = ['worker-a', 'worker-b', 'worker-c', 'worker-d', 'worker-e'];
    expect(javaShuffle(owners, new JavaRandom(1947))).toEqual(['worker-e', 'worker-a', 'worker-c', 'worker-b', 'worker-d']);
  });
});

describe('isShardSyncLeader (the Java KCL 2.x deterministic shuffle)', () => {
  const lease = (leaseKey: string, leaseOwner?: string): Lease => ({
    leaseKey,
    leaseOwner,
    leaseCounter: 1,
    ownerSwitchesSinceCheckpoint: 0,
    checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
    parentShardIds: [],
    childShardIds: [],
  });
  const leases = ['worker-c', 'worker-a', 'worker-e', 'worker-b', 'worker-d', 'worker-a'].map((owner, i) => lease(`shard-${i}`, owner));

  it('elects the same single leader as the Java KCL, whatever the order of the scan', () => {
    const leaders = ['worker-a', 'worker-b', 'worker-c', 'worker-d', 'worker-e'].filter((w) => isShardSyncLeader(leases, w));
    expect(leaders).toEqual(['worker-e']);
    expect(isShardSyncLeader([...leases].reverse(), 'worker-e')).toBe(true);
  });

  it('lets every worker sync when no lease has an owner yet', () => {
    expect(isShardSyncLeader([lease('a'), lease('b')], 'anyone')).toBe(true);
    expect(isShardSyncLeader([], 'anyone')).toBe(true);
  });
});
