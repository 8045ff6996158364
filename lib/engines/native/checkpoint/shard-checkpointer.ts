import { describeError, isTransientAwsError } from '../../../core/aws-errors';
import { CheckpointBounds, type CheckpointArgs } from '../../../core/checkpoint-target';
import { LeaseLostError } from '../../../core/errors';
import type { WorkerLogger } from '../../../core/logger';
import type { Checkpointer } from '../../../core/processor';
import type { ExtendedSequenceNumber } from '../../../core/record';
import { retry } from '../../../core/retry';
import type { RetryPolicy } from '../../../core/retry-policy';
import type { HeldLease } from '../leases/held-lease';
import type { LeaseTable } from '../../../leases/lease-table';

/**
 * The checkpointer handed to one shard's processor. It accepts positions from the last checkpoint up
 * to the last record delivered, writes them under the lease's counter, and retries transient failures.
 */
export class ShardCheckpointer implements Checkpointer {
  private readonly bounds: CheckpointBounds;

  constructor(
    private readonly lease: HeldLease,
    private readonly table: LeaseTable,
    private readonly retryPolicy: RetryPolicy,
    private readonly logger: WorkerLogger,
  ) {
    this.bounds = new CheckpointBounds(lease.leaseKey);
  }

  get shardId(): string {
    return this.lease.leaseKey;
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

  async checkpoint(...args: CheckpointArgs): Promise<void> {
    return this.write(this.bounds.target(args, this.lastCheckpoint));
  }

  private write(position: ExtendedSequenceNumber): Promise<void> {
    return retry(
      async () => {
        if (!this.lease.isHeld()) throw new LeaseLostError(this.shardId);
        await this.lease.update(
          (lease) => this.table.updateCheckpoint(lease, position),
          'checkpoint',
          (fresh) => fresh.checkpoint.sequenceNumber === position.sequenceNumber && fresh.checkpoint.subSequenceNumber === position.subSequenceNumber,
        );
      },
      {
        policy: this.retryPolicy,
        retryable: (error) => !(error instanceof LeaseLostError) && isTransientAwsError(error),
        onRetry: (error, attempt, delay) =>
          this.logger.warn(`Checkpoint of ${this.shardId} at ${position.sequenceNumber} failed (attempt ${attempt}), retrying in ${delay} ms: ${describeError(error)}`),
      },
    );
  }
}
