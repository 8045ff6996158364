import { PutRecordCommand, type KinesisClient } from '@aws-sdk/client-kinesis';

/** `count` records named `${prefix}-${i}`, spread over the shards by their partition keys. */
export function records(prefix: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({ partitionKey: `customer-${i % 13}-${i}`, data: `${prefix}-${i}` }));
}

/** What each shard holds, in put order, from the producer's own PutRecords results. */
export function expectedByShard(puts: { shardId: string; data: Buffer }[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const put of puts) map.set(put.shardId, [...(map.get(put.shardId) ?? []), put.data.toString()]);
  return map;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const agg = require('aws-kinesis-agg') as {
  aggregate(
    records: { partitionKey: string; data: Buffer }[],
    onEncoded: (encoded: { partitionKey: string; data: Buffer }, done: (error?: Error) => void) => void,
    afterAll: () => void,
    onError: (error: Error) => void,
  ): void;
};

/** Puts `count` user records as one KPL-aggregated record, encoded by the KPL format's reference library. */
export async function putAggregated(kinesis: KinesisClient, stream: string, prefix: string, count: number): Promise<string> {
  const users = Array.from({ length: count }, (_, i) => ({ partitionKey: 'customer-1', data: Buffer.from(`${prefix}-${i}`) }));
  const encoded: { partitionKey: string; data: Buffer }[] = [];
  await new Promise<void>((resolve, reject) => agg.aggregate(users, (record, done) => (encoded.push(record), done()), resolve, reject));
  if (encoded.length !== 1) throw new Error(`expected one aggregated record, got ${encoded.length}`);
  const out = await kinesis.send(
    new PutRecordCommand({ StreamName: stream, PartitionKey: encoded[0].partitionKey, Data: encoded[0].data }),
  );
  return out.SequenceNumber!;
}
