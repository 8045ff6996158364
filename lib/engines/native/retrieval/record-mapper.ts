import type { _Record as SdkRecord } from '@aws-sdk/client-kinesis';
import type { KinesisRecord } from '../../../core/record';

/** Wraps the SDK's bytes without copying them. */
export function toKinesisRecord(record: SdkRecord): KinesisRecord {
  const bytes = record.Data ?? new Uint8Array(0);
  return {
    data: Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    partitionKey: record.PartitionKey ?? '',
    sequenceNumber: record.SequenceNumber!,
    approximateArrivalTimestamp: record.ApproximateArrivalTimestamp ?? new Date(0),
  };
}
