import { describeError } from './aws-errors';
import { KinesisWorkerError } from './errors';
import type { KinesisRecord } from './record';

/**
 * A record a processRecords call reports as failed: the record itself, its position, or its sequence
 * number alone (for a KPL aggregate, a bare sequence number means its first sub-record, so the whole
 * aggregate is retried: nothing is ever skipped).
 */
export type FailedRecordRef = string | Pick<KinesisRecord, 'sequenceNumber' | 'subSequenceNumber'>;

/**
 * What processRecords may return (native engine), as the batchItemFailures of a Lambda Kinesis trigger:
 * the records that failed. The records before the first failed one count as done and are checkpointed;
 * the first failed one and every record after it in the shard are retried (docs/failures.md).
 */
export interface BatchResult {
  readonly failed?: readonly FailedRecordRef[];
}

/**
 * The same report, thrown: for code paths where returning is awkward. `cause` is the error behind it,
 * passed on to the logs and, once the retries ran out, to onFailedBatch.
 */
export class PartialBatchFailure extends KinesisWorkerError {
  constructor(
    readonly failed: readonly FailedRecordRef[],
    cause?: unknown,
  ) {
    super(`processRecords reported ${failed.length} failed record(s)` + (cause === undefined ? '' : `: ${describeError(cause)}`), {
      cause,
    });
  }
}

/** What a processRecords result reports as failed: its `failed`, or undefined for void and anything without one. */
export function reportedFailures(result: unknown): unknown {
  if (typeof result !== 'object' || result === null || !('failed' in result)) return undefined;
  return (result as { failed?: unknown }).failed;
}

/** True when a result or a thrown error reports failed records (an empty list reports none). */
export function reportsFailures(failed: unknown): boolean {
  return failed !== undefined && failed !== null && !(Array.isArray(failed) && failed.length === 0);
}
