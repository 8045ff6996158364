import type { ExtendedSequenceNumber, KinesisRecord } from './record';

const DIGITS = /^\d{1,128}$/;

export function isSequenceNumber(value: unknown): value is string {
  return typeof value === 'string' && DIGITS.test(value);
}

/** Orders positions by sequence number, then sub-sequence number. Both must be real sequence numbers. */
export function compareExtended(a: ExtendedSequenceNumber, b: ExtendedSequenceNumber): number {
  const x = BigInt(a.sequenceNumber);
  const y = BigInt(b.sequenceNumber);
  if (x !== y) return x < y ? -1 : 1;
  return a.subSequenceNumber - b.subSequenceNumber;
}

/** Where a record stands in its shard: a KPL user record by its sub-sequence number, a plain record at 0. */
export function positionOf(record: Pick<KinesisRecord, 'sequenceNumber' | 'subSequenceNumber'>): ExtendedSequenceNumber {
  return { sequenceNumber: record.sequenceNumber, subSequenceNumber: record.subSequenceNumber ?? 0 };
}
