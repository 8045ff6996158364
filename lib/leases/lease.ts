import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ExtendedSequenceNumber } from '../core/record';
import type { LeaseStatus } from '../core/worker';

/** A row of the KCL 2.x lease table, as this engine understands it. */
export interface Lease {
  readonly leaseKey: string;
  readonly leaseOwner?: string;
  readonly leaseCounter: number;
  readonly ownerSwitchesSinceCheckpoint: number;
  readonly checkpoint: ExtendedSequenceNumber;
  readonly pendingCheckpoint?: ExtendedSequenceNumber;
  readonly parentShardIds: readonly string[];
  readonly childShardIds: readonly string[];
  readonly hashKeyRange?: { readonly startingHashKey: string; readonly endingHashKey: string };
}

type Item = Record<string, AttributeValue>;

const str = (item: Item, name: string) => item[name]?.S;
const num = (item: Item, name: string) => (item[name]?.N === undefined ? undefined : Number(item[name]!.N));
const set = (item: Item, name: string) => item[name]?.SS ?? [];

/** Rows written by KCL 3.5+ that are not leases carry an entityType other than LEASE. */
export function isLeaseItem(item: Item): boolean {
  const entityType = str(item, 'entityType');
  return entityType === undefined || entityType === 'LEASE';
}

export function leaseFromItem(item: Item): Lease {
  const pending = str(item, 'pendingCheckpoint');
  const startingHashKey = str(item, 'startingHashKey');
  const endingHashKey = str(item, 'endingHashKey');
  return {
    leaseKey: str(item, 'leaseKey')!,
    leaseOwner: str(item, 'leaseOwner'),
    leaseCounter: num(item, 'leaseCounter') ?? 0,
    ownerSwitchesSinceCheckpoint: num(item, 'ownerSwitchesSinceCheckpoint') ?? 0,
    checkpoint: {
      sequenceNumber: str(item, 'checkpoint') ?? 'TRIM_HORIZON',
      subSequenceNumber: num(item, 'checkpointSubSequenceNumber') ?? 0,
    },
    pendingCheckpoint:
      pending === undefined ? undefined : { sequenceNumber: pending, subSequenceNumber: num(item, 'pendingCheckpointSubSequenceNumber') ?? 0 },
    parentShardIds: set(item, 'parentShardId'),
    childShardIds: set(item, 'childShardIds'),
    hashKeyRange: startingHashKey !== undefined && endingHashKey !== undefined ? { startingHashKey, endingHashKey } : undefined,
  };
}

/** The item for a new, unowned lease, in the exact attribute names and types of the Java KCL 2.x. */
export function newLeaseItem(lease: Pick<Lease, 'leaseKey' | 'checkpoint' | 'parentShardIds' | 'hashKeyRange'>): Item {
  const item: Item = {
    leaseKey: { S: lease.leaseKey },
    leaseCounter: { N: '0' },
    ownerSwitchesSinceCheckpoint: { N: '0' },
    checkpoint: { S: lease.checkpoint.sequenceNumber },
    checkpointSubSequenceNumber: { N: String(lease.checkpoint.subSequenceNumber) },
  };
  // DynamoDB rejects empty sets: an absent attribute means "no parents".
  if (lease.parentShardIds.length > 0) item.parentShardId = { SS: [...lease.parentShardIds] };
  if (lease.hashKeyRange) {
    item.startingHashKey = { S: lease.hashKeyRange.startingHashKey };
    item.endingHashKey = { S: lease.hashKeyRange.endingHashKey };
  }
  return item;
}

export function isFinished(lease: Lease): boolean {
  return lease.checkpoint.sequenceNumber === 'SHARD_END';
}

/** A lease as `describe()` shows it to operators, the same for both engines. */
export function toLeaseStatus(lease: Lease): LeaseStatus {
  return {
    shardId: lease.leaseKey,
    leaseOwner: lease.leaseOwner,
    leaseCounter: lease.leaseCounter,
    checkpoint: lease.checkpoint,
    parentShardIds: lease.parentShardIds,
  };
}
