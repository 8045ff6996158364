import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ExtendedSequenceNumber } from '../core/record';
import type { LeaseStatus } from '../core/worker';
import { multiStreamLeaseKey, parseStreamIdentifier } from './stream-identifier';

/** A row of the KCL 2.x lease table, as this engine understands it. */
export interface Lease {
  /** The shard id; in multi-stream mode `<streamIdentifier>:<shardId>`. */
  readonly leaseKey: string;
  /**
   * Multi-stream mode only: the stream identifier `<account>:<streamName>:<creationEpoch>`, stored in the
   * attribute the Java KCL names `streamName` (for legacy reasons, says its serializer).
   */
  readonly streamIdentifier?: string;
  /** Multi-stream mode only: the shard id alone (attribute `shardId`). */
  readonly shardId?: string;
  readonly leaseOwner?: string;
  /**
   * KCL 3.x only, present during a graceful hand-over: the previous owner, which still processes the
   * shard (and may checkpoint) until it removes this attribute; `leaseOwner` is then the next owner.
   */
  readonly checkpointOwner?: string;
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
const num = (item: Item, name: string) => (item[name]?.N === undefined ? undefined : Number(item[name].N));
const set = (item: Item, name: string) => item[name]?.SS ?? [];

/** Why a row of the lease table is not a lease this engine can use, or undefined when it is one. */
export function rowProblem(item: Item): string | undefined {
  const entityType = item.entityType;
  // KCL 3.5+ keeps other entities (LEADER, WORKER_METRIC_STATS, ...) in the same table.
  if (entityType !== undefined && entityType.S !== 'LEASE') return `entityType ${describeValue(entityType)} is not a lease (a KCL 3.x row)`;
  if (item.leaseKey?.S === undefined) return 'leaseKey is not a string';
  const counter = item.leaseCounter?.N;
  if (counter === undefined)
    return item.leaseCounter === undefined
      ? 'leaseCounter is missing'
      : `leaseCounter is ${describeValue(item.leaseCounter)}, not a number`;
  if (!/^\d+$/.test(counter)) return `leaseCounter ${counter} is not a non-negative integer`;
  for (const name of ['leaseOwner', 'checkpoint', 'pendingCheckpoint', 'startingHashKey', 'endingHashKey', 'streamName', 'shardId']) {
    if (item[name] !== undefined && item[name].S === undefined) return `${name} is ${describeValue(item[name])}, not a string`;
  }
  for (const name of ['ownerSwitchesSinceCheckpoint', 'checkpointSubSequenceNumber', 'pendingCheckpointSubSequenceNumber']) {
    if (item[name] !== undefined && item[name].N === undefined) return `${name} is ${describeValue(item[name])}, not a number`;
  }
  for (const name of ['parentShardId', 'childShardIds']) {
    if (item[name] !== undefined && item[name].SS === undefined) return `${name} is ${describeValue(item[name])}, not a string set`;
  }
  return multiStreamProblem(item);
}

/** A multi-stream row names its stream and shard in their own attributes, and its key is made of them. */
function multiStreamProblem(item: Item): string | undefined {
  const streamIdentifier = str(item, 'streamName');
  const shardId = str(item, 'shardId');
  if (streamIdentifier === undefined && shardId === undefined) return undefined;
  if (streamIdentifier === undefined || shardId === undefined)
    return `a multi-stream lease needs both streamName and shardId, found only ${streamIdentifier === undefined ? 'shardId' : 'streamName'}`;
  if (parseStreamIdentifier(streamIdentifier) === undefined)
    return `streamName ${JSON.stringify(streamIdentifier)} is not a stream identifier account:streamName:creationEpoch`;
  const expected = multiStreamLeaseKey(streamIdentifier, shardId);
  if (str(item, 'leaseKey') !== expected) return `leaseKey is not ${JSON.stringify(expected)}, the key its streamName and shardId make`;
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
  const streamIdentifier = str(item, 'streamName');
  const checkpointOwner = str(item, 'checkpointOwner');
  return {
    leaseKey: str(item, 'leaseKey')!,
    ...(streamIdentifier === undefined ? {} : { streamIdentifier, shardId: str(item, 'shardId')! }),
    leaseOwner: str(item, 'leaseOwner'),
    ...(checkpointOwner === undefined ? {} : { checkpointOwner }),
    leaseCounter: num(item, 'leaseCounter')!,
    ownerSwitchesSinceCheckpoint: num(item, 'ownerSwitchesSinceCheckpoint') ?? 0,
    checkpoint: {
      sequenceNumber: str(item, 'checkpoint') ?? 'TRIM_HORIZON',
      subSequenceNumber: num(item, 'checkpointSubSequenceNumber') ?? 0,
    },
    pendingCheckpoint:
      pending === undefined
        ? undefined
        : { sequenceNumber: pending, subSequenceNumber: num(item, 'pendingCheckpointSubSequenceNumber') ?? 0 },
    parentShardIds: set(item, 'parentShardId'),
    childShardIds: set(item, 'childShardIds'),
    hashKeyRange: startingHashKey !== undefined && endingHashKey !== undefined ? { startingHashKey, endingHashKey } : undefined,
  };
}

/** The item for a new, unowned lease, in the exact attribute names and types of the Java KCL 2.x. */
export function newLeaseItem(
  lease: Pick<Lease, 'leaseKey' | 'streamIdentifier' | 'shardId' | 'checkpoint' | 'parentShardIds' | 'hashKeyRange'>,
): Item {
  const item: Item = {
    leaseKey: { S: lease.leaseKey },
    leaseCounter: { N: '0' },
    ownerSwitchesSinceCheckpoint: { N: '0' },
    checkpoint: { S: lease.checkpoint.sequenceNumber },
    checkpointSubSequenceNumber: { N: String(lease.checkpoint.subSequenceNumber) },
  };
  // The Java KCL's DynamoDBMultiStreamLeaseSerializer adds these two to every multi-stream row.
  if (lease.streamIdentifier !== undefined) {
    item.streamName = { S: lease.streamIdentifier };
    item.shardId = { S: lease.shardId! };
  }
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

/** The shard of a lease, in either format (parentShardIds and childShardIds hold plain shard ids in both). */
export function shardIdOf(lease: Pick<Lease, 'leaseKey' | 'shardId'>): string {
  return lease.shardId ?? lease.leaseKey;
}

/** A lease as `describe()` shows it to operators, the same for both engines. */
export function toLeaseStatus(lease: Lease): LeaseStatus {
  const stream = lease.streamIdentifier === undefined ? undefined : parseStreamIdentifier(lease.streamIdentifier);
  return {
    shardId: shardIdOf(lease),
    ...(stream ? { streamName: stream.streamName } : {}),
    leaseOwner: lease.leaseOwner,
    leaseCounter: lease.leaseCounter,
    checkpoint: lease.checkpoint,
    parentShardIds: lease.parentShardIds,
  };
}
