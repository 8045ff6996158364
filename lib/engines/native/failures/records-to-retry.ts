import type { KinesisRecord } from '../../../core/record';

/**
 * Which records of a batch a partial failure retries (docs/failures.md): for each partition key with a
 * failed record, that key's records from its first failed one on; records of other keys, and a key's
 * records before its first failure, are done. Order per key is kept (a later record of a failed key
 * waits for it, even if it succeeded), and nothing that succeeded on another key comes again.
 * Returns the indexes to retry, ascending. `failed` holds indexes into `records`.
 */
export function recordsToRetry(records: readonly Pick<KinesisRecord, 'partitionKey'>[], failed: readonly number[]): number[] {
  const firstFailure = new Map<string, number>();
  for (const index of failed) {
    const key = records[index].partitionKey;
    firstFailure.set(key, Math.min(firstFailure.get(key) ?? Infinity, index));
  }
  const retry: number[] = [];
  records.forEach((record, index) => {
    const from = firstFailure.get(record.partitionKey);
    if (from !== undefined && index >= from) retry.push(index);
  });
  return retry;
}
