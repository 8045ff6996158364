import { describeError } from '../../../core/aws-errors';
import { LeaseLostError } from '../../../core/errors';
import type { WorkerLogger } from '../../../core/logger';
import { HeldLease, RELEASED } from './held-lease';
import { isFinished, type Lease } from '../../../leases/lease';
import type { LeaseTable } from '../../../leases/lease-table';
import { planLeaseTaking } from './lease-taking-plan';
import type { WorkerEvent } from '../../../core/worker';

export interface LeaseCoordinatorConfig {
  readonly emit: (event: WorkerEvent) => void;
  readonly workerId: string;
  readonly failoverTimeMs: number;
  readonly leaseRenewalIntervalMs: number;
  readonly leaseTakerIntervalMs: number;
  readonly maxLeasesForWorker: number;
  readonly maxLeasesToStealAtOneTime: number;
}

interface CounterSighting {
  counter: number;
  owner: string | undefined;
  changedAt: number;
}

/**
 * Keeps this worker's share of the leases: renews what it holds, and takes expired or stolen
 * leases on a timer. Expiry is judged by this worker's own clock, never by timestamps in the table.
 */
export class LeaseCoordinator {
  private readonly held = new Map<string, HeldLease>();
  private readonly sightings = new Map<string, CounterSighting>();
  private renewTimer: NodeJS.Timeout | undefined;
  private takeTimer: NodeJS.Timeout | undefined;
  private taking: Promise<void> | undefined;
  private stopped = false;
  private lastScan: readonly Lease[] = [];

  constructor(
    private readonly table: LeaseTable,
    private readonly config: LeaseCoordinatorConfig,
    private readonly logger: WorkerLogger,
    private readonly onLeaseTaken: (lease: HeldLease) => void,
  ) {}

  start(): void {
    this.stopped = false;
    this.renewTimer = setInterval(() => void this.renewAll(), this.config.leaseRenewalIntervalMs);
    this.takeTimer = setInterval(() => void this.runTaker(), this.config.leaseTakerIntervalMs);
    void this.runTaker();
  }

  /** Stops taking leases; held ones are still renewed, so their consumers can finish. */
  async stopTaking(): Promise<void> {
    this.stopped = true;
    clearInterval(this.takeTimer);
    await this.taking;
  }

  /** Stops renewing too. Leases not released by then expire after failoverTimeMs. */
  async stop(): Promise<void> {
    await this.stopTaking();
    clearInterval(this.renewTimer);
  }

  heldLeases(): HeldLease[] {
    return [...this.held.values()];
  }

  /** The lease table as this worker last scanned it. */
  latestScan(): readonly Lease[] {
    return this.lastScan;
  }

  /** Runs one taker pass now (also on the timer); concurrent calls share the pass in flight. */
  runTaker(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.taking ??= this.takeLeases()
      .catch((error) => this.logger.warn(`Lease taker failed, will retry: ${describeError(error)}`))
      .finally(() => (this.taking = undefined));
    return this.taking;
  }

  private async takeLeases(): Promise<void> {
    const leases = await this.table.listLeases();
    this.lastScan = leases;
    const now = Date.now();
    const expired = new Set<string>();
    const seen = new Set<string>();
    for (const lease of leases) {
      seen.add(lease.leaseKey);
      const prior = this.sightings.get(lease.leaseKey);
      if (!prior || prior.counter !== lease.leaseCounter || prior.owner !== lease.leaseOwner) {
        this.sightings.set(lease.leaseKey, { counter: lease.leaseCounter, owner: lease.leaseOwner, changedAt: now });
      }
      const sighting = this.sightings.get(lease.leaseKey)!;
      if (lease.leaseOwner === undefined || now - sighting.changedAt > this.config.failoverTimeMs) expired.add(lease.leaseKey);
    }
    for (const key of this.sightings.keys()) if (!seen.has(key)) this.sightings.delete(key);
    this.dropLostLeases();

    const plan = planLeaseTaking({
      leases: leases.filter((lease) => !isFinished(lease)),
      workerId: this.config.workerId,
      expired,
      held: new Set(this.held.keys()),
      maxLeasesForWorker: this.config.maxLeasesForWorker,
      maxLeasesToStealAtOneTime: this.config.maxLeasesToStealAtOneTime,
    });
    for (const lease of plan.take) {
      if (this.stopped) return;
      const taken = await this.table.takeLease(lease, this.config.workerId);
      if (!taken) {
        this.logger.debug?.(`Lease ${lease.leaseKey} changed while being taken; another worker got it first.`);
        continue;
      }
      const how = plan.stealFrom ? 'stolen' : !lease.leaseOwner ? 'unowned' : lease.leaseOwner === this.config.workerId ? 'reclaimed' : 'expired';
      this.logger.log(`Lease ${lease.leaseKey} taken (${how}${lease.leaseOwner ? ` from ${lease.leaseOwner}` : ''}; target ${plan.target} leases for this worker).`);
      this.config.emit({ type: 'leaseTaken', shardId: lease.leaseKey, how, previousOwner: lease.leaseOwner });
      const held = new HeldLease(taken, this.table, this.config.failoverTimeMs);
      this.held.set(taken.leaseKey, held);
      held.onLost((reason) => {
        if (this.held.get(taken.leaseKey) === held) this.held.delete(taken.leaseKey);
        if (reason !== RELEASED) this.config.emit({ type: 'leaseLost', shardId: taken.leaseKey, reason });
      });
      this.onLeaseTaken(held);
    }
  }

  private async renewAll(): Promise<void> {
    this.dropLostLeases();
    await Promise.all(
      [...this.held.values()].map(async (held) => {
        try {
          await held.renew();
        } catch (error) {
          if (error instanceof LeaseLostError) {
            this.logger.warn(`Lease ${held.leaseKey} lost: ${error.message}`);
          } else if (!held.isHeld()) {
            held.markLost(`not renewed for failoverTimeMs (${this.config.failoverTimeMs} ms): ${describeError(error)}`);
            this.logger.warn(`Lease ${held.leaseKey} expired locally; last renewal error: ${describeError(error)}`);
          } else {
            this.logger.warn(`Renewal of ${held.leaseKey} failed, will retry: ${describeError(error)}`);
          }
        }
      }),
    );
  }

  private dropLostLeases(): void {
    for (const [key, held] of this.held) {
      if (!held.isHeld()) {
        held.markLost(`not renewed for failoverTimeMs (${this.config.failoverTimeMs} ms)`);
        this.held.delete(key);
      }
    }
  }
}
