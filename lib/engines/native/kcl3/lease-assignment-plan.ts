/**
 * What the KCL 3.x leader decides in one assignment pass (the Java LeaseAssignmentManager), as a pure
 * function of the lease rows, the workers' metrics items and what the leader saw at its previous pass.
 * The I/O lives in lease-assignment-manager.ts.
 *
 * Deliberate difference from the Java VarianceBasedLeaseAssignmentDecider: balancing is by lease count
 * (ties broken by assigned throughput), not by the workers' reported utilisation. A mixed fleet cannot
 * compare the two sides' utilisation (a Java worker outside EC2/ECS/EKS reports none, a native worker
 * reports its process CPU), and a count is what both the 2.x rules and every operator expect.
 */

export interface PlannedLease {
  readonly leaseKey: string;
  readonly leaseOwner?: string;
  /** Set during a graceful hand-over: the previous owner, still processing. */
  readonly checkpointOwner?: string;
  readonly leaseCounter: number;
  readonly throughputKBps?: number;
  /** Checkpointed at SHARD_END: nothing left to process, never assigned. */
  readonly finished: boolean;
}

export interface PlannedWorker {
  readonly workerId: string;
  /** Epoch seconds of its last WorkerMetricStats write. */
  readonly lastUpdateSeconds: number;
  /** False when the item is not one the Java leader accepts (metric names of sts and opr differ, a zero ceiling). */
  readonly valid: boolean;
  /** A metric reported as failing (-1): the Java leader does not assign to such a worker. */
  readonly failing: boolean;
}

/** What the leader remembers of a lease between passes: when it last saw its counter move. */
export interface LeaseObservation {
  readonly leaseCounter: number;
  readonly leaseOwner?: string;
  readonly checkpointOwner?: string;
  /** Monotonic ms; undefined: never seen renewed (an unassigned lease). */
  readonly counterMovedAt?: number;
  /** Monotonic ms when the current hand-over (checkpointOwner) was first seen. */
  readonly handOverSeenAt?: number;
}

export interface AssignmentInput {
  readonly leases: readonly PlannedLease[];
  readonly workers: readonly PlannedWorker[];
  readonly previous: ReadonlyMap<string, LeaseObservation>;
  /** Monotonic ms of the lease table scan. */
  readonly now: number;
  readonly nowSeconds: number;
  readonly failoverTimeMs: number;
  /** A worker counts as alive while its metrics are younger than this (Java: 2 × workerMetricsReporterFreqInMillis). */
  readonly workerExpiryMs: number;
  readonly staleWorkerMetricsMs: number;
  readonly gracefulLeaseHandoffTimeoutMs: number;
  readonly maxLeasesForWorker: number;
  readonly balance: boolean;
}

export interface Assignment {
  readonly lease: PlannedLease;
  readonly newOwner: string;
  /** 'handoff': the current owner finishes first (checkpointOwner); 'assign': a fresh assignment. */
  readonly how: 'assign' | 'handoff';
  readonly why: 'unassigned' | 'expired' | 'handoff-timeout' | 'balance';
}

export interface AssignmentPlan {
  readonly assignments: readonly Assignment[];
  readonly activeWorkers: readonly string[];
  readonly staleWorkers: readonly string[];
  readonly observations: ReadonlyMap<string, LeaseObservation>;
  /** Leases that needed an owner and got none (no live worker below maxLeasesForWorker). */
  readonly unassignable: number;
}

