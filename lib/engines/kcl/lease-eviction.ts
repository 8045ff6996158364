import { describeError } from '../../core/aws-errors';
import type { WorkerLogger } from '../../core/logger';
import type { WorkerEvent } from '../../core/worker';
import type { Lease } from '../../leases/lease';
import type { LeaseTable } from '../../leases/lease-table';
import { SHARD_END } from '../../core/checkpoint-target';

/**
 * The Java KCL 2.x leaves its leases owned when it stops or dies: others would wait failoverTimeMillis
 * before taking them. This evicts what the worker's id still owns (condition: still ours), so that
 * other workers and restarts take the shards at once. A failure is logged: the lease expires instead.
 */
export class LeaseEviction {
  constructor(
    private readonly table: LeaseTable,
    private readonly workerId: string,
    private readonly logger: WorkerLogger,
    private readonly emit: (event: WorkerEvent) => void,
  ) {}

  /** Evicts every lease this worker still owns; returns the table as listed, or undefined when it could not be read. */
  async releaseOwnLeases(why: 'REQUESTED' | 'the daemon exited'): Promise<readonly Lease[] | undefined> {
    let leases: Lease[];
    try {
      leases = await this.table.listLeases();
    } catch (error) {
      this.logger.warn(`Could not list the leases to release them; they will expire instead: ${describeError(error)}`);
      return undefined;
    }
    for (const lease of leases.filter((l) => l.leaseOwner === this.workerId)) {
      try {
        if (!(await this.table.evictLease(lease))) continue;
        this.logger.log(`Lease ${lease.leaseKey} released (${why}).`);
        // A finished shard's release was reported when it ended (SHARD_END).
        if (why === 'REQUESTED' && lease.checkpoint.sequenceNumber !== SHARD_END.sequenceNumber) {
          this.emit({ type: 'leaseReleased', shardId: lease.leaseKey, reason: 'REQUESTED' });
        }
      } catch (error) {
        this.logger.warn(`Releasing ${lease.leaseKey} failed; it will expire instead: ${describeError(error)}`);
      }
    }
    return leases;
  }

  /** Evicts this worker's lease on one shard, if it still owns it. */
  async evictOwnLease(shardId: string): Promise<boolean> {
    const lease = await this.table.getLease(shardId);
    return lease?.leaseOwner === this.workerId ? this.table.evictLease(lease) : false;
  }
}
