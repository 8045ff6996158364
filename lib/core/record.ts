/** One Kinesis record as a processor receives it. */
export interface KinesisRecord {
  /** The payload, as sent by the producer (already de-aggregated for KPL records). */
  readonly data: Buffer;
  readonly partitionKey: string;
  /** A 56-digit decimal string. Compare sequence numbers as BigInt, never as numbers. */
  readonly sequenceNumber: string;
  /** Position inside a KPL-aggregated record; absent for plain records. */
  readonly subSequenceNumber?: number;
  readonly approximateArrivalTimestamp: Date;
  readonly explicitHashKey?: string;
}

/** A position in a shard: what a checkpoint stores. */
export interface ExtendedSequenceNumber {
  /** A sequence number, or a sentinel: TRIM_HORIZON, LATEST, AT_TIMESTAMP, SHARD_END. */
  readonly sequenceNumber: string;
  readonly subSequenceNumber: number;
}

export const SENTINELS = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP', 'SHARD_END'] as const;
export type Sentinel = (typeof SENTINELS)[number];

export function isSentinel(value: string): value is Sentinel {
  return (SENTINELS as readonly string[]).includes(value);
}
