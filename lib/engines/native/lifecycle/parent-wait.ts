import { pause } from '../../../core/retry';
import { isFinished } from '../../../leases/lease';
import type { LeaseTable } from '../../../leases/lease-table';
import type { HeldLease } from '../leases/held-lease';
import { retryEngineStep, type EngineStepRetrying } from './engine-step';

export interface ParentWait {
  readonly held: HeldLease;
  readonly table: LeaseTable;
  readonly pollIntervalMs: number;
  readonly retrying: EngineStepRetrying;
  /** True when the consumer must stop waiting (lease lost, stop requested). */
  readonly stopped: () => boolean;
  /** The lease key of a parent shard (parentShardIds hold plain shard ids; multi-stream keys add the stream). Default: the shard id. */
  readonly leaseKeyOf?: (shardId: string) => string;
}

/**
 * A child shard starts only once every parent lease is at SHARD_END or gone, as in the KCL. Resolves
 * true when the parents are done, false when the consumer was stopped first. A lookup that keeps
 * failing is thrown: the consumer gives the lease up rather than hold it unprocessed.
 */
export async function waitForParents({
  held,
  table,
  pollIntervalMs,
  retrying,
  stopped,
  leaseKeyOf = (id) => id,
}: ParentWait): Promise<boolean> {
  const parents = held.lease.parentShardIds;
  if (parents.length === 0) return true;
  for (;;) {
    if (stopped()) return false;
    const pending: string[] = [];
    for (const parent of parents) {
      const lease = await retryEngineStep(`Reading the parent lease ${parent}`, () => table.getLease(leaseKeyOf(parent)), retrying);
      if (lease && !isFinished(lease)) pending.push(parent);
    }
    if (pending.length === 0) return true;
    retrying.logger.debug?.(`Shard ${held.leaseKey} waits for its parents ${pending.join(', ')} to reach SHARD_END.`);
    if (!(await pause(pollIntervalMs, retrying.signal))) return false;
  }
}
