/**
 * What follows a failed attempt of a batch (processRecords) or a record (processRecord), Lambda's way
 * (docs/failures.md). Pure: the caller says what it saw, this says what to do.
 * - 'too-old': the oldest record is older than maxRecordAgeMs: no more attempts;
 * - 'bisect': split the batch in two halves and try each on its own (a plain throw of a batch of two
 *   or more records, with bisectBatchOnError; splits are not counted as attempts);
 * - 'out-of-attempts': the attempts allowed (processingRetry.maxAttempts, maxRetryAttempts + 1) are used up;
 * - 'retry': the same records again after the backoff.
 * 'too-old' and 'out-of-attempts' hand the records to the destination; without one, the lease is given up.
 */
export type FailureStep = 'retry' | 'bisect' | 'too-old' | 'out-of-attempts';

export interface FailedAttempt {
  /** Records still pending in the batch (1 for processRecord). */
  readonly records: number;
  /** Failed attempts of these records so far, this one included. */
  readonly failedAttempts: number;
  /** How long ago the oldest pending record arrived in the stream. */
  readonly oldestRecordAgeMs: number;
  /** The handler said which records failed (a partial batch failure): the failure is isolated already. */
  readonly reported: boolean;
}

export interface FailureLimits {
  readonly maxAttempts: number;
  readonly maxRetryAttempts: number;
  readonly maxRecordAgeMs: number;
  readonly bisectOnError: boolean;
}

export function nextFailureStep(attempt: FailedAttempt, limits: FailureLimits): FailureStep {
  if (attempt.oldestRecordAgeMs > limits.maxRecordAgeMs) return 'too-old';
  if (limits.bisectOnError && !attempt.reported && attempt.records > 1) return 'bisect';
  if (attempt.failedAttempts >= Math.min(limits.maxAttempts, limits.maxRetryAttempts + 1)) return 'out-of-attempts';
  return 'retry';
}

/** The two halves of a batch to bisect, the first one the larger when the count is odd (both non-empty). */
export function bisect<T>(records: readonly T[]): [readonly T[], readonly T[]] {
  const middle = Math.ceil(records.length / 2);
  return [records.slice(0, middle), records.slice(middle)];
}
