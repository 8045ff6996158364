import type { KinesisRecord } from '../../../core/record';

interface UserRecord {
  partitionKey: string;
  explicitPartitionKey?: string;
  sequenceNumber: string;
  subSequenceNumber: number;
  data: string;
}

interface AggModule {
  deaggregateSync(
    record: { data: string; partitionKey: string; sequenceNumber: string; explicitPartitionKey?: string },
    computeChecksums: boolean,
    done: (error: Error | null, records?: UserRecord[]) => void,
  ): void;
}

// aws-kinesis-agg ships types that need aws-sdk v2 and aws-lambda; this is the part we use.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const agg = require('aws-kinesis-agg') as AggModule;

/** The KPL's aggregated-record magic number. */
const KPL_MAGIC = Buffer.from([0xf3, 0x89, 0x9a, 0xc2]);
/** Magic number, at least a byte of protobuf, and the 16-byte MD5 trailer. */
const MIN_AGGREGATED_LENGTH = KPL_MAGIC.length + 1 + 16;

/** Byte by byte: this runs for every record, and a subarray per record would be garbage. */
function isAggregated(data: Buffer): boolean {
  return (
    data.length >= MIN_AGGREGATED_LENGTH && data[0] === KPL_MAGIC[0] && data[1] === KPL_MAGIC[1] && data[2] === KPL_MAGIC[2] && data[3] === KPL_MAGIC[3]
  );
}

/**
 * Splits a KPL-aggregated record into its user records, numbered by subSequenceNumber, as the KCL
 * does. A plain record comes back as it is, without a copy. A record with the magic number whose
 * checksum or protobuf is bad is delivered whole rather than dropped, and reported.
 */
export function deaggregate(record: KinesisRecord, onCorrupt: (record: KinesisRecord, error: Error) => void): KinesisRecord[] {
  if (!isAggregated(record.data)) return [record];
  let users: UserRecord[] | undefined;
  let failure: Error | null = null;
  agg.deaggregateSync(
    { data: record.data.toString('base64'), partitionKey: record.partitionKey, sequenceNumber: record.sequenceNumber },
    true,
    (error, records) => {
      failure = error;
      users = records;
    },
  );
  if (failure || !users) {
    onCorrupt(record, failure ?? new Error('no user records'));
    return [record];
  }
  return users.map((user) => ({
    data: Buffer.from(user.data, 'base64'),
    partitionKey: user.partitionKey,
    sequenceNumber: record.sequenceNumber,
    subSequenceNumber: user.subSequenceNumber,
    explicitHashKey: user.explicitPartitionKey,
    approximateArrivalTimestamp: record.approximateArrivalTimestamp,
  }));
}
