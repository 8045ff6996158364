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

/** Why a row of the lease table is not a lease this engine can use, or undefined when it is one. */
export function rowProblem(item: Item): string | undefined {
  const entityType = item.entityType;
  // KCL 3.5+ keeps other entities (LEADER, WORKER_METRIC_STATS, ...) in the same table.
  if (entityType !== undefined && entityType.S !== 'LEASE') return `entityType ${describeValue(entityType)} is not a lease (a KCL 3.x row)`;
  if (item.leaseKey?.S === undefined) return 'leaseKey is not a string';
  const counter = item.leaseCounter?.N;
  if (counter === undefined) return item.leaseCounter === undefined ? 'leaseCounter is missing' : `leaseCounter is ${describeValue(item.leaseCounter)}, not a number`;
  if (!/^\d+$/.test(counter)) return `leaseCounter ${counter} is not a non-negative integer`;
  for (const name of ['leaseOwner', 'checkpoint', 'pendingCheckpoint', 'startingHashKey', 'endingHashKey']) {
    if (item[name] !== undefined && item[name]!.S === undefined) return `${name} is ${describeValue(item[name]!)}, not a string`;
  }
  for (const name of ['ownerSwitchesSinceCheckpoint', 'checkpointSubSequenceNumber', 'pendingCheckpointSubSequenceNumber']) {
    if (item[name] !== undefined && item[name]!.N === undefined) return `${name} is ${describeValue(item[name]!)}, not a number`;
  }
  for (const name of ['parentShardId', 'childShardIds']) {
    if (item[name] !== undefined && item[name]!.SS === undefined) return `${name} is ${describeValue(item[name]!)}, not a string set`;
  }
  return undefined;
}

function describeValue(value: AttributeValue): string {
  const json = JSON.stringify(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

/** Reads a row that rowProblem() accepted. */
export function leaseFromItem(item: Item): Lease {
  const pending = str(item, 'pendingCheckpoint');
  const startingHashKey = str(item, 'startingHashKey');
  const endingHashKey = str(item, 'endingHashKey');
  return {
    leaseKey: str(item, 'leaseKey')!,
    leaseOwner: str(item, 'leaseOwner'),
    leaseCounter: num(item, 'leaseCounter')!,
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