export function planAssignments(input: AssignmentInput): AssignmentPlan {
  const observations = observe(input);
  const active = input.workers
    .filter((worker) => worker.valid && !worker.failing && (input.nowSeconds - worker.lastUpdateSeconds) * 1000 <= input.workerExpiryMs)
    .map((worker) => worker.workerId)
    .sort();
  const staleWorkers = input.workers
    .filter((worker) => (input.nowSeconds - worker.lastUpdateSeconds) * 1000 > input.staleWorkerMetricsMs)
    .map((worker) => worker.workerId);
  const load = new Load(active, input.maxLeasesForWorker);
  const live = input.leases.filter((lease) => !lease.finished);
  for (const lease of live) load.add(actualOwner(lease), lease);

  const needOwner: Array<{ lease: PlannedLease; why: Assignment['why']; since: number }> = [];
  for (const lease of live) {
    const seen = observations.get(lease.leaseKey)!;
    if (lease.leaseOwner === undefined) needOwner.push({ lease, why: 'unassigned', since: -1 });
    else if (seen.counterMovedAt === undefined || input.now - seen.counterMovedAt > input.failoverTimeMs)
      needOwner.push({ lease, why: 'expired', since: seen.counterMovedAt ?? -1 });
    else if (
      lease.checkpointOwner !== undefined &&
      seen.handOverSeenAt !== undefined &&
      input.now - seen.handOverSeenAt > input.gracefulLeaseHandoffTimeoutMs + input.failoverTimeMs
    ) {
      needOwner.push({ lease, why: 'handoff-timeout', since: seen.handOverSeenAt });
    }
  }
  // The longest-neglected first, as the Java decider sorts by lastCounterIncrementNanos.
  needOwner.sort((a, b) => a.since - b.since || a.lease.leaseKey.localeCompare(b.lease.leaseKey));

  const assignments: Assignment[] = [];
  const moved = new Set<string>();
  let unassignable = 0;
  for (const { lease, why } of needOwner) {
    // A hand-over that timed out goes to its new owner if that one is alive: only checkpointOwner must go.
    const target =
      why === 'handoff-timeout' && lease.leaseOwner !== undefined && load.canTake(lease.leaseOwner) ? lease.leaseOwner : load.leastLoaded();
    if (target === undefined) {
      unassignable += 1;
      continue;
    }
    load.move(lease, actualOwner(lease), target);
    assignments.push({ lease, newOwner: target, how: 'assign', why });
    moved.add(lease.leaseKey);
  }

  if (input.balance && active.length > 1) {
    for (;;) {
      const from = load.mostLoaded();
      const to = load.leastLoaded();
      if (from === undefined || to === undefined || from === to || load.count(from) - load.count(to) <= 1) break;
      // The lightest lease moves: the smallest disturbance for the same change in count.
      const candidate = load
        .leasesOf(from)
        .filter((lease) => !moved.has(lease.leaseKey) && lease.checkpointOwner === undefined && lease.leaseOwner === from)
        .sort((a, b) => (a.throughputKBps ?? 0) - (b.throughputKBps ?? 0) || a.leaseKey.localeCompare(b.leaseKey))[0];
      if (!candidate) break;
      load.move(candidate, from, to);
      moved.add(candidate.leaseKey);
      assignments.push({
        lease: candidate,
        newOwner: to,
        how: input.gracefulLeaseHandoffTimeoutMs > 0 ? 'handoff' : 'assign',
        why: 'balance',
      });
    }
  }
  return { assignments, activeWorkers: active, staleWorkers, observations, unassignable };
}

const actualOwner = (lease: PlannedLease): string | undefined => lease.checkpointOwner ?? lease.leaseOwner;

function observe(input: AssignmentInput): Map<string, LeaseObservation> {
  const next = new Map<string, LeaseObservation>();
  for (const lease of input.leases) {
    const before = input.previous.get(lease.leaseKey);
    // First sight of an owned lease counts as a renewal now: a new leader waits failoverTimeMs before it calls anything expired.
    const counterMovedAt =
      lease.leaseOwner === undefined ? undefined : !before || lease.leaseCounter > before.leaseCounter ? input.now : before.counterMovedAt;
    const sameHandOver = before && before.checkpointOwner === lease.checkpointOwner && before.leaseOwner === lease.leaseOwner;
    const handOverSeenAt =
      lease.checkpointOwner === undefined ? undefined : sameHandOver ? (before.handOverSeenAt ?? input.now) : input.now;
    next.set(lease.leaseKey, {
      leaseCounter: lease.leaseCounter,
      leaseOwner: lease.leaseOwner,
      checkpointOwner: lease.checkpointOwner,
      counterMovedAt,
      handOverSeenAt,
    });
  }
  return next;
}

/** The live workers' lease counts and throughput, updated as the plan moves leases. */
class Load {
  private readonly leases = new Map<string, PlannedLease[]>();
  private readonly throughput = new Map<string, number>();

  constructor(
    private readonly workers: readonly string[],
    private readonly maxLeases: number,
  ) {
    for (const worker of workers) {
      this.leases.set(worker, []);
      this.throughput.set(worker, 0);
    }
  }

  add(owner: string | undefined, lease: PlannedLease): void {
    if (owner === undefined || !this.leases.has(owner)) return;
    this.leases.get(owner)!.push(lease);
    this.throughput.set(owner, this.throughput.get(owner)! + (lease.throughputKBps ?? 0));
  }

  move(lease: PlannedLease, from: string | undefined, to: string): void {
    if (from !== undefined && this.leases.has(from)) {
      this.leases.set(
        from,
        this.leases.get(from)!.filter((held) => held.leaseKey !== lease.leaseKey),
      );
      this.throughput.set(from, this.throughput.get(from)! - (lease.throughputKBps ?? 0));
    }
    this.add(to, lease);
  }

  count(worker: string): number {
    return this.leases.get(worker)?.length ?? 0;
  }

  leasesOf(worker: string): readonly PlannedLease[] {
    return this.leases.get(worker) ?? [];
  }

  canTake(worker: string): boolean {
    return this.leases.has(worker) && this.count(worker) < this.maxLeases;
  }

  leastLoaded(): string | undefined {
    return this.pick(
      (a, b) => this.count(a) - this.count(b) || this.throughput.get(a)! - this.throughput.get(b)!,
      (worker) => this.canTake(worker),
    );
  }

  mostLoaded(): string | undefined {
    return this.pick(
      (a, b) => this.count(b) - this.count(a) || this.throughput.get(b)! - this.throughput.get(a)!,
      () => true,
    );
  }

  private pick(order: (a: string, b: string) => number, eligible: (worker: string) => boolean): string | undefined {
    return this.workers.filter(eligible).sort((a, b) => order(a, b) || a.localeCompare(b))[0];
  }
}
