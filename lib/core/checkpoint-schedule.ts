import { performance } from 'node:perf_hooks';

/** When the engine checkpoints for the processor, resolved from the `autoCheckpoint` option. */
export interface AutoCheckpointPolicy {
  /** Checkpoint once this many records succeeded since the last checkpoint (1 = every batch). */
  readonly everyRecords: number;
  /** Checkpoint once this long passed since the last checkpoint, at the end of a successful batch. */
  readonly everyMs: number;
}

/**
 * Counts what succeeded since the engine's last checkpoint of one shard and says when the next one is
 * due. Checkpoints happen only after a batch succeeded, so they never cover a failed one.
 */
export class CheckpointSchedule {
  private records = 0;
  private lastAt: number;

  constructor(
    private readonly policy: AutoCheckpointPolicy,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastAt = now();
  }

  /** Called after a successful batch; true when a checkpoint is due now. */
  afterBatch(records: number): boolean {
    this.records += records;
    return this.records >= this.policy.everyRecords || this.now() - this.lastAt >= this.policy.everyMs;
  }

  /** Whether anything succeeded since the last checkpoint (for a final checkpoint at a graceful stop). */
  get pending(): boolean {
    return this.records > 0;
  }

  checkpointed(): void {
    this.records = 0;
    this.lastAt = this.now();
  }
}
