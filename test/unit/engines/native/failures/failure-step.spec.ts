import { bisect, nextFailureStep, type FailureLimits } from '../../../../../lib/engines/native/failures/failure-step';
import { shedPrefix } from '../../../../../lib/engines/native/failures/lag-shedding';

const unlimited: FailureLimits = { maxAttempts: Infinity, maxRetryAttempts: Infinity, maxRecordAgeMs: Infinity, bisectOnError: false };
const attempt = { records: 10, failedAttempts: 1, oldestRecordAgeMs: 1_000, reported: false };

describe('nextFailureStep', () => {
  it('without limits a failed batch is retried for ever (the default: nothing is skipped)', () => {
    expect(nextFailureStep({ ...attempt, failedAttempts: 10_000 }, unlimited)).toBe('retry');
  });

  it('maxRetryAttempts counts the retries after the first attempt; processingRetry.maxAttempts the attempts; the first to end wins', () => {
    const limits = { ...unlimited, maxRetryAttempts: 2 };
    expect(nextFailureStep({ ...attempt, failedAttempts: 2 }, limits)).toBe('retry');
    expect(nextFailureStep({ ...attempt, failedAttempts: 3 }, limits)).toBe('out-of-attempts');
    expect(nextFailureStep({ ...attempt, failedAttempts: 1 }, { ...unlimited, maxRetryAttempts: 0 })).toBe('out-of-attempts');
    expect(nextFailureStep({ ...attempt, failedAttempts: 2 }, { ...limits, maxAttempts: 2 })).toBe('out-of-attempts');
  });

  it('a record older than maxRecordAgeMs ends the attempts before anything else, bisection included', () => {
    const limits = { ...unlimited, maxRecordAgeMs: 60_000, bisectOnError: true };
    expect(nextFailureStep({ ...attempt, oldestRecordAgeMs: 60_001 }, limits)).toBe('too-old');
    expect(nextFailureStep({ ...attempt, oldestRecordAgeMs: 60_000 }, limits)).toBe('bisect');
  });

  it('bisects a thrown batch of two or more records, uncounted; a single record or a reported failure is retried', () => {
    const limits = { ...unlimited, maxRetryAttempts: 0, bisectOnError: true };
    expect(nextFailureStep({ ...attempt, records: 2 }, limits)).toBe('bisect');
    expect(nextFailureStep({ ...attempt, records: 1 }, limits)).toBe('out-of-attempts');
    expect(nextFailureStep({ ...attempt, reported: true }, limits)).toBe('out-of-attempts');
    expect(nextFailureStep({ ...attempt, reported: true }, { ...limits, maxRetryAttempts: 1 })).toBe('retry');
  });
});

describe('bisect', () => {
  it('splits into two non-empty halves in order, the first the larger', () => {
    expect(bisect([1, 2, 3, 4])).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(bisect([1, 2, 3])).toEqual([[1, 2], [3]]);
    expect(bisect([1, 2])).toEqual([[1], [2]]);
  });

  it('repeated halving isolates one record of 100 in 7 splits', () => {
    let batch = Array.from({ length: 100 }, (_, i) => i);
    let splits = 0;
    while (batch.length > 1) {
      const [first, second] = bisect(batch);
      batch = [...(first.includes(73) ? first : second)];
      splits++;
    }
    expect(batch).toEqual([73]);
    expect(splits).toBe(7);
  });
});

describe('shedPrefix', () => {
  const at = (ms: number) => ({ approximateArrivalTimestamp: new Date(ms) });

  it('sheds the head of the batch older than the limit, never a record after a young one', () => {
    expect(shedPrefix([at(0), at(100), at(9_500), at(200)], 10_000, 1_000)).toBe(2);
    expect(shedPrefix([at(9_500), at(0)], 10_000, 1_000)).toBe(0);
    expect(shedPrefix([at(0), at(1)], 10_000, 1_000)).toBe(2);
    expect(shedPrefix([], 10_000, 1_000)).toBe(0);
  });

  it('a record exactly at the limit is kept', () => {
    expect(shedPrefix([at(9_000)], 10_000, 1_000)).toBe(0);
  });
});
