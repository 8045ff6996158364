import { firstFailedRecord } from '../../../../../lib/engines/native/failures/first-failed-record';

const plain = (n: number) => ({ sequenceNumber: String(100 + n) });
const batch = [plain(0), plain(1), plain(2), plain(3)];
// One KPL aggregate (three sub-records under one sequence number) between two plain records.
const aggregated = [
  plain(0),
  { sequenceNumber: '200', subSequenceNumber: 0 },
  { sequenceNumber: '200', subSequenceNumber: 1 },
  { sequenceNumber: '200', subSequenceNumber: 2 },
  plain(9),
];

describe('firstFailedRecord', () => {
  it('nothing failed: no report, null, or an empty list (as Lambda reads an empty batchItemFailures)', () => {
    expect(firstFailedRecord(batch, undefined)).toEqual({ kind: 'none' });
    expect(firstFailedRecord(batch, null)).toEqual({ kind: 'none' });
    expect(firstFailedRecord(batch, [])).toEqual({ kind: 'none' });
  });

  it('the retry starts at the lowest failed record, whatever order the report lists them in', () => {
    expect(firstFailedRecord(batch, ['103', '101'])).toEqual({ kind: 'from', index: 1, failed: [1, 3] });
    expect(firstFailedRecord(batch, [batch[3], batch[2]])).toEqual({ kind: 'from', index: 2, failed: [2, 3] });
    expect(firstFailedRecord(batch, [{ sequenceNumber: '100' }, '100'])).toEqual({ kind: 'from', index: 0, failed: [0] });
  });

  it('a sub-record by its position; a bare sequence number of an aggregate means its first sub-record', () => {
    expect(firstFailedRecord(aggregated, [{ sequenceNumber: '200', subSequenceNumber: 2 }])).toEqual({
      kind: 'from',
      index: 3,
      failed: [3],
    });
    expect(firstFailedRecord(aggregated, ['200'])).toEqual({ kind: 'from', index: 1, failed: [1] });
    expect(firstFailedRecord(aggregated, [{ sequenceNumber: '200' }])).toEqual({ kind: 'from', index: 1, failed: [1] });
  });

  it('a report naming anything outside the batch cannot say what succeeded: the whole batch is retried', () => {
    expect(firstFailedRecord(batch, ['103', '999'])).toEqual({ kind: 'unknown', refs: ['999'] });
    expect(firstFailedRecord(aggregated, [{ sequenceNumber: '200', subSequenceNumber: 7 }])).toEqual({ kind: 'unknown', refs: ['200/7'] });
    expect(firstFailedRecord(batch, '101')).toEqual({ kind: 'unknown', refs: ['101'] });
    expect(firstFailedRecord(batch, [42])).toMatchObject({ kind: 'unknown' });
  });
});
