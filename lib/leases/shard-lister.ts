import { ListShardsCommand, type KinesisClient, type Shard } from '@aws-sdk/client-kinesis';

/** A shard that a closed shard's records continue in (one for a split, one shared by two for a merge). */
export interface ChildShard {
  readonly shardId: string;
  readonly parentShardIds: readonly string[];
  readonly hashKeyRange?: { readonly startingHashKey: string; readonly endingHashKey: string };
}

/** Every shard of the stream still within retention, open and closed. */
export async function listAllShards(kinesis: KinesisClient, streamName: string): Promise<Shard[]> {
  const shards: Shard[] = [];
  let NextToken: string | undefined;
  do {
    const page = await kinesis.send(new ListShardsCommand(NextToken ? { NextToken } : { StreamName: streamName }));
    shards.push(...(page.Shards ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return shards;
}

export function parentsOf(shard: Shard): string[] {
  return [shard.ParentShardId, shard.AdjacentParentShardId].filter((id): id is string => !!id);
}

export function toChildShard(shard: Shard): ChildShard {
  return {
    shardId: shard.ShardId!,
    parentShardIds: parentsOf(shard),
    hashKeyRange: shard.HashKeyRange
      ? { startingHashKey: shard.HashKeyRange.StartingHashKey!, endingHashKey: shard.HashKeyRange.EndingHashKey! }
      : undefined,
  };
}

export async function findChildShards(kinesis: KinesisClient, streamName: string, shardId: string): Promise<ChildShard[]> {
  const shards = await listAllShards(kinesis, streamName);
  return shards.filter((shard) => parentsOf(shard).includes(shardId)).map(toChildShard);
}
