import type { WorkerLogger } from '../../../core/logger';
import { listLeaseKeysOwnedBy, readKcl3Lease, takeOverFromCheckpointOwner } from '../../../leases/kcl3-tables';
import type { LeaseTable } from '../../../leases/lease-table';
import { monotonicNow, type MonotonicClock } from '../leases/clock';
import type { TakenLease } from '../leases/lease-taker';
import { Kcl3HeldLease } from './kcl3-held-lease';

export interface AssignedLeaseFollowerConfig {
  readonly workerId: string;
  readonly failoverTimeMs: number;
  readonly gracefulLeaseHandoffTimeoutMs: number;
}

/**
 * Finds the leases a KCL 3.x leader assigned to this worker (the Java DynamoDBLeaseDiscoverer): the
 * lease-owner GSI lists the keys whose leaseOwner is this worker, each new one is read (strongly
 * consistent, since the GSI lags) and held as it is, without a write: the leader's assignment made it
 * ours, and the renewer proves it. It never takes or steals.
 *
 * A lease handed over gracefully (checkpointOwner = the previous owner) is not started while the
 * previous owner may still checkpoint, until the previous owner clears checkpointOwner or
 * gracefulLeaseHandoffTimeoutMs passes since this worker first saw the assignment.
 */
export class AssignedLeaseFollower {
  /** Per lease key: when (monotonic) this worker first saw it assigned while another worker was its checkpoint owner. */
  private readonly waitingSince = new Map<string, number>();

  constructor(
    private readonly table: LeaseTable,
    private readonly config: AssignedLeaseFollowerConfig,
    private readonly logger: WorkerLogger,
    private readonly clock: MonotonicClock = monotonicNow,
  ) {}

  /** One discovery pass; `isHeld` tells the leases this worker renews now, `shouldContinue` is asked before each. */
  async discover(isHeld: (leaseKey: string) => boolean, shouldContinue: () => boolean = () => true): Promise<TakenLease[]> {
    const { workerId } = this.config;
    // Each call is cut off after failoverTimeMs: a hung call must not hold the pass (the next pass retries).
    const bounded = () => AbortSignal.timeout(this.config.failoverTimeMs);
    const keys = (await listLeaseKeysOwnedBy(this.table.client, this.table.tableName, workerId, bounded())).filter((key) => !isHeld(key));
    const found: TakenLease[] = [];
    for (const key of keys) {
      if (!shouldContinue()) break;
      const readAt = this.clock();
      const row = await readKcl3Lease(this.table.client, this.table.tableName, key, bounded());
      if (!row || row.lease.leaseOwner !== workerId) continue;
      const previousOwner = row.checkpointOwner;
      let lease = row.lease;
      if (previousOwner !== undefined && previousOwner !== workerId) {
        if (this.stillWaiting(key, previousOwner, readAt)) continue;
        // Past the hand-over timeout: checkpointOwner goes, or the lease is left for the next pass (the row changed).
        const taken = await takeOverFromCheckpointOwner(this.table.client, this.table.tableName, lease, workerId, previousOwner, bounded());
        if (!taken) continue;
        lease = taken;
      }
      this.waitingSince.delete(key);
      found.push({
        // Held as of when it was read: nobody but this worker renews a lease the leader assigned to it.
        held: new Kcl3HeldLease(lease, this.table, workerId, this.config.failoverTimeMs, this.clock, readAt),
        how: 'assigned',
        previousOwner,
        target: keys.length,
      });
    }
    for (const key of [...this.waitingSince.keys()]) if (!keys.includes(key)) this.waitingSince.delete(key);
    return found;
  }

  private stillWaiting(key: string, previousOwner: string, now: number): boolean {
    const since = this.waitingSince.get(key);
    if (since === undefined) {
      this.waitingSince.set(key, now);
      this.logger.log(
        `Lease ${key} was handed over to this worker; waiting for ${previousOwner} to finish and clear checkpointOwner (at most ${this.config.gracefulLeaseHandoffTimeoutMs} ms).`,
      );
      return this.config.gracefulLeaseHandoffTimeoutMs > 0;
    }
    if (now - since < this.config.gracefulLeaseHandoffTimeoutMs) return true;
    this.logger.warn(
      `Lease ${key}: ${previousOwner} did not clear checkpointOwner within gracefulLeaseHandoffTimeoutMs (${this.config.gracefulLeaseHandoffTimeoutMs} ms); ` +
        `starting from the last checkpoint. Records it processed after that checkpoint will be delivered again.`,
    );
    return false;
  }
}
