import { describeError } from '../../../core/aws-errors';
import { CheckpointSchedule } from '../../../core/checkpoint-schedule';
import { LeaseLostError } from '../../../core/errors';
import type { ResolvedWorkerOptions } from '../../../core/options';
import type { ExtendedSequenceNumber, KinesisRecord } from '../../../core/record';
import type { ShardCheckpointer } from '../checkpoint/shard-checkpointer';
import { ProcessingTimeoutError, withProcessingTimeout } from './processing-timeout';

/**
 * What the engine does for the processor around its batches when the options ask for it: automatic
 * checkpoints (after successful batches only) and the dead-letter hook for a batch whose retries ran
 * out. Without those options it does nothing: the processor checkpoints, and nothing is ever skipped.
 */
export class BatchPolicies {
  private readonly schedule: CheckpointSchedule | undefined;

  constructor(
    private readonly options: ResolvedWorkerOptions,
    private readonly checkpointer: ShardCheckpointer,
    private readonly where: string,
  ) {
    this.schedule = options.autoCheckpoint && new CheckpointSchedule(options.autoCheckpoint);
  }

  /** After a successful batch: checkpoint it when the schedule says so. */
  async afterSuccess(records: number): Promise<void> {
    if (this.schedule?.afterBatch(records)) await this.autoCheckpoint();
  }

  /** Before shutdown(REQUESTED): what succeeded since the last automatic checkpoint is stored. */
  async beforeGracefulStop(): Promise<void> {
    if (this.schedule?.pending) await this.autoCheckpoint();
  }

  /**
   * A batch that failed every attempt (or overran processingTimeoutMs): handed to onFailedBatch, then
   * checkpointed past. False when there is no hook, it threw, or it did not return within
   * processingTimeoutMs: the caller gives the lease up and the batch comes again later, so a hung hook
   * neither stalls the shard under a renewed lease nor loses the batch.
   */
  async deadLetter(records: readonly KinesisRecord[], end: ExtendedSequenceNumber, error: unknown, attempts: number): Promise<boolean> {
    const { onFailedBatch, streamName, logger, processingTimeoutMs } = this.options;
    if (!onFailedBatch) return false;
    const range = `${records[0].sequenceNumber}..${end.sequenceNumber}`;
    try {
      await withProcessingTimeout(
        () => onFailedBatch({ streamName, shardId: this.checkpointer.shardId, records, error, attempts }),
        processingTimeoutMs,
        () => undefined,
      );
    } catch (hookError) {
      const what =
        hookError instanceof ProcessingTimeoutError
          ? `did not return within processingTimeoutMs (${processingTimeoutMs} ms)`
          : `threw: ${describeError(hookError)}`;
      logger.error(
        `onFailedBatch ${what}, for ${records.length} records ${range} on ${this.where}; giving the lease up without a checkpoint past them, so they are delivered again later.`,
      );
      return false;
    }
    try {
      await this.checkpointer.checkpointPastDeadLetter(end);
    } catch (checkpointError) {
      logger.error(
        `${records.length} records ${range} on ${this.where} went to onFailedBatch, but the checkpoint past them failed; they may be delivered again: ${describeError(checkpointError)}`,
      );
      return false;
    }
    this.schedule?.checkpointed();
    logger.warn(
      `${records.length} records ${range} on ${this.where} went to onFailedBatch after ${attempts} failed attempts; checkpointed past them.`,
    );
    return true;
  }

  private async autoCheckpoint(): Promise<void> {
    try {
      await this.checkpointer.checkpoint();
      this.schedule!.checkpointed();
    } catch (error) {
      // A lost lease ends the consumer at its next step; anything else is tried again at the next due point.
      if (!(error instanceof LeaseLostError))
        this.options.logger.warn(`Automatic checkpoint of ${this.where} failed; tried again after the next batch: ${describeError(error)}`);
    }
  }
}
