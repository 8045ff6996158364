import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  type Shard,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { pause } from '../../lib/core/retry';

export interface BareLoopOptions {
  readonly maxRecords: number;
  /** Wait before reading again a shard that is caught up. */
  readonly idleMs: number;
  /** At least this long between two GetRecords on one shard (200: Kinesis' 5 calls per second). Default 0. */
  readonly minIntervalMs?: number;
  /**
   * Where minIntervalMs counts from: the previous call's send (the loop as most write it with a timer)
   * or its answer (the engine's rule, see CallPacer). Default 'send'.
   */
  readonly spaceFrom?: 'send' | 'answer';
  /** Start AT_TIMESTAMP here; default TRIM_HORIZON. */
  readonly startAt?: Date;
  /** May return a promise (a checkpoint): the shard's next GetRecords waits for it. */
  readonly onRecords: (records: _Record[], shardId: string, millisBehindLatest: number | undefined) => void | Promise<void>;
  readonly until: () => boolean;
}

/** How long the hand-written loop waits after a throttled call (the SDK's own retries are spent by then). */
const THROTTLED_WAIT_MS = 1000;

/**
 * Errors a hand-written loop waits out with the same iterator: throttling, and a connection reset or
 * timeout, which the SDK no longer retries once its retry quota is spent (sustained throttling spends it).
 */
function isTransient(error: unknown): boolean {
  const { name, code } = error as { name?: string; code?: string };
  return name === 'ProvisionedThroughputExceededException' || name === 'TimeoutError' || code === 'ECONNRESET' || code === 'EPIPE';
}

/**
 * The baseline: what a developer writes by hand with the SDK. One GetShardIterator and a GetRecords
 * loop per shard, same client and maxRecords, waiting idleMs when a shard is caught up; against a
 * rate-limited endpoint it keeps to minIntervalMs and waits a second when throttled.
 */
export async function bareLoop(kinesis: KinesisClient, streamName: string, options: BareLoopOptions): Promise<void> {
  const shards: Shard[] = [];
  let NextToken: string | undefined;
  do {
    const page = await kinesis.send(new ListShardsCommand(NextToken ? { NextToken } : { StreamName: streamName }));
    shards.push(...(page.Shards ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  await Promise.all(shards.map((shard) => readShard(kinesis, streamName, shard.ShardId!, options)));
}

async function readShard(kinesis: KinesisClient, streamName: string, shardId: string, options: BareLoopOptions): Promise<void> {
  const start: GetShardIteratorCommandInput = options.startAt
    ? { StreamName: streamName, ShardId: shardId, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: options.startAt }
    : { StreamName: streamName, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' };
  let { ShardIterator } = await kinesis.send(new GetShardIteratorCommand(start));
  let lastCallAt = 0;
  while (ShardIterator && !options.until()) {
    const wait = lastCallAt + (options.minIntervalMs ?? 0) - performance.now();
    if (wait > 0) await pause(wait);
    lastCallAt = performance.now();
    let out;
    try {
      out = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: options.maxRecords }));
      if (options.spaceFrom === 'answer') lastCallAt = performance.now();
    } catch (error) {
      if (!isTransient(error)) throw error;
      await pause(THROTTLED_WAIT_MS);
      continue;
    }
    const records = out.Records ?? [];
    if (records.length > 0) await options.onRecords(records, shardId, out.MillisBehindLatest);
    ShardIterator = out.NextShardIterator;
    if (records.length === 0 || out.MillisBehindLatest === 0) await pause(options.idleMs);
  }
}
