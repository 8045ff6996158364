import type { KinesisRecord } from '../../core/record';
import type { KclInputRecord } from './aws-kcl-adapter';

/**
 * The daemon's records as the processor contract has them. The Java KCL has de-aggregated KPL records
 * already; the protocol gives every record a subSequenceNumber (0 for a plain one) but does not say
 * which are user records of an aggregate. Those share their sequence number: they carry their
 * subSequenceNumber, as with the native engine; a plain record carries none. (An aggregate of one
 * user record cannot be told apart: it is delivered as a plain record, which checkpoints the same.)
 */
export function toKinesisRecords(records: readonly KclInputRecord[]): KinesisRecord[] {
  const perSequence = new Map<string, number>();
  for (const record of records) perSequence.set(record.sequenceNumber, (perSequence.get(record.sequenceNumber) ?? 0) + 1);
  return records.map((record) => {
    const sub = record.subSequenceNumber ?? 0;
    const aggregated = sub > 0 || perSequence.get(record.sequenceNumber)! > 1;
    return {
      data: Buffer.from(record.data ?? '', 'base64'),
      partitionKey: record.partitionKey,
      sequenceNumber: record.sequenceNumber,
      ...(aggregated ? { subSequenceNumber: sub } : {}),
      approximateArrivalTimestamp: new Date(record.approximateArrivalTimestamp ?? 0),
    };
  });
}
