import {
  planAssignments,
  type AssignmentInput,
  type LeaseObservation,
  type PlannedLease,
  type PlannedWorker,
} from '../../../../../lib/engines/native/kcl3/lease-assignment-plan';

const NOW_S = 1_700_000_000;
const FAILOVER = 10_000;

const lease = (leaseKey: string, leaseOwner?: string, extra: Partial<PlannedLease> = {}): PlannedLease => ({
  leaseKey,
  leaseOwner,
  leaseCounter: 1,
  finished: false,
  ...extra,
});
const worker = (workerId: string, extra: Partial<PlannedWorker> = {}): PlannedWorker => ({
  workerId,
  lastUpdateSeconds: NOW_S,
  valid: true,
  failing: false,
  ...extra,
});

function plan(input: Partial<AssignmentInput>) {
  return planAssignments({
    leases: [],
    workers: [],
    previous: new Map(),
    now: 1_000_000,
    nowSeconds: NOW_S,
    failoverTimeMs: FAILOVER,
    workerExpiryMs: 6_000,
    staleWorkerMetricsMs: 60_000,
    gracefulLeaseHandoffTimeoutMs: 30_000,
    maxLeasesForWorker: Number.MAX_SAFE_INTEGER,
    balance: false,
    ...input,
  });
}

const moves = (result: ReturnType<typeof plan>) => result.assignments.map((a) => [a.lease.leaseKey, a.newOwner, a.how, a.why]);

/** Runs the plan twice: a first sight at `now`, then the same rows at `now + elapsed`. */
function twoPasses(input: Partial<AssignmentInput>, elapsed: number, second: Partial<AssignmentInput> = {}) {
  const first = plan({ ...input, now: 1_000_000 });
  return { first, second: plan({ ...input, ...second, previous: first.observations, now: 1_000_000 + elapsed }) };
}

