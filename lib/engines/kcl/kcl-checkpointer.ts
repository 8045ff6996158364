import { performance } from 'node:perf_hooks';
import { describeError } from '../../core/aws-errors';
import { CheckpointBounds, type CheckpointArgs } from '../../core/checkpoint-target';
import { InvalidCheckpointError, KinesisWorkerError, LeaseLostError } from '../../core/errors';
import type { WorkerLogger } from '../../core/logger';
import type { Checkpointer } from '../../core/processor';
import type { ExtendedSequenceNumber } from '../../core/record';
import { retry } from '../../core/retry';
import type { RetryPolicy } from '../../core/retry-policy';

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
  private readonly bounds: CheckpointBounds;
  private stored: ExtendedSequenceNumber;
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
    /** Told how long each checkpoint took and whether it was stored (for the metrics). */
    private readonly onWritten: (seconds: number, stored: boolean) => void = () => undefined,
  ) {
    this.stored = initial;
    this.bounds = new CheckpointBounds(shardId);
  }

  /** The last position stored, as far as this worker knows. */
  get lastCheckpoint(): ExtendedSequenceNumber {
    return this.stored;
  }

  get finished(): boolean {
    return this.stored.sequenceNumber === 'SHARD_END';
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
    const started = performance.now();
    const run = this.queue.then(() => this.write(target));
    this.queue = run.catch(() => undefined);
    return run.then(
      () => this.onWritten((performance.now() - started) / 1000, true),
      (error: unknown) => {
        this.onWritten((performance.now() - started) / 1000, false);
        throw error;
      },
    );
  }

  private target(args: CheckpointArgs): ExtendedSequenceNumber {
    return this.bounds.target(args, this.stored);
  }

  private write(position: ExtendedSequenceNumber): Promise<void> {
    return retry(() => this.writeOnce(position), {
      policy: this.retry,
      retryable: (error) => error instanceof DaemonCheckpointError && TRANSIENT.has(error.exceptionName),
      onRetry: (error, attempt, delay) =>
        this.logger.warn(
          `Checkpoint of ${this.shardId} at ${position.sequenceNumber} failed (attempt ${attempt}), retrying in ${delay} ms: ${describeError(error)}`,
        ),
    });
  }

  private async writeOnce(position: ExtendedSequenceNumber): Promise<void> {
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
    throw new DaemonCheckpointError(this.shardId, position.sequenceNumber, error);
  }
}

/** The daemon answered a checkpoint with an exception; the transient ones are retried. */
class DaemonCheckpointError extends KinesisWorkerError {
  constructor(
    shardId: string,
    sequenceNumber: string,
    readonly exceptionName: string,
  ) {
    super(`Checkpoint of ${shardId} at ${sequenceNumber} failed in the Java KCL: ${exceptionName}`);
  }
}
