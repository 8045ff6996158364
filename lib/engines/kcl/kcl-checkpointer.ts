import { describeError } from '../../core/aws-errors';
import { checkpointTarget, type CheckpointArgs } from '../../core/checkpoint-target';
import { InvalidCheckpointError, KinesisWorkerError, LeaseLostError } from '../../core/errors';
import type { WorkerLogger } from '../../core/logger';
import type { Checkpointer } from '../../core/processor';
import type { ExtendedSequenceNumber } from '../../core/record';
import { backoffDelay, type RetryPolicy } from '../../core/retry-policy';
import { sleep } from '../../core/sleep';


/** Sends one checkpoint request to the MultiLangDaemon; resolves with the exception name it answered, or null. */
export type CheckpointChannel = (position: ExtendedSequenceNumber) => Promise<string | null>;

/** Exceptions of the Java KCL's checkpointer that are worth another try. */
const TRANSIENT = new Set(['ThrottlingException', 'KinesisClientLibDependencyException']);

/**
 * The Promise checkpointer of the kcl engine: the same contract as the native one, carried out by the
 * Java KCL's checkpointer through the MultiLangDaemon protocol. It sends explicit positions only (never
 * "the last record" as the daemon understands it), so that a batch that failed here is never covered
 * by a checkpoint. The protocol accepts checkpoints only while the daemon waits for processRecords,
 * shardEnded or shutdownRequested: outside that window a checkpoint is refused.
 */
export class KclCheckpointer implements Checkpointer {
  private largestDelivered: ExtendedSequenceNumber | undefined;
  private stored: ExtendedSequenceNumber;
  private shardEnded = false;
  private window = false;
  private closedReason: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly shardId: string,
    initial: ExtendedSequenceNumber,
    private readonly send: CheckpointChannel,
    private readonly retry: RetryPolicy,
    private readonly logger: WorkerLogger,
    private readonly onLeaseLost: (detail: string) => void = () => undefined,
  ) {
    this.stored = initial;
  }

  /** The last position stored, as far as this worker knows. */
  get lastCheckpoint(): ExtendedSequenceNumber {
    return this.stored;
  }

  get finished(): boolean {
    return this.stored.sequenceNumber === 'SHARD_END';
  }

  markDelivered(position: ExtendedSequenceNumber): void {
    this.largestDelivered = position;
  }

  get delivered(): ExtendedSequenceNumber | undefined {
    return this.largestDelivered;
  }

  /** A batch that did not succeed: the largest position a checkpoint may name goes back. */
  rollBackDelivered(position: ExtendedSequenceNumber | undefined): void {
    this.largestDelivered = position;
  }

  /** From now on checkpoint() with no argument means SHARD_END. */
  markShardEnded(): void {
    this.shardEnded = true;
  }

  /** The daemon waits on an action that carries a checkpointer. */
  openWindow(): void {
    this.window = true;
  }

  closeWindow(): void {
    this.window = false;
  }

  /** No checkpoint will succeed any more: the lease is gone or the connection is closed. */
  close(reason: string): void {
    this.closedReason ??= reason;
  }

  checkpoint(...args: CheckpointArgs): Promise<void> {
    let target: ExtendedSequenceNumber;
    try {
      target = this.target(args);
    } catch (error) {
      return Promise.reject(error);
    }
    const run = this.queue.then(() => this.write(target));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private target(args: CheckpointArgs): ExtendedSequenceNumber {
    return checkpointTarget(args, { shardId: this.shardId, largestDelivered: this.largestDelivered, shardEnded: this.shardEnded, stored: this.stored });
  }

  private async write(position: ExtendedSequenceNumber): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      if (this.closedReason !== undefined) throw new LeaseLostError(this.shardId, this.closedReason);
      if (!this.window) {
        throw new InvalidCheckpointError(
          this.shardId,
          position.sequenceNumber,
          "the 'kcl' engine checkpoints only while processRecords or shutdown is running (the MultiLangDaemon accepts checkpoints only then): await checkpoint() inside them.",
        );
      }
      const error = await this.send(position);
      if (error === null) {
        this.stored = position;
        return;
      }
      if (error === 'ShutdownException') {
        const detail = 'the Java KCL no longer holds the lease (ShutdownException)';
        this.close(detail);
        this.onLeaseLost(detail);
        throw new LeaseLostError(this.shardId, detail);
      }
      if (error === 'InvalidStateException' || error === 'IllegalArgumentException') {
        throw new InvalidCheckpointError(this.shardId, position.sequenceNumber, `the Java KCL refused it (${error}).`);
      }
      if (!TRANSIENT.has(error) || attempt >= this.retry.maxAttempts) {
        throw new KinesisWorkerError(`Checkpoint of ${this.shardId} at ${position.sequenceNumber} failed in the Java KCL: ${error}`);
      }
      const delay = backoffDelay(this.retry, attempt);
      this.logger.warn(
        `Checkpoint of ${this.shardId} at ${position.sequenceNumber} failed (attempt ${attempt}), retrying in ${delay} ms: ${describeError(error)}`,
      );
      await sleep(delay);
    }
  }
}
