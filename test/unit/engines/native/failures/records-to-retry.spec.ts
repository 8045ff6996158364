import { recordsToRetry } from '../../../../../lib/engines/native/failures/records-to-retry';

const batch = (...keys: string[]) => keys.map((partitionKey) => ({ partitionKey }));

describe('recordsToRetry: each failed key from its first failure on', () => {
  it('retries the failed record and the later records of its key; other keys and earlier records of the key are done', () => {
    //                  0    1    2    3    4    5
    const records = batch('a', 'b', 'a', 'c', 'a', 'b');
    expect(recordsToRetry(records, [2])).toEqual([2, 4]);
    expect(recordsToRetry(records, [1])).toEqual([1, 5]);
  });

  it('several failed keys, each from its own first failure, in batch order', () => {
    const records = batch('a', 'b', 'a', 'c', 'a', 'b', 'c');
    expect(recordsToRetry(records, [4, 1])).toEqual([1, 4, 5]);
    expect(recordsToRetry(records, [6, 3, 0])).toEqual([0, 2, 3, 4, 6]);
  });

  it('every record of one key: the whole batch; a record reported twice counts once', () => {
    expect(recordsToRetry(batch('k', 'k', 'k'), [1, 1])).toEqual([1, 2]);
    expect(recordsToRetry(batch('k', 'k', 'k'), [0])).toEqual([0, 1, 2]);
  });

  it('property: the retried set keeps order per key and never leaves a failed record, or what follows it on its key, out', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let run = 0; run < 200; run++) {
      const records = Array.from({ length: 1 + Math.floor(next() * 30) }, () => ({ partitionKey: `k${Math.floor(next() * 5)}` }));
      const failed = records.map((_, i) => i).filter(() => next() < 0.15);
      const retry = new Set(recordsToRetry(records, failed));
      for (const f of failed)
        records.forEach((r, i) => {
          if (i >= f && r.partitionKey === records[f].partitionKey) expect(retry.has(i)).toBe(true);
        });
      // Nothing else: a retried record is at or after a failure of its own key.
      for (const i of retry) expect(failed.some((f) => f <= i && records[f].partitionKey === records[i].partitionKey)).toBe(true);
    }
  });
});
