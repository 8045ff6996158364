import { describeError } from '../../../core/aws-errors';
import type { WorkerLogger } from '../../../core/logger';
import type { WorkerEvent } from '../../../core/worker';
import { shardIdOf, type Lease } from '../../../leases/lease';
import type { LeaseTable } from '../../../leases/lease-table';
import { monotonicNow, type MonotonicClock } from './clock';
import { RELEASED, type HeldLease } from './held-lease';
import { LeaseRenewer } from './lease-renewer';
import { LeaseTaker, type LeaseTakerConfig, type TakenLease } from './lease-taker';

/** Where the leases to hold come from instead of the 2.x taker: a KCL 3.x leader's assignments (kcl3/). */
export interface LeaseSource {
  discover(isHeld: (leaseKey: string) => boolean, shouldContinue: () => boolean): Promise<TakenLease[]>;
}

export interface LeaseCoordinatorConfig extends LeaseTakerConfig {
  readonly emit: (event: WorkerEvent) => void;
  readonly leaseRenewalIntervalMs: number;
  readonly leaseTakerIntervalMs: number;
}

/**
 * Keeps this worker's share of the leases by composing the renewer and the taker on their timers
 * (the KCL's DynamoDBLeaseCoordinator), and reports each taken and lost lease.
 */
export class LeaseCoordinator {
  private readonly renewer: LeaseRenewer;
  private readonly taker: LeaseTaker;
  private takeTimer: NodeJS.Timeout | undefined;
  private taking: Promise<void> | undefined;
  private stopped = false;
  private source: LeaseSource | undefined;

  constructor(
    table: LeaseTable,
    private readonly config: LeaseCoordinatorConfig,
    private readonly logger: WorkerLogger,
    /** Starts the lease's consumer; resolves once its start position is fixed (a LATEST lease's first iterator). Never rejects. */
    private readonly onLeaseTaken: (lease: HeldLease) => Promise<void> | void,
    clock: MonotonicClock = monotonicNow,
  ) {
    this.renewer = new LeaseRenewer(config.leaseRenewalIntervalMs, config.failoverTimeMs, logger);
    this.taker = new LeaseTaker(table, config, logger, clock);
  }

  /** Resolves after the first taker pass, so the leases available at start are held (and their start positions fixed) by then. */
  start(): Promise<void> {
    this.stopped = false;
    this.renewer.start();
    this.takeTimer = setInterval(() => void this.runTaker(), this.config.leaseTakerIntervalMs);
    return this.runTaker();
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
    this.renewer.stop();
  }

  /** KCL 3.x mode: hold what `source` finds instead of taking by the 2.x rules; undefined switches back. Held leases stay held. */
  useLeaseSource(source: LeaseSource | undefined): void {
    this.source = source;
  }

  heldLeases(): HeldLease[] {
    return this.renewer.heldLeases();
  }

  /** The lease table as this worker last scanned it. */
  latestScan(): readonly Lease[] {
    return this.taker.latestScan();
  }

  /** Runs one taker pass now (also on the timer); concurrent calls share the pass in flight. */
  runTaker(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.taking ??= this.takeAndStart()
      .catch((error) => this.logger.warn(`Lease taker failed, will retry: ${describeError(error)}`))
      .finally(() => (this.taking = undefined));
    return this.taking;
  }

  private async takeAndStart(): Promise<void> {
    const isHeld = (key: string) => this.renewer.has(key);
    const source = this.source;
    const taken = source
      ? await source.discover(isHeld, () => !this.stopped && this.source === source)
      : await this.taker.takeLeases(isHeld, () => !this.stopped);
    // The pass (and so start()) ends once every lease taken is renewed and its start fixed; leaseTaken is
    // reported then, so that a record put after the event (or after start()) is one the worker delivers.
    await Promise.all(
      taken.map(async ({ held, how, previousOwner, target }) => {
        this.logger.log(
          `Lease ${held.leaseKey} taken (${how}${previousOwner ? ` from ${previousOwner}` : ''}; ${how === 'assigned' ? `${target} assigned to` : `target ${target} leases for`} this worker).`,
          { shard: shardIdOf(held.lease) },
        );
        this.renewer.add(held);
        await this.onLeaseTaken(held);
        this.config.emit({ type: 'leaseTaken', shardId: held.leaseKey, how, previousOwner });
        held.onLost((reason) => reason !== RELEASED && this.config.emit({ type: 'leaseLost', shardId: held.leaseKey, reason }));
      }),
    );
  }
}
