import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { otherEntityType } from '../../lib/leases/entity-rows';
import { scanRaw } from './aws';

export interface RawLease {
  shardId: string;
  owner?: string;
  counter: number;
  checkpoint?: string;
  parents: string[];
}

/** The leases of the lease table as raw rows (KCL 3.5 entity rows left out); empty while the first worker has not created it yet. */
export async function readLeases(dynamo: DynamoDBClient, table: string): Promise<RawLease[]> {
  const items = await scanRaw(dynamo, table).catch((error) => {
    if (error.name === 'ResourceNotFoundException') return [];
    throw error;
  });
  return items
    .filter((item) => otherEntityType(item) === undefined)
    .map((item) => ({
      shardId: item.leaseKey.S!,
      owner: item.leaseOwner?.S,
      counter: Number(item.leaseCounter.N),
      checkpoint: item.checkpoint?.S,
      parents: item.parentShardId?.SS ?? [],
    }));
}

/** Leases per owner among unfinished leases, sorted ascending: [2, 3, 3]. */
export function ownerCounts(leases: RawLease[]): { counts: number[]; byOwner: Map<string, number>; unowned: number } {
  const byOwner = new Map<string, number>();
  let unowned = 0;
  for (const lease of leases) {
    if (lease.checkpoint === 'SHARD_END') continue;
    if (!lease.owner) unowned++;
    else byOwner.set(lease.owner, (byOwner.get(lease.owner) ?? 0) + 1);
  }
  return { counts: [...byOwner.values()].sort((a, b) => a - b), byOwner, unowned };
}