describe('planAssignments (the native KCL 3.x leader)', () => {
  it('an unassigned lease goes to the least loaded live worker (by count, then throughput), at once', () => {
    const result = plan({
      leases: [
        lease('s-0', 'a'),
        lease('s-1', 'a'),
        lease('s-2', 'b', { throughputKBps: 5 }),
        lease('s-3', 'c', { throughputKBps: 1 }),
        lease('free'),
      ],
      workers: [worker('a'), worker('b'), worker('c')],
    });
    expect(moves(result)).toEqual([['free', 'c', 'assign', 'unassigned']]);
    expect(result.activeWorkers).toEqual(['a', 'b', 'c']);
    expect(result.unassignable).toBe(0);
  });

  it('several unassigned leases spread over the workers as the plan counts its own moves', () => {
    const result = plan({ leases: ['f1', 'f2', 'f3', 'f4'].map((key) => lease(key)), workers: [worker('a'), worker('b')] });
    const owners = result.assignments.map((a) => a.newOwner);
    expect(owners.filter((o) => o === 'a')).toHaveLength(2);
    expect(owners.filter((o) => o === 'b')).toHaveLength(2);
  });

  it("an owned lease is expired only after failoverTimeMs without a counter move, counted from this leader's first sight", () => {
    const input = { leases: [lease('s-0', 'dead', { leaseCounter: 7 })], workers: [worker('a')] };
    // First sight: the counter counts as just moved, even though the owner has no metrics.
    expect(plan(input).assignments).toEqual([]);
    expect(twoPasses(input, FAILOVER).second.assignments).toEqual([]);
    expect(moves(twoPasses(input, FAILOVER + 1).second)).toEqual([['s-0', 'a', 'assign', 'expired']]);
  });

  it('a counter that moves keeps the lease with its owner, however long the leader watches', () => {
    const first = plan({ leases: [lease('s-0', 'b', { leaseCounter: 1 })], workers: [worker('a'), worker('b')] });
    const second = plan({
      leases: [lease('s-0', 'b', { leaseCounter: 2 })],
      workers: [worker('a'), worker('b')],
      previous: first.observations,
      now: 1_000_000 + FAILOVER - 1,
    });
    const third = plan({
      leases: [lease('s-0', 'b', { leaseCounter: 2 })],
      workers: [worker('a'), worker('b')],
      previous: second.observations,
      now: 1_000_000 + 2 * FAILOVER - 2,
    });
    expect(third.assignments).toEqual([]);
    const fourth = plan({
      leases: [lease('s-0', 'b', { leaseCounter: 2 })],
      workers: [worker('a'), worker('b')],
      previous: third.observations,
      now: 1_000_000 + 2 * FAILOVER,
    });
    expect(moves(fourth)).toEqual([['s-0', 'a', 'assign', 'expired']]);
  });

  it('with no live worker a lease that needs an owner is counted unassignable, not assigned', () => {
    const result = plan({ leases: [lease('free')], workers: [worker('old', { lastUpdateSeconds: NOW_S - 7 })] });
    expect(result.assignments).toEqual([]);
    expect(result.unassignable).toBe(1);
    expect(result.activeWorkers).toEqual([]);
  });

  it('stale, invalid and failing worker metrics exclude the worker; a worker exactly at the expiry still counts', () => {
    const result = plan({
      leases: [lease('f1'), lease('f2'), lease('f3')],
      workers: [
        worker('stale', { lastUpdateSeconds: NOW_S - 7 }),
        worker('invalid', { valid: false }),
        worker('failing', { failing: true }),
        worker('edge', { lastUpdateSeconds: NOW_S - 6 }),
      ],
    });
    expect(result.activeWorkers).toEqual(['edge']);
    expect(result.assignments.map((a) => a.newOwner)).toEqual(['edge', 'edge', 'edge']);
  });

  it('maxLeasesForWorker caps what a worker is given; the rest stays unassignable', () => {
    const result = plan({
      leases: [lease('s-0', 'a'), lease('f1'), lease('f2'), lease('f3')],
      workers: [worker('a'), worker('b')],
      maxLeasesForWorker: 1,
    });
    expect(moves(result)).toEqual([['f1', 'b', 'assign', 'unassigned']]);
    expect(result.unassignable).toBe(2);
  });

  it('a SHARD_END lease is never assigned, neither unassigned nor expired, and does not count as load', () => {
    const input = {
      leases: [
        lease('done-free', undefined, { finished: true }),
        lease('done-dead', 'dead', { finished: true }),
        lease('done-a1', 'a', { finished: true }),
        lease('done-a2', 'a', { finished: true }),
        lease('free'),
      ],
      workers: [worker('a'), worker('b', { lastUpdateSeconds: NOW_S })],
    };
    const { first, second } = twoPasses({ ...input, leases: input.leases.concat(lease('s-b', 'b')) }, FAILOVER + 1, {
      leases: input.leases.concat(lease('s-b', 'b', { leaseCounter: 2 })),
    });
    // SHARD_END rows of a are not load: the free lease goes to a (0 live leases) rather than b (1).
    expect(moves(first)).toEqual([['free', 'a', 'assign', 'unassigned']]);
    expect(second.assignments.filter((a) => a.lease.leaseKey.startsWith('done'))).toEqual([]);
  });

  it('balancing by count moves the lightest lease of the busiest worker through a graceful hand-over', () => {
    const result = plan({
      leases: [
        lease('s-0', 'a', { throughputKBps: 9 }),
        lease('s-1', 'a', { throughputKBps: 1 }),
        lease('s-2', 'a', { throughputKBps: 5 }),
        lease('s-3', 'b'),
      ],
      workers: [worker('a'), worker('b'), worker('c')],
      balance: true,
    });
    expect(moves(result)).toEqual([['s-1', 'c', 'handoff', 'balance']]);
  });

  it('balancing with gracefulLeaseHandoffTimeoutMs 0 is a plain assignment', () => {
    const result = plan({
      leases: [lease('s-0', 'a'), lease('s-1', 'a'), lease('s-2', 'a')],
      workers: [worker('a'), worker('b')],
      balance: true,
      gracefulLeaseHandoffTimeoutMs: 0,
    });
    expect(moves(result)).toEqual([['s-0', 'b', 'assign', 'balance']]);
  });

  it('balancing stops at a difference of one, runs only when asked, and only with two live workers', () => {
    const leases = [lease('s-0', 'a'), lease('s-1', 'a'), lease('s-2', 'b')];
    expect(plan({ leases, workers: [worker('a'), worker('b')], balance: true }).assignments).toEqual([]);
    const uneven = [lease('s-0', 'a'), lease('s-1', 'a'), lease('s-2', 'a'), lease('s-3', 'a')];
    expect(plan({ leases: uneven, workers: [worker('a'), worker('b')], balance: false }).assignments).toEqual([]);
    expect(plan({ leases: uneven, workers: [worker('a')], balance: true }).assignments).toEqual([]);
    expect(moves(plan({ leases: uneven, workers: [worker('a'), worker('b')], balance: true }))).toEqual([
      ['s-0', 'b', 'handoff', 'balance'],
      ['s-1', 'b', 'handoff', 'balance'],
    ]);
  });

  it('balancing never moves a lease in hand-over, nor one assigned in the same pass', () => {
    // a processes three leases but two of them are being handed over to b: only s-2 is a's to give.
    const inHandOver = plan({
      leases: [
        lease('s-0', 'b', { checkpointOwner: 'a' }),
        lease('s-1', 'b', { checkpointOwner: 'a' }),
        lease('s-2', 'a'),
        lease('s-3', 'a'),
      ],
      workers: [worker('a'), worker('b'), worker('c')],
      balance: true,
    });
    // s-0 and s-1 count as a's load (a still processes them) but are not a's to give: s-2 and s-3 move instead.
    expect(moves(inHandOver)).toEqual([
      ['s-2', 'b', 'handoff', 'balance'],
      ['s-3', 'c', 'handoff', 'balance'],
    ]);
    // An expired lease assigned in this pass is not moved again by the balancing of the same pass.
    const { second } = twoPasses(
      {
        leases: [lease('x-0', 'dead'), lease('x-1', 'dead'), lease('x-2', 'dead'), lease('s-a', 'a')],
        workers: [worker('a'), worker('b')],
        balance: true,
      },
      FAILOVER + 1,
      { leases: [lease('x-0', 'dead'), lease('x-1', 'dead'), lease('x-2', 'dead'), lease('s-a', 'a', { leaseCounter: 2 })] },
    );
    const keys = second.assignments.map((a) => a.lease.leaseKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(second.assignments.map((a) => a.why)).toEqual(['expired', 'expired', 'expired']);
  });

  it('a hand-over stuck for gracefulLeaseHandoffTimeoutMs + failoverTimeMs is completed by a plain assignment to the new owner', () => {
    const handoff = 30_000;
    const stuck = (counter: number) => [lease('s-0', 'b', { checkpointOwner: 'a', leaseCounter: counter })];
    const workers = [worker('a'), worker('b'), worker('c')];
    let previous: ReadonlyMap<string, LeaseObservation> = new Map();
    let now = 1_000_000;
    let result = plan({ leases: stuck(1), workers, previous, now });
    // The old owner keeps renewing (so the lease never expires), but never clears checkpointOwner.
    for (let counter = 2; now - 1_000_000 <= handoff + FAILOVER; counter++) {
      expect(result.assignments).toEqual([]);
      previous = result.observations;
      now += 5_000;
      result = plan({ leases: stuck(counter), workers, previous, now });
    }
    expect(moves(result)).toEqual([['s-0', 'b', 'assign', 'handoff-timeout']]);
    // If the new owner is gone, the lease goes to the least loaded live worker instead.
    const withoutB = plan({ leases: stuck(99), workers: [worker('a'), worker('c')], previous, now });
    expect(moves(withoutB)).toEqual([['s-0', 'c', 'assign', 'handoff-timeout']]);
  });

  it('lists the workers whose metrics are older than staleWorkerMetricsMs, live or not', () => {
    const result = plan({
      workers: [
        worker('fresh'),
        worker('old', { lastUpdateSeconds: NOW_S - 61 }),
        worker('edge', { lastUpdateSeconds: NOW_S - 60 }),
        worker('bad-old', { valid: false, lastUpdateSeconds: NOW_S - 1000 }),
      ],
    });
    expect([...result.staleWorkers].sort()).toEqual(['bad-old', 'old']);
  });
});
