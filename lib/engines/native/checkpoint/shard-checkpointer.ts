import { performance } from 'node:perf_hooks';
import { describeError, isTransientAwsError } from '../../../core/aws-errors';
import { CheckpointBounds, SHARD_END, type CheckpointArgs } from '../../../core/checkpoint-target';
import { InvalidCheckpointError, LeaseLostError } from '../../../core/errors';
import type { WorkerLogger } from '../../../core/logger';
import type { Checkpointer } from '../../../core/processor';
import type { ExtendedSequenceNumber } from '../../../core/record';
import { retry } from '../../../core/retry';
import type { RetryPolicy } from '../../../core/retry-policy';
import type { HeldLease } from '../leases/held-lease';
import type { LeaseTable } from '../../../leases/lease-table';
import { shardIdOf } from '../../../leases/lease';
import { RefusalLog } from './refusal-log';

/**
 * The checkpointer handed to one shard's processor. It accepts positions from the last checkpoint up
 * to the last record delivered, writes them under the lease's counter, and retries transient failures.
 * A refused checkpoint rejects every time, but is logged once per kind: a processor that repeats the
 * mistake on every batch does not flood the log.
 */
export class ShardCheckpointer implements Checkpointer {
  private readonly bounds: CheckpointBounds;
  private readonly refusals: RefusalLog;
  private revokedBecause: string | undefined;

  constructor(
    private readonly lease: HeldLease,
    private readonly table: LeaseTable,
    private readonly retryPolicy: RetryPolicy,
    private readonly logger: WorkerLogger,
    /** Told how long each checkpoint took and whether it was stored (for the metrics). */
    private readonly onWritten: (seconds: number, stored: boolean) => void = () => undefined,
  ) {
    this.bounds = new CheckpointBounds(lease.leaseKey);
    this.refusals = new RefusalLog(logger);
  }

  get shardId(): string {
    return shardIdOf(this.lease.lease);
  }

  /** The position stored in the lease table. */
  get lastCheckpoint(): ExtendedSequenceNumber {
    return this.lease.lease.checkpoint;
  }

  get delivered(): ExtendedSequenceNumber | undefined {
    return this.bounds.delivered;
  }

  markDelivered(position: ExtendedSequenceNumber): void {
    this.bounds.markDelivered(position);
  }

  rollBackDelivered(position: ExtendedSequenceNumber | undefined): void {
    this.bounds.rollBackDelivered(position);
  }

  markShardEnded(): void {
    this.bounds.markShardEnded();
  }

  /**
   * From now on every checkpoint() of this processor is refused (LeaseLostError), even if the lease is
   * still ours for a moment: the engine stopped waiting for the processor (processingTimeoutMs), and
   * a late checkpoint must not move past records that will be delivered again.
   */
  revoke(reason: string): void {
    this.revokedBecause ??= reason;
  }

  async checkpoint(...args: CheckpointArgs): Promise<void> {
    if (this.revokedBecause !== undefined) {
      // Already said in the line that reported the timeout; the late call only needs its rejection.
      this.logger.debug?.(`Late checkpoint of ${this.shardId} refused: ${this.revokedBecause}.`);
      throw new LeaseLostError(this.shardId, this.revokedBecause);
    }
    const started = performance.now();
    try {
      await this.write(this.bounds.target(args, this.lastCheckpoint));
      this.onWritten((performance.now() - started) / 1000, true);
    } catch (error) {
      this.onWritten((performance.now() - started) / 1000, false);
      this.reportRefusal(error);
      throw error;
    }
  }

  /**
   * The engine's own checkpoint past a batch onFailedBatch took. Written even after revoke(): a batch
   * whose processRecords overran processingTimeoutMs goes to the hook too, and only the processor's
   * late checkpoints are refused, not the engine's. Checked against the bounds like any checkpoint.
   */
  async checkpointPastDeadLetter(end: ExtendedSequenceNumber): Promise<void> {
    await this.write(this.bounds.target([end.sequenceNumber, end.subSequenceNumber], this.lastCheckpoint));
  }

  /** The engine's own SHARD_END, once the processor's shutdown(TERMINATE) returned without writing it. */
  writeShardEnd(): Promise<void> {
    return this.write(SHARD_END);
  }

  private reportRefusal(error: unknown): void {
    const stored = this.lastCheckpoint.sequenceNumber;
    if (error instanceof InvalidCheckpointError) {
      this.refusals.once(
        'invalid',
        `${error.message} The checkpoint is refused and stays at ${stored}; ` +
          'checkpoint() with no argument, or with a record of the current batch or an earlier one.',
      );
    } else if (error instanceof LeaseLostError) {
      this.refusals.once(
        'lease-lost',
        `Checkpoint refused: ${error.message}. The stored checkpoint stays at ${stored}; ` +
          'the records after it are delivered again to the next owner of the shard.',
      );
    }
  }

  private write(position: ExtendedSequenceNumber): Promise<void> {
    return retry(
      async () => {
        if (!this.lease.isHeld()) throw new LeaseLostError(this.shardId);
        await this.lease.update(
          (lease) => this.table.updateCheckpoint(lease, position),
          'checkpoint',
          (fresh) =>
            fresh.checkpoint.sequenceNumber === position.sequenceNumber &&
            fresh.checkpoint.subSequenceNumber === position.subSequenceNumber,
        );
      },
      {
        policy: this.retryPolicy,
        retryable: (error) => !(error instanceof LeaseLostError) && isTransientAwsError(error),
        onRetry: (error, attempt, delay) =>
          this.logger.warn(
            `Checkpoint of ${this.shardId} at ${position.sequenceNumber} failed (attempt ${attempt}), retrying in ${delay} ms: ${describeError(error)}`,
          ),
      },
    );
  }
}
