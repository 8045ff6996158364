import { InvalidCheckpointError } from './errors';
import type { ExtendedSequenceNumber, KinesisRecord } from './record';
import { compareExtended, isSequenceNumber, positionOf } from './sequence-number';

export type CheckpointArgs = [] | [Pick<KinesisRecord, 'sequenceNumber' | 'subSequenceNumber'>] | [string, number?];

export const SHARD_END: ExtendedSequenceNumber = { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 };

export interface CheckpointState {
  readonly shardId: string;
  /** The last record handed to the processor; undefined before the first batch. */
  readonly largestDelivered: ExtendedSequenceNumber | undefined;
  readonly shardEnded: boolean;
  /** The position stored in the lease table. */
  readonly stored: ExtendedSequenceNumber;
}

/**
 * What a checkpoint() call means, the same for both engines: no argument is the last record delivered
 * (SHARD_END once the shard ended); a position must lie between the stored checkpoint and the last
 * record delivered. Anything else is an InvalidCheckpointError naming the reason.
 */
export function checkpointTarget(args: CheckpointArgs, state: CheckpointState): ExtendedSequenceNumber {
  const { shardId, largestDelivered, shardEnded, stored } = state;
  if (args.length === 0 || args[0] === undefined) {
    if (shardEnded) return SHARD_END;
    if (!largestDelivered)
      throw new InvalidCheckpointError(shardId, '(last delivered)', 'no record has been delivered to this processor yet.');
    return largestDelivered;
  }
  const [first, second] = args;
  const position = typeof first === 'string' ? { sequenceNumber: first, subSequenceNumber: second ?? 0 } : positionOf(first);
  if (position.sequenceNumber === 'SHARD_END') {
    if (!shardEnded) throw new InvalidCheckpointError(shardId, 'SHARD_END', 'the shard has not ended.');
    return SHARD_END;
  }
  if (!isSequenceNumber(position.sequenceNumber) || !Number.isInteger(position.subSequenceNumber) || position.subSequenceNumber < 0) {
    throw new InvalidCheckpointError(shardId, String(position.sequenceNumber), 'not a Kinesis sequence number (a decimal string).');
  }
  if (!largestDelivered || compareExtended(position, largestDelivered) > 0) {
    throw new InvalidCheckpointError(
      shardId,
      position.sequenceNumber,
      `it was never delivered to this processor (last delivered: ${largestDelivered?.sequenceNumber ?? 'none'}).`,
    );
  }
  if (isSequenceNumber(stored.sequenceNumber) && compareExtended(position, stored) < 0) {
    throw new InvalidCheckpointError(shardId, position.sequenceNumber, `it is before the current checkpoint ${stored.sequenceNumber}.`);
  }
  return position;
}

/**
 * What a checkpointer may accept, kept the same way by both engines: the last record delivered (rolled
 * back when a batch fails, so that a later checkpoint() never covers it) and whether the shard ended.
 */
export class CheckpointBounds {
  private largestDelivered: ExtendedSequenceNumber | undefined;
  private shardEnded = false;

  constructor(private readonly shardId: string) {}

  /** The last record handed to the processor in a batch that has not failed. */
  get delivered(): ExtendedSequenceNumber | undefined {
    return this.largestDelivered;
  }

  markDelivered(position: ExtendedSequenceNumber): void {
    this.largestDelivered = position;
  }

  /** A batch that did not succeed: the largest position a checkpoint may name goes back. */
  rollBackDelivered(position: ExtendedSequenceNumber | undefined): void {
    this.largestDelivered = position;
  }

  /** From now on checkpoint() with no argument means SHARD_END. */
  markShardEnded(): void {
    this.shardEnded = true;
  }

  target(args: CheckpointArgs, stored: ExtendedSequenceNumber): ExtendedSequenceNumber {
    return checkpointTarget(args, { shardId: this.shardId, largestDelivered: this.largestDelivered, shardEnded: this.shardEnded, stored });
  }
}
