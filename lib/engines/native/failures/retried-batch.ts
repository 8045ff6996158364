import { describeError } from '../../../core/aws-errors';
import { PartialBatchFailure, reportedFailures } from '../../../core/batch-result';
import { KinesisWorkerError, LeaseLostError } from '../../../core/errors';
import type { WorkerLogger } from '../../../core/logger';
import type { ExtendedSequenceNumber, KinesisRecord } from '../../../core/record';
import { compareExtended, isSequenceNumber, positionOf } from '../../../core/sequence-number';
import type { ShardCheckpointer } from '../checkpoint/shard-checkpointer';
import { firstFailedRecord } from './first-failed-record';
import { recordsToRetry } from './records-to-retry';

/** An attempt in which records failed by the handler's own report. */
export class RecordsFailedError extends KinesisWorkerError {
  constructor(
    message: string,
    /** True when the report said which records failed (the failure is isolated); false for a report that cannot be read. */
    readonly reported: boolean,
    options: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * One batch of a processRecords processor across its attempts (docs/failures.md). Each attempt is
 * called with the records still pending; when it reports failed records (a `{ failed }` result or a
 * thrown PartialBatchFailure), the next attempt gets only each failed key's records from its first
 * failure on (recordsToRetry); everything else is done, and the engine checkpoints the batch's record
 * just before the first record still pending. A plain throw retries the pending records as they are.
 * Nothing at or after the first failed record is ever checkpointed here.
 */
export class RetriedBatch {
  private pendingRecords: readonly KinesisRecord[];
  /** The last record reported done by a partial failure (and checkpointed, unless the write failed). */
  private doneUpTo: ExtendedSequenceNumber | undefined;

  constructor(
    private readonly records: readonly KinesisRecord[],
    private readonly checkpointer: ShardCheckpointer,
    private readonly logger: WorkerLogger,
    private readonly where: string,
  ) {
    this.pendingRecords = records;
  }

  /** The records not done yet: what the next attempt, or onFailedBatch, gets. */
  get pending(): readonly KinesisRecord[] {
    return this.pendingRecords;
  }

  get done(): ExtendedSequenceNumber | undefined {
    return this.doneUpTo;
  }

  /** One attempt: resolves when every pending record succeeded, rejects when any failed. */
  async attempt(call: (records: readonly KinesisRecord[]) => unknown): Promise<void> {
    let failed: unknown;
    let cause: unknown;
    try {
      failed = reportedFailures(await call(this.pendingRecords));
    } catch (error) {
      if (!(error instanceof PartialBatchFailure)) throw error;
      failed = error.failed;
      cause = error.cause;
    }
    const records = this.pendingRecords;
    const start = firstFailedRecord(records, failed);
    if (start.kind === 'none') return;
    if (start.kind === 'unknown')
      throw new RecordsFailedError(
        `processRecords reported as failed ${start.refs.join(', ')}, which ${start.refs.length === 1 ? 'is' : 'are'} not among the ${records.length} ` +
          'records it was given (report the records themselves, or their sequenceNumber); the whole batch is retried',
        false,
        { cause },
      );
    const first = records[start.index];
    this.warnIfCheckpointPassed(first);
    this.pendingRecords = recordsToRetry(records, start.failed).map((index) => records[index]);
    // Every record of the batch before the first one still pending is done: on its key or before its key's failure.
    const before = this.records.indexOf(first) - 1;
    if (before >= 0 && (this.doneUpTo === undefined || compareExtended(positionOf(this.records[before]), this.doneUpTo) > 0)) {
      const done = this.records[before];
      this.doneUpTo = positionOf(done);
      await this.checkpointDone(done);
    }
    const sub = first.subSequenceNumber === undefined ? '' : `/${first.subSequenceNumber}`;
    const keys = new Set(this.pendingRecords.map((r) => r.partitionKey)).size;
    throw new RecordsFailedError(
      `${records.length - this.pendingRecords.length} of ${records.length} records succeeded; retrying from ${first.sequenceNumber}${sub} (partition key ${first.partitionKey}) ` +
        `the ${this.pendingRecords.length} records of the ${keys} failed partition key${keys === 1 ? '' : 's'}` +
        (cause === undefined ? '' : `: ${describeError(cause)}`),
      true,
      { cause },
    );
  }

  private async checkpointDone(done: KinesisRecord): Promise<void> {
    try {
      await this.checkpointer.checkpoint(done.sequenceNumber, done.subSequenceNumber);
    } catch (error) {
      if (error instanceof LeaseLostError) throw error;
      // Not a skip: the records after it are retried either way; without the checkpoint a next owner repeats a few more.
      this.logger.warn(
        `Checkpoint of ${this.where} before the first failed record failed; going on with the retry: ${describeError(error)}`,
      );
    }
  }

  /** The processor checkpointed at or past a record it reports as failed: a crash now would skip it. */
  private warnIfCheckpointPassed(first: KinesisRecord): void {
    const stored = this.checkpointer.lastCheckpoint;
    if (!isSequenceNumber(stored.sequenceNumber) || compareExtended(stored, positionOf(first)) < 0) return;
    this.logger.error(
      `The processor of ${this.where} checkpointed at ${stored.sequenceNumber}, at or past the record it reports as failed (${first.sequenceNumber}). ` +
        'The record is retried now, but a restart would not deliver it again: when processRecords reports failed records, leave the ' +
        'checkpoint to the engine (autoCheckpoint) or checkpoint only records before the first failed one.',
    );
  }
}
