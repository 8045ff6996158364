import type { WorkerLogger } from '../../../core/logger';
import type { WorkerEvent } from '../../../core/worker';
import { isFinished, type Lease } from '../../../leases/lease';
import type { LeaseTable } from '../../../leases/lease-table';
import { monotonicNow, type MonotonicClock } from './clock';
import { HeldLease } from './held-lease';
import { planLeaseTaking } from './lease-taking-plan';

export interface LeaseTakerConfig {
  readonly workerId: string;
  readonly failoverTimeMs: number;
  readonly maxLeasesForWorker: number;
  readonly maxLeasesToStealAtOneTime: number;
  /**
   * The leases this worker may take, and counts when it balances: those of the streams it consumes.
   * Leases of other streams in a multi-stream table (streams no longer configured) are left untouched,
   * as the Java KCL's default FormerStreamsLeasesDeletionStrategy leaves them. Default: every lease.
   */
  readonly accepts?: (lease: Lease) => boolean;
  /**
   * Makes the held lease of a lease just taken (heldSince: when the take was sent, on `clock`). The
   * native worker holds a single-stream lease hand-over-aware (kcl3/kcl3-held-lease.ts), so that a lease
   * taken under the 2.x rules follows a KCL 3.x leader's graceful hand-over after the fleet flips to 3.x.
   * Default: a plain HeldLease.
   */
  readonly hold?: (lease: Lease, heldSince: number, clock: MonotonicClock) => HeldLease;
}

type TakenHow = Extract<WorkerEvent, { type: 'leaseTaken' }>['how'];

export interface TakenLease {
  readonly held: HeldLease;
  readonly how: TakenHow;
  readonly previousOwner?: string;
  /** The worker's target share when the lease was taken. */
  readonly target: number;
}

interface CounterSighting {
  readonly counter: number;
  readonly owner: string | undefined;
  /** On the monotonic clock. */
  readonly changedAt: number;
}

const CLASH_WARNING_QUIET_MS = 60_000;

/**
 * Finds leases to take and takes them (the KCL's DynamoDBLeaseTaker). Expiry is judged by this
 * worker's own monotonic clock: a lease is expired when its counter and owner have not changed for
 * failoverTimeMs since this worker first saw them, never by timestamps in the table.
 */
export class LeaseTaker {
  private readonly sightings = new Map<string, CounterSighting>();
  private lastScan: readonly Lease[] = [];
  private lastClashWarning = -Infinity;

  constructor(
    private readonly table: LeaseTable,
    private readonly config: LeaseTakerConfig,
    private readonly logger: WorkerLogger,
    private readonly clock: MonotonicClock = monotonicNow,
  ) {}

  /** The lease table as of the latest scan. */
  latestScan(): readonly Lease[] {
    return this.lastScan;
  }

  /**
   * One taker pass: scan, judge expiry, take what the plan says. `isHeld` tells which leases this
   * worker renews right now; `shouldContinue` is asked before each take (false once stopping).
   */
  async takeLeases(isHeld: (leaseKey: string) => boolean, shouldContinue: () => boolean = () => true): Promise<TakenLease[]> {
    const accepts = this.config.accepts;
    const scanned = await this.table.listLeases();
    const leases = accepts ? scanned.filter(accepts) : scanned;
    this.lastScan = leases;
    const expired = this.judgeExpiry(leases, isHeld);
    const held = new Set(leases.filter((lease) => isHeld(lease.leaseKey)).map((lease) => lease.leaseKey));

    const plan = planLeaseTaking({
      leases: leases.filter((lease) => !isFinished(lease)),
      workerId: this.config.workerId,
      expired,
      held,
      maxLeasesForWorker: this.config.maxLeasesForWorker,
      maxLeasesToStealAtOneTime: this.config.maxLeasesToStealAtOneTime,
    });
    // A finished lease whose owner died keeps that owner in the table, and in the shard-sync leader
    // election, forever. The Java KCL 2.7.2 takes expired finished leases too; so does this taker,
    // and the consumer then gives them up unowned (left for cleanup once the children started).
    const abandonedFinished = leases.filter(
      (lease) => isFinished(lease) && lease.leaseOwner !== undefined && expired.has(lease.leaseKey) && !held.has(lease.leaseKey),
    );

    const taken: TakenLease[] = [];
    for (const lease of [...plan.take, ...abandonedFinished]) {
      if (!shouldContinue()) break;
      // The lease is ours as of when the take was sent, not when its answer arrived.
      const sentAt = this.clock();
      const written = await this.table.takeLease(lease, this.config.workerId);
      if (!written) {
        this.logger.debug?.(`Lease ${lease.leaseKey} changed while being taken; another worker got it first.`);
        continue;
      }
      const how: TakenHow = plan.stealFrom && plan.take.includes(lease) ? 'stolen' : lease.leaseOwner ? 'expired' : 'unowned';
      taken.push({
        held:
          this.config.hold?.(written, sentAt, this.clock) ??
          new HeldLease(written, this.table, this.config.failoverTimeMs, this.clock, sentAt),
        how,
        previousOwner: lease.leaseOwner,
        target: plan.target,
      });
    }
    return taken;
  }

  /** Updates the sightings and returns the keys of the expired leases (unowned ones included). */
  private judgeExpiry(leases: readonly Lease[], isHeld: (leaseKey: string) => boolean): Set<string> {
    const now = this.clock();
    const expired = new Set<string>();
    const seen = new Set<string>();
    const clashes: string[] = [];
    for (const lease of leases) {
      seen.add(lease.leaseKey);
      const prior = this.sightings.get(lease.leaseKey);
      if (!prior || prior.counter !== lease.leaseCounter || prior.owner !== lease.leaseOwner) {
        this.sightings.set(lease.leaseKey, { counter: lease.leaseCounter, owner: lease.leaseOwner, changedAt: now });
        // Our workerId on a lease we do not hold, and its counter moving: another process renews it.
        if (prior && prior.owner === lease.leaseOwner && lease.leaseOwner === this.config.workerId && !isHeld(lease.leaseKey)) {
          clashes.push(lease.leaseKey);
        }
      }
      const sighting = this.sightings.get(lease.leaseKey)!;
      if (lease.leaseOwner === undefined || now - sighting.changedAt > this.config.failoverTimeMs) expired.add(lease.leaseKey);
    }
    for (const key of this.sightings.keys()) if (!seen.has(key)) this.sightings.delete(key);
    if (clashes.length > 0) this.warnClash(clashes, now);
    return expired;
  }

  private warnClash(leaseKeys: readonly string[], now: number): void {
    if (now - this.lastClashWarning < CLASH_WARNING_QUIET_MS) return;
    this.lastClashWarning = now;
    this.logger.warn(
      `Another process renews ${leaseKeys.join(', ')} under this worker's workerId '${this.config.workerId}'. ` +
        `Two workers with one workerId cannot share the shards: give each process its own workerId option ` +
        `(or leave it unset for a unique default). This worker waits for those leases to expire instead of taking them.`,
    );
  }
}
