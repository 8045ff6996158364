import type { KinesisClient, Shard } from '@aws-sdk/client-kinesis';
import type { InitialPosition } from '../core/options';
import { initialCheckpointOf } from '../core/initial-position';
import type { WorkerLogger } from '../core/logger';
import { isFinished, shardIdOf, type Lease } from './lease';
import type { LeaseTable } from './lease-table';
import { listAllShards, parentsOf, toChildShard } from './shard-lister';
import { singleStreamScope, type StreamLeaseScope } from './stream-lease-scope';

export interface ShardSyncResult {
  readonly created: readonly string[];
  readonly cleanedUp: readonly string[];
}

const NOT_STARTED = new Set(['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP']);

/**
 * Creates the leases that are missing, as the KCL's shard syncer does:
 * - a shard whose parent has a lease is a child: it starts at TRIM_HORIZON after its parents;
 * - a shard with a leased descendant was finished and cleaned up already: it gets none again;
 * - any other open shard starts at the initial position; closed ones too under TRIM_HORIZON and
 *   AT_TIMESTAMP (a shard closed after the timestamp holds records to read; one closed before it just ends).
 * Then it deletes finished parents whose children have all started, when cleanup is on.
 * It looks at one stream's leases only (the scope): in a multi-stream table each stream is synced on its own.
 */
export class ShardSync {
  private readonly scope: StreamLeaseScope;

  /** @param stream a stream name (single-stream lease format) or the scope of one stream of the table. */
  constructor(
    private readonly kinesis: KinesisClient,
    private readonly table: LeaseTable,
    stream: string | StreamLeaseScope,
    private readonly initialPosition: InitialPosition,
    private readonly cleanup: boolean,
    private readonly logger: WorkerLogger,
  ) {
    this.scope = typeof stream === 'string' ? singleStreamScope(stream) : stream;
  }

  private get streamName(): string {
    return this.scope.streamName;
  }

  async run(leases?: readonly Lease[]): Promise<ShardSyncResult> {
    const shards = await listAllShards(this.kinesis, this.streamName);
    const current = (leases ?? (await this.table.listLeases())).filter((lease) => this.scope.owns(lease));
    // By shard id: shards, parents and children are named by plain shard ids in both formats.
    const leased = new Map(current.map((lease) => [shardIdOf(lease), lease]));
    const children = new Map<string, Shard[]>();
    for (const shard of shards) for (const parent of parentsOf(shard)) children.set(parent, [...(children.get(parent) ?? []), shard]);

    const hasLeasedDescendant = (shardId: string, seen = new Set<string>()): boolean =>
      (children.get(shardId) ?? []).some((child) => {
        if (seen.has(child.ShardId!)) return false;
        seen.add(child.ShardId!);
        return leased.has(child.ShardId!) || hasLeasedDescendant(child.ShardId!, seen);
      });

    const created: string[] = [];
    // Parents first, so that a child sees its parent's fresh lease in `leased`.
    for (const shard of orderParentsFirst(shards)) {
      const shardId = shard.ShardId!;
      if (leased.has(shardId) || hasLeasedDescendant(shardId)) continue;
      const leasedParents = parentsOf(shard).filter((parent) => leased.has(parent));
      const open = shard.SequenceNumberRange?.EndingSequenceNumber === undefined;
      let checkpoint: string;
      if (leasedParents.length > 0) checkpoint = 'TRIM_HORIZON';
      else if (open || initialCheckpointOf(this.initialPosition) !== 'LATEST') checkpoint = initialCheckpointOf(this.initialPosition);
      else continue;
      const lease = {
        ...toChildShard(shard),
        ...this.scope.identity(shardId),
        checkpoint: { sequenceNumber: checkpoint, subSequenceNumber: 0 },
        parentShardIds: leasedParents.length > 0 ? parentsOf(shard) : [],
      };
      if (await this.table.createLeaseIfNotExists(lease)) created.push(shardId);
      leased.set(shardId, {
        ...this.scope.identity(shardId),
        leaseCounter: 0,
        ownerSwitchesSinceCheckpoint: 0,
        checkpoint: lease.checkpoint,
        parentShardIds: lease.parentShardIds,
        childShardIds: [],
      });
    }
    if (created.length > 0) this.logger.log(`Shard sync on ${this.streamName} created leases for ${created.join(', ')}.`);
    const cleanedUp = this.cleanup ? await this.cleanUpFinishedParents([...leased.values()]) : [];
    return { created, cleanedUp };
  }

  private async cleanUpFinishedParents(leases: readonly Lease[]): Promise<string[]> {
    const byShardId = new Map(leases.map((lease) => [shardIdOf(lease), lease]));
    const cleaned: string[] = [];
    for (const lease of leases) {
      if (!isFinished(lease) || lease.childShardIds.length === 0) continue;
      const started = lease.childShardIds.every((child) => {
        const childLease = byShardId.get(child);
        return childLease !== undefined && !NOT_STARTED.has(childLease.checkpoint.sequenceNumber);
      });
      if (started && (await this.table.deleteFinishedLease(lease.leaseKey))) cleaned.push(shardIdOf(lease));
    }
    if (cleaned.length > 0)
      this.logger.log(`Removed the finished leases ${cleaned.join(', ')} of ${this.streamName}: their children have started.`);
    return cleaned;
  }
}

function orderParentsFirst(shards: readonly Shard[]): Shard[] {
  const byId = new Map(shards.map((shard) => [shard.ShardId!, shard]));
  const ordered: Shard[] = [];
  const visited = new Set<string>();
  const visit = (shard: Shard) => {
    if (visited.has(shard.ShardId!)) return;
    visited.add(shard.ShardId!);
    for (const parent of parentsOf(shard)) {
      const parentShard = byId.get(parent);
      if (parentShard) visit(parentShard);
    }
    ordered.push(shard);
  };
  shards.forEach(visit);
  return ordered;
}
