import type { ResolvedWorkerOptions } from '../../../core/options';
import type { ProcessorLifecycle } from '../../../core/processor';
import { callShutdownWithRetries } from '../../../core/processor-calls';
import { reportProcessorFailures } from '../../../core/processor-failure';
import type { Delivery } from '../../../core/processing-retry';
import { isFinished, shardIdOf } from '../../../leases/lease';
import type { LeaseIdentity } from '../../../leases/stream-lease-scope';
import type { LeaseTable } from '../../../leases/lease-table';
import type { ChildShard } from '../../../leases/shard-lister';
import type { ShardCheckpointer } from '../checkpoint/shard-checkpointer';
import type { HeldLease } from '../leases/held-lease';
import { retryEngineStep, type EngineStepRetrying } from './engine-step';

export interface ShardEnd {
  readonly held: HeldLease;
  readonly table: LeaseTable;
  readonly options: ResolvedWorkerOptions;
  readonly processor: ProcessorLifecycle;
  readonly checkpointer: ShardCheckpointer;
  /** The children GetRecords named at the end of the shard; looked up when it named none. */
  readonly namedChildren: readonly ChildShard[] | undefined;
  readonly findChildShards: (shardId: string) => Promise<ChildShard[]>;
  readonly retrying: EngineStepRetrying;
  /** True when the consumer must stop (lease lost, stop requested): TERMINATE is then not retried. */
  readonly abandoned: () => boolean;
  /** The key (and multi-stream attributes) of a child shard's lease. Default: the shard id as the key. */
  readonly leaseIdentity?: (shardId: string) => LeaseIdentity;
}

export type ShardEndOutcome =
  | { readonly finished: true; readonly children: readonly ChildShard[] }
  | { readonly finished: false; readonly shutdown: Exclude<Delivery, 'delivered'> };

/**
 * Finishes a shard in the order of the Java KCL's ShutdownTask, so that a crash between two steps
 * leaves a state the next owner or the cleanup can continue from:
 * 1. the children's leases (at TRIM_HORIZON, with their parents), so they exist before anyone waits on them;
 * 2. childShardIds on this lease, BEFORE SHARD_END: a finished lease without them would never be
 *    recognised by the shard-sync cleanup;
 * 3. the processor's shutdown(TERMINATE), retried under processingRetry until it returns normally;
 * 4. SHARD_END, written by the engine only when the processor returned without writing it itself.
 * A failed or abandoned TERMINATE never leads to SHARD_END: the lease goes to a next owner, which
 * reads the shard's tail again and calls TERMINATE again.
 * Failing AWS calls are retried (transient errors) and otherwise thrown to the consumer.
 */
export async function finishShard(end: ShardEnd): Promise<ShardEndOutcome> {
  const { held, table, processor, checkpointer, retrying } = end;
  const shardId = shardIdOf(held.lease);
  const leaseIdentity = end.leaseIdentity ?? ((id: string): LeaseIdentity => ({ leaseKey: id }));
  const children =
    end.namedChildren && end.namedChildren.length > 0
      ? end.namedChildren
      : await retryEngineStep('Listing the child shards', () => end.findChildShards(shardId), retrying);
  for (const child of children) {
    await retryEngineStep(
      `Creating the lease of child shard ${child.shardId}`,
      () =>
        table.createLeaseIfNotExists({
          ...leaseIdentity(child.shardId),
          checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
          parentShardIds: child.parentShardIds,
          hashKeyRange: child.hashKeyRange,
        }),
      retrying,
    );
  }
  await recordChildShards(
    held,
    table,
    children.map((child) => child.shardId),
    retrying,
  );

  checkpointer.markShardEnded();
  const shutdown = await callShutdownWithRetries(
    processor,
    { shardId, reason: 'TERMINATE', checkpointer },
    {
      where: retrying.where,
      policy: end.options.processingRetry,
      logger: retrying.logger,
      signal: retrying.signal,
      abandoned: end.abandoned,
      onFailure: reportProcessorFailures(end.options.emit, shardId, 'shutdown', `shutdown(TERMINATE) of the processor for ${shardId}`),
    },
  );
  if (shutdown !== 'delivered') return { finished: false, shutdown };
  if (!isFinished(held.lease)) await checkpointer.writeShardEnd();
  return { finished: true, children };
}

async function recordChildShards(
  held: HeldLease,
  table: LeaseTable,
  childShardIds: readonly string[],
  retrying: EngineStepRetrying,
): Promise<void> {
  const recorded = (ids: readonly string[]) => childShardIds.every((id) => ids.includes(id));
  if (childShardIds.length === 0 || recorded(held.lease.childShardIds)) return;
  await retryEngineStep(
    'Recording childShardIds',
    () =>
      held.update(
        (lease) => table.updateChildShards(lease, childShardIds),
        'child shards',
        (fresh) => recorded(fresh.childShardIds),
      ),
    retrying,
  );
}
