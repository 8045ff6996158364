import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';

/**
 * The baseline: what a developer writes by hand with the SDK. One GetShardIterator and a GetRecords
 * loop per shard, same client and maxRecords, waiting idleMs when a shard is caught up.
 */
export async function bareLoop(
  kinesis: KinesisClient,
  streamName: string,
  options: { maxRecords: number; idleMs: number; onRecords: (records: { Data?: Uint8Array }[]) => void; until: () => boolean },
): Promise<void> {
  const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: streamName }));
  await Promise.all(
    (Shards ?? []).map(async (shard) => {
      let { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({ StreamName: streamName, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      while (ShardIterator && !options.until()) {
        const out = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: options.maxRecords }));
        const records = out.Records ?? [];
        if (records.length > 0) options.onRecords(records);
        ShardIterator = out.NextShardIterator;
        if (records.length === 0 || out.MillisBehindLatest === 0) await new Promise((resolve) => setTimeout(resolve, options.idleMs));
      }
    }),
  );
}
