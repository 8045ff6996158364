import { KinesisWorkerConfigError, KinesisWorkerError } from './errors';
import type { EngineName } from './options';
import type { KinesisRecord } from './record';

/**
 * When the engine stops retrying failed records and hands them to the destination (onFailedBatch for
 * processRecords, onFailedRecord for processRecord), as a Lambda Kinesis trigger's retry settings do
 * (docs/failures.md). Native engine. Without a destination, reaching a limit gives the lease up, as a
 * finite processingRetry does: a failed record is never skipped.
 */
export interface FailurePolicyOptions {
  /**
   * Retries of a failing batch (processRecords) or record (processRecord) after its first attempt. The
   * attempts end with whichever limit comes first: this or processingRetry.maxAttempts. Default: no limit.
   */
  maxRetryAttempts?: number;
  /**
   * A failing batch whose oldest record arrived in the stream longer ago than this (a record, for
   * processRecord) is not retried any more. Default: no limit.
   */
  maxRecordAgeMs?: number;
  /**
   * processRecords: a batch that throws is split in two halves, each retried on its own, down to the one
   * record that fails (Lambda's BisectBatchOnFunctionError). Splits are not counted as retries. Default false.
   */
  bisectBatchOnError?: boolean;
  /**
   * Lag shedding: records that arrived in the stream longer ago than this are not processed at all when
   * read; they go to the destination (onFailedBatch / onFailedRecord) with a RecordsShedError, or are
   * skipped when shedTo is 'skip'. Default: no shedding.
   */
  shedRecordsOlderThanMs?: number;
  /** Where shed records go: 'destination' (the default; needs onFailedBatch or onFailedRecord) or 'skip' (dropped, counted and logged). */
  shedTo?: ShedTarget;
}

export type ShedTarget = 'destination' | 'skip';

export interface ResolvedFailurePolicy {
  readonly maxRetryAttempts: number;
  readonly maxRecordAgeMs: number;
  readonly bisectBatchOnError: boolean;
  readonly shedRecordsOlderThanMs: number;
  readonly shedTo: ShedTarget;
}

/** What onFailedRecord receives: the record no processRecord call could handle, and the last error. */
export interface FailedRecord {
  readonly streamName: string;
  readonly shardId: string;
  readonly record: KinesisRecord;
  readonly error: unknown;
  readonly attempts: number;
}

export const DEFAULT_FAILURE_POLICY: ResolvedFailurePolicy = {
  maxRetryAttempts: Infinity,
  maxRecordAgeMs: Infinity,
  bisectBatchOnError: false,
  shedRecordsOlderThanMs: Infinity,
  shedTo: 'destination',
};

/** The error a destination gets with records shed for their age (failurePolicy.shedRecordsOlderThanMs): they were never processed. */
export class RecordsShedError extends KinesisWorkerError {
  constructor(readonly olderThanMs: number) {
    super(`shed unprocessed: the records arrived in the stream more than failurePolicy.shedRecordsOlderThanMs (${olderThanMs} ms) ago`);
  }
}

/** Node's timers hold at most 2^31 - 1 ms; a record age is compared, not waited for, but no sane limit is longer. */
const MAX_AGE_MS = 2_147_483_647;

function limit(option: string, value: unknown, { allowZero, max, meaning }: { allowZero: boolean; max: number; meaning: string }): number {
  if (value === undefined || value === Infinity) return Infinity;
  const min = allowZero ? 0 : 1;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new KinesisWorkerConfigError(
      `failurePolicy.${option}`,
      `expected a whole number from ${min} to ${max}, or Infinity (no limit, the default), got ${JSON.stringify(value)}; ${meaning}.`,
    );
  return value;
}

/** Validates `failurePolicy` and fills in its defaults; the kcl engine refuses it (its retries are processingRetry's). */
export function resolveFailurePolicy(
  value: FailurePolicyOptions | undefined,
  engine: EngineName,
  destinations: { onFailedBatch?: unknown; onFailedRecord?: unknown } = {},
): ResolvedFailurePolicy {
  if (value === undefined) return DEFAULT_FAILURE_POLICY;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new KinesisWorkerConfigError(
      'failurePolicy',
      `expected an object such as { maxRetryAttempts: 3, bisectBatchOnError: true }, got ${JSON.stringify(value)}. Leave it unset to retry without limit.`,
    );
  if (engine === 'kcl')
    throw new KinesisWorkerConfigError(
      'failurePolicy',
      "is not supported by the kcl engine, whose processor checkpoints its batches itself: use processingRetry there, or engine: 'native' (the default).",
    );
  const bisect = value.bisectBatchOnError ?? false;
  if (typeof bisect !== 'boolean')
    throw new KinesisWorkerConfigError('failurePolicy.bisectBatchOnError', `must be true or false, got ${JSON.stringify(bisect)}.`);
  return {
    maxRetryAttempts: limit('maxRetryAttempts', value.maxRetryAttempts, {
      allowZero: true,
      max: 10_000,
      meaning: 'it is how many times a failing batch or record is tried again before it goes to onFailedBatch/onFailedRecord (0: never)',
    }),
    maxRecordAgeMs: limit('maxRecordAgeMs', value.maxRecordAgeMs, {
      allowZero: false,
      max: MAX_AGE_MS,
      meaning: 'a failing record older than this (since it arrived in the stream) is not retried any more',
    }),
    bisectBatchOnError: bisect,
    ...shedding(value, destinations),
  };
}

function shedding(
  value: FailurePolicyOptions,
  destinations: { onFailedBatch?: unknown; onFailedRecord?: unknown },
): Pick<ResolvedFailurePolicy, 'shedRecordsOlderThanMs' | 'shedTo'> {
  const shedRecordsOlderThanMs = limit('shedRecordsOlderThanMs', value.shedRecordsOlderThanMs, {
    allowZero: false,
    max: MAX_AGE_MS,
    meaning: 'records read that arrived in the stream longer ago than this are not processed but shed',
  });
  const shedTo = value.shedTo ?? 'destination';
  if (shedTo !== 'destination' && shedTo !== 'skip')
    throw new KinesisWorkerConfigError(
      'failurePolicy.shedTo',
      `expected 'destination' (shed records go to onFailedBatch / onFailedRecord, the default) or 'skip' (they are dropped), got ${JSON.stringify(value.shedTo)}.`,
    );
  if (shedRecordsOlderThanMs !== Infinity && shedTo === 'destination' && !destinations.onFailedBatch && !destinations.onFailedRecord)
    throw new KinesisWorkerConfigError(
      'failurePolicy.shedRecordsOlderThanMs',
      "sheds records to a destination, but there is none: add onFailedBatch (processRecords) or onFailedRecord (processRecord), or say shedTo: 'skip' to drop them (counted and logged).",
    );
  return { shedRecordsOlderThanMs, shedTo };
}
