import { describeError } from '../../../core/aws-errors';
import { LeaseLostError } from '../../../core/errors';
import type { WorkerLogger } from '../../../core/logger';
import { shardIdOf } from '../../../leases/lease';
import type { HeldLease } from './held-lease';

/**
 * Renews the leases this worker holds, every leaseRenewalIntervalMs (the KCL's DynamoDBLeaseRenewer).
 * Each lease renews on its own: a renewal stuck on one slow connection never delays another lease's,
 * and a lease whose renewal is still in flight is not renewed again on top of it.
 */
export class LeaseRenewer {
  private readonly held = new Map<string, HeldLease>();
  private readonly inFlight = new Set<HeldLease>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly failoverTimeMs: number,
    private readonly logger: WorkerLogger,
  ) {}

  start(): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => this.renewAll(), this.intervalMs);
  }

  /** Leases not released by then expire after failoverTimeMs. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  add(held: HeldLease): void {
    this.held.set(held.leaseKey, held);
    held.onLost(() => this.held.get(held.leaseKey) === held && this.held.delete(held.leaseKey));
  }

  /** The leases renewed right now, after dropping those not renewed within failoverTimeMs. */
  heldLeases(): HeldLease[] {
    this.dropExpired();
    return [...this.held.values()];
  }

  has(leaseKey: string): boolean {
    return this.held.get(leaseKey)?.isHeld() ?? false;
  }

  /** One renewal round; each lease's renewal runs independently, none is awaited by another. */
  renewAll(): void {
    for (const held of this.heldLeases()) {
      if (this.inFlight.has(held)) continue;
      this.inFlight.add(held);
      void this.renewOne(held).finally(() => this.inFlight.delete(held));
    }
  }

  private async renewOne(held: HeldLease): Promise<void> {
    try {
      await held.renew();
    } catch (error) {
      // The renewer serves every stream of the worker: the line names the shard (its stream is in the lease key).
      const fields = { shard: shardIdOf(held.lease) };
      if (error instanceof LeaseLostError) {
        this.logger.warn(`Lease ${held.leaseKey} lost: ${error.message}`, fields);
      } else if (!held.isHeld()) {
        held.markLost(`not renewed for failoverTimeMs (${this.failoverTimeMs} ms): ${describeError(error)}`);
        this.logger.warn(`Lease ${held.leaseKey} expired locally; last renewal error: ${describeError(error)}`, fields);
      } else {
        this.logger.warn(`Renewal of ${held.leaseKey} failed, will retry: ${describeError(error)}`, fields);
      }
    }
  }

  private dropExpired(): void {
    for (const held of [...this.held.values()]) {
      if (!held.isHeld()) held.markLost(`not renewed for failoverTimeMs (${this.failoverTimeMs} ms)`);
    }
  }
}
