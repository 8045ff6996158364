import { ListShardsCommand, MergeShardsCommand, SplitShardCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';
import { waitForStreamActive } from '../../lib/testing';

export async function listShards(kinesis: KinesisClient, stream: string): Promise<Shard[]> {
  return (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
}

/** Splits a shard at the middle of its hash key range and waits until the stream is ACTIVE again. */
export async function splitShard(kinesis: KinesisClient, stream: string, shardId: string): Promise<void> {
  const shard = (await listShards(kinesis, stream)).find((s) => s.ShardId === shardId)!;
  const start = BigInt(shard.HashKeyRange!.StartingHashKey!);
  const end = BigInt(shard.HashKeyRange!.EndingHashKey!);
  await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: shardId, NewStartingHashKey: String((start + end) / 2n) }));
  await waitForStreamActive(kinesis, stream);
}

export async function mergeShards(kinesis: KinesisClient, stream: string, shardId: string, adjacentShardId: string): Promise<void> {
  await kinesis.send(new MergeShardsCommand({ StreamName: stream, ShardToMerge: shardId, AdjacentShardToMerge: adjacentShardId }));
  await waitForStreamActive(kinesis, stream);
}

export async function updateShardCount(kinesis: KinesisClient, stream: string, target: number): Promise<void> {
  const { UpdateShardCountCommand } = await import('@aws-sdk/client-kinesis');
  await kinesis.send(new UpdateShardCountCommand({ StreamName: stream, TargetShardCount: target, ScalingType: 'UNIFORM_SCALING' }));
  await waitForStreamActive(kinesis, stream);
}
