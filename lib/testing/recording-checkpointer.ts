import { checkpointTarget, SHARD_END, type CheckpointArgs } from '../core/checkpoint-target';
import type { Checkpointer } from '../core/processor';
import type { ExtendedSequenceNumber, KinesisRecord } from '../core/record';
import { positionOf } from '../core/sequence-number';

/**
 * A Checkpointer for unit tests that call a processor's methods directly: it records every checkpoint
 * and applies the engines' own rules (lib/core/checkpoint-target.ts): no argument means the last record
 * delivered, a position past it or before the stored checkpoint is an InvalidCheckpointError.
 *
 * ```ts
 * const checkpointer = new RecordingCheckpointer();
 * await processor.processRecords({ shardId: 's', records: checkpointer.deliver(records), checkpointer });
 * expect(checkpointer.last?.sequenceNumber).toBe(records.at(-1)!.sequenceNumber);
 * ```
 */
export class RecordingCheckpointer implements Checkpointer {
  private largestDelivered: ExtendedSequenceNumber | undefined;
  private stored: ExtendedSequenceNumber;
  private ended = false;
  private readonly history: ExtendedSequenceNumber[] = [];
  private failures: Error[] = [];

  constructor(
    readonly shardId = 'shardId-000000000000',
    /** The stored checkpoint before the test, e.g. a sequence number for a processor that resumes. */
    initial: ExtendedSequenceNumber = { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
  ) {
    this.stored = initial;
  }

  /** Marks these records as delivered (as the engine does before processRecords) and returns them. */
  deliver<T extends readonly KinesisRecord[]>(records: T): T {
    const last = records.at(-1);
    if (last) this.largestDelivered = positionOf(last);
    return records;
  }

  /** The shard ended (as before shutdown TERMINATE): checkpoint() then stores SHARD_END. */
  endShard(): this {
    this.ended = true;
    return this;
  }

  /** The next checkpoint() rejects with this error (say a LeaseLostError), once. */
  failNext(error: Error): this {
    this.failures.push(error);
    return this;
  }

  checkpoint(): Promise<void>;
  checkpoint(record: Pick<KinesisRecord, 'sequenceNumber' | 'subSequenceNumber'>): Promise<void>;
  checkpoint(sequenceNumber: string, subSequenceNumber?: number): Promise<void>;
  checkpoint(...args: unknown[]): Promise<void> {
    try {
      const failure = this.failures.shift();
      if (failure) throw failure;
      const target = checkpointTarget(args as CheckpointArgs, {
        shardId: this.shardId,
        largestDelivered: this.largestDelivered,
        shardEnded: this.ended,
        stored: this.stored,
      });
      this.stored = target;
      this.history.push(target);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Every checkpoint stored, oldest first. */
  get checkpoints(): readonly ExtendedSequenceNumber[] {
    return this.history;
  }

  /** The last checkpoint stored, or undefined when the processor never checkpointed. */
  get last(): ExtendedSequenceNumber | undefined {
    return this.history.at(-1);
  }

  /** Whether SHARD_END was stored (shutdown TERMINATE checkpointed). */
  get finished(): boolean {
    return this.stored.sequenceNumber === SHARD_END.sequenceNumber;
  }
}
