/**
 * What one shard may hold of a worker-wide bound shared by `shards` shards: the bound divided evenly,
 * rounded down, and at least 1. Rounded down so that the shares add up to no more than the bound
 * (shards × floor(bound / shards) <= bound): a shard under its share then always fits once every other
 * shard is within its own. At least 1 so that every shard can make progress; with more shards than
 * the bound, the shares exceed it and a shard may have to wait for one record of another to finish.
 */
export function fairShare(bound: number, shards: number): number {
  if (!Number.isFinite(bound)) return bound;
  return Math.max(1, Math.floor(bound / Math.max(1, shards)));
}
