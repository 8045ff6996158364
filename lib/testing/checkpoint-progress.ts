import type { ExtendedSequenceNumber } from '../core/record';
import { isSequenceNumber } from '../core/sequence-number';
import type { WorkerStatus } from '../core/worker';

/** A record a test put, where Kinesis placed it. */
export interface PutRecordRef {
  readonly stream: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
}

/** How far one shard's checkpoint is behind the records put to it. */
export interface ShardProgress {
  readonly stream: string;
  readonly shardId: string;
  /** The furthest checkpoint the workers report; undefined when no worker shows a lease for the shard yet. */
  readonly checkpoint: string | undefined;
  /** The records put to the shard and not yet covered by the checkpoint, oldest first. */
  readonly pending: readonly PutRecordRef[];
}

/** A shard that ended, as the workers' shardEnded events said (its lease may be deleted since). */
export const shardKey = (stream: string, shardId: string) => `${stream}/${shardId}`;

/**
 * Per shard that records were put to: the checkpoint the workers report (SHARD_END for a shard that
 * ended) against the records put. A shard is done when nothing is pending.
 */
export function checkpointProgress(
  puts: readonly PutRecordRef[],
  statuses: readonly WorkerStatus[],
  endedShards: ReadonlySet<string>,
): ShardProgress[] {
  const byShard = new Map<string, PutRecordRef[]>();
  for (const put of puts) {
    const key = shardKey(put.stream, put.shardId);
    byShard.set(key, [...(byShard.get(key) ?? []), put]);
  }
  return [...byShard.values()].map((records) => {
    const { stream, shardId } = records[0];
    const checkpoint = endedShards.has(shardKey(stream, shardId)) ? 'SHARD_END' : furthestCheckpoint(statuses, stream, shardId);
    return { stream, shardId, checkpoint, pending: records.filter((record) => !covers(checkpoint, record.sequenceNumber)) };
  });
}

function covers(checkpoint: string | undefined, sequenceNumber: string): boolean {
  if (checkpoint === 'SHARD_END') return true;
  return checkpoint !== undefined && isSequenceNumber(checkpoint) && BigInt(checkpoint) >= BigInt(sequenceNumber);
}

/** The checkpoint of the shard in the workers' leases and shard states: SHARD_END, else the highest sequence number, else a sentinel. */
function furthestCheckpoint(statuses: readonly WorkerStatus[], stream: string, shardId: string): string | undefined {
  const positions: ExtendedSequenceNumber[] = [];
  for (const status of statuses) {
    const ofStream = (entry: { streamName?: string }) =>
      entry.streamName === undefined ? status.streamName.split(',').includes(stream) : entry.streamName === stream;
    for (const entry of [...status.leases, ...status.shards]) {
      if (entry.shardId === shardId && ofStream(entry)) positions.push(entry.checkpoint);
    }
  }
  if (positions.some((position) => position.sequenceNumber === 'SHARD_END')) return 'SHARD_END';
  const numbers = positions.map((p) => p.sequenceNumber).filter(isSequenceNumber);
  if (numbers.length > 0) return numbers.reduce((a, b) => (BigInt(a) >= BigInt(b) ? a : b));
  return positions[0]?.sequenceNumber;
}

/** One line per shard that is not done: where its checkpoint is, and which records it does not cover yet. */
export function describePending(progress: readonly ShardProgress[]): string[] {
  return progress
    .filter((shard) => shard.pending.length > 0)
    .map(({ stream, shardId, checkpoint, pending }) => {
      const at = checkpoint === undefined ? 'no lease seen yet' : `checkpoint at ${checkpoint}`;
      const shown = pending
        .slice(0, 3)
        .map((record) => `${record.sequenceNumber} (key '${record.partitionKey}')`)
        .join(', ');
      const more = pending.length > 3 ? ` and ${pending.length - 3} more` : '';
      const never =
        checkpoint !== undefined && !isSequenceNumber(checkpoint)
          ? ' No checkpoint was ever stored for this shard: does the processor call checkpointer.checkpoint() (or set autoCheckpoint)?'
          : '';
      return `${stream} ${shardId}: ${at}; ${pending.length} record(s) put and not checkpointed: ${shown}${more}.${never}`;
    });
}
