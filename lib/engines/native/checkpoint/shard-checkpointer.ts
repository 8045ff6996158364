import { describeError, isTransientAwsError } from '../../../core/aws-errors';
import { checkpointTarget, type CheckpointArgs } from '../../../core/checkpoint-target';
import { LeaseLostError } from '../../../core/errors';
import type { WorkerLogger } from '../../../core/logger';
import type { Checkpointer } from '../../../core/processor';
import type { ExtendedSequenceNumber } from '../../../core/record';
import { backoffDelay, type RetryPolicy } from '../../../core/retry-policy';
import { sleep } from '../../../core/sleep';
import type { HeldLease } from '../leases/held-lease';
import type { LeaseTable } from '../leases/lease-table';

/**
 * The checkpointer handed to one shard's processor. It accepts positions from the last checkpoint up
 * to the last record delivered, writes them under the lease's counter, and retries transient failures.
 */
export class ShardCheckpointer implements Checkpointer {
  private largestDelivered: ExtendedSequenceNumber | undefined;
  private shardEnded = false;

  constructor(
    private readonly lease: HeldLease,
    private readonly table: LeaseTable,
    private readonly retry: RetryPolicy,
    private readonly logger: WorkerLogger,
  ) {}

  get shardId(): string {
    return this.lease.leaseKey;
  }

  /** The position stored in the lease table. */
  get lastCheckpoint(): ExtendedSequenceNumber {
    return this.lease.lease.checkpoint;
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

  async checkpoint(...args: CheckpointArgs): Promise<void> {
    return this.write(this.target(args));
  }

  private target(args: CheckpointArgs): ExtendedSequenceNumber {
    return checkpointTarget(args, { shardId: this.shardId, largestDelivered: this.largestDelivered, shardEnded: this.shardEnded, stored: this.lastCheckpoint });
  }

  private async write(position: ExtendedSequenceNumber): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (!this.lease.isHeld()) throw new LeaseLostError(this.shardId);
      try {
        await this.lease.update(
          (lease) => this.table.updateCheckpoint(lease, position),
          'checkpoint',
          (fresh) => fresh.checkpoint.sequenceNumber === position.sequenceNumber && fresh.checkpoint.subSequenceNumber === position.subSequenceNumber,
        );
        return;
      } catch (error) {
        if (error instanceof LeaseLostError || !isTransientAwsError(error) || attempt >= this.retry.maxAttempts) throw error;
        const delay = backoffDelay(this.retry, attempt);
        this.logger.warn(`Checkpoint of ${this.shardId} at ${position.sequenceNumber} failed (attempt ${attempt}), retrying in ${delay} ms: ${describeError(error)}`);
        await sleep(delay);
      }
    }
  }
}
