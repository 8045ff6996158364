import type { Lease } from './lease';
import {
  multiStreamLeaseKey,
  parseStreamIdentifier,
  serializeStreamIdentifier,
  streamIdentifierOf,
  type StreamIdentifier,
} from './stream-identifier';

/** What a lease row of a stream carries to say whose it is: its key, and in multi-stream mode the two extra attributes. */
export type LeaseIdentity = Pick<Lease, 'leaseKey' | 'streamIdentifier' | 'shardId'>;

/**
 * The leases of one stream within a lease table. In the single-stream format (the default, one stream
 * per table) a lease key is the shard id; in the multi-stream format it is `<streamIdentifier>:<shardId>`
 * and the row names its stream. Parent and child shard ids are plain shard ids in both formats, as the
 * Java KCL writes them: this scope turns them into keys.
 */
export interface StreamLeaseScope {
  readonly streamName: string;
  /** Set in the multi-stream format: the serialized StreamIdentifier. */
  readonly streamIdentifier?: string;
  /** The key, and the attributes that go with it, of this stream's lease for a shard. */
  readonly identity: (shardId: string) => LeaseIdentity;
  /** True when the lease belongs to this stream. */
  owns(lease: Pick<Lease, 'streamIdentifier'>): boolean;
  /** The shard id a lease key of this stream stands for; undefined for another stream's key. */
  shardIdOfKey(leaseKey: string): string | undefined;
}

export function singleStreamScope(streamName: string): StreamLeaseScope {
  return {
    streamName,
    identity: (shardId) => ({ leaseKey: shardId }),
    owns: (lease) => lease.streamIdentifier === undefined,
    shardIdOfKey: (leaseKey) => leaseKey,
  };
}

export function multiStreamScope(id: StreamIdentifier): StreamLeaseScope {
  const streamIdentifier = serializeStreamIdentifier(id);
  return {
    streamName: id.streamName,
    streamIdentifier,
    identity: (shardId) => ({ leaseKey: multiStreamLeaseKey(streamIdentifier, shardId), streamIdentifier, shardId }),
    owns: (lease) => lease.streamIdentifier === streamIdentifier,
    shardIdOfKey: (leaseKey) => (leaseKey.startsWith(`${streamIdentifier}:`) ? leaseKey.slice(streamIdentifier.length + 1) : undefined),
  };
}

/**
 * The scope of a stream that was deleted and created again under its name, from what DescribeStreamSummary
 * says now: undefined while it is the stream `streamIdentifier` names (or the answer lacks what a key needs).
 * Only a later creation counts: an answer about the old stream can never replace the new one.
 */
export function recreatedScope(
  streamIdentifier: string,
  streamName: string,
  streamArn: string | undefined,
  created: Date | undefined,
): StreamLeaseScope | undefined {
  const known = parseStreamIdentifier(streamIdentifier);
  const now = streamIdentifierOf(streamName, streamArn, created);
  if (!known || !now || now.accountId !== known.accountId || now.creationEpochSeconds <= known.creationEpochSeconds) return undefined;
  return multiStreamScope(now);
}
