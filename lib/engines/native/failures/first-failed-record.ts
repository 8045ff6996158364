import type { FailedRecordRef } from '../../../core/batch-result';
import type { KinesisRecord } from '../../../core/record';

/**
 * Where the retry of a batch starts, from what processRecords reported:
 * - 'none': nothing failed (no report, or an empty list, as Lambda reads an empty batchItemFailures);
 * - 'from': records[index] is the first failed record, `failed` every failed record (indexes, ascending);
 *   those before the first are done; which of the rest are retried is recordsToRetry's decision;
 * - 'unknown': the report names something that is not a record of the batch, so which records are done
 *   cannot be known: the whole batch is retried (never a skip on a guess).
 */
export type RetryStart =
  | { readonly kind: 'none' }
  | { readonly kind: 'from'; readonly index: number; readonly failed: readonly number[] }
  | { readonly kind: 'unknown'; readonly refs: string[] };

export function firstFailedRecord(
  records: readonly Pick<KinesisRecord, 'sequenceNumber' | 'subSequenceNumber'>[],
  failed: unknown,
): RetryStart {
  if (failed === undefined || failed === null) return { kind: 'none' };
  // A `failed` that is not a list cannot say what succeeded: every record counts as failed.
  if (!Array.isArray(failed)) return { kind: 'unknown', refs: [describe(failed as FailedRecordRef)] };
  if (failed.length === 0) return { kind: 'none' };
  const found = new Set<number>();
  const unknown: string[] = [];
  for (const ref of failed as FailedRecordRef[]) {
    const index = indexOf(records, ref);
    if (index < 0) unknown.push(describe(ref));
    else found.add(index);
  }
  if (unknown.length > 0) return { kind: 'unknown', refs: unknown };
  const indexes = [...found].sort((a, b) => a - b);
  return { kind: 'from', index: indexes[0], failed: indexes };
}

function indexOf(records: readonly Pick<KinesisRecord, 'sequenceNumber' | 'subSequenceNumber'>[], ref: FailedRecordRef): number {
  if (typeof ref === 'string') return records.findIndex((r) => r.sequenceNumber === ref);
  if (!ref || typeof ref.sequenceNumber !== 'string') return -1;
  // A reference without a sub-sequence number names the aggregate's first sub-record (or the plain record).
  if (ref.subSequenceNumber === undefined) return records.findIndex((r) => r.sequenceNumber === ref.sequenceNumber);
  return records.findIndex((r) => r.sequenceNumber === ref.sequenceNumber && (r.subSequenceNumber ?? 0) === ref.subSequenceNumber);
}

function describe(ref: FailedRecordRef): string {
  if (typeof ref === 'string') return ref;
  if (!ref || typeof ref.sequenceNumber !== 'string') return JSON.stringify(ref) ?? typeof ref;
  return ref.subSequenceNumber === undefined ? ref.sequenceNumber : `${ref.sequenceNumber}/${ref.subSequenceNumber}`;
}
