import { performance } from 'node:perf_hooks';
import { pause } from '../../../core/retry';

/**
 * Spaces the calls of one kind on one shard: Kinesis allows 5 GetRecords (and 5 GetShardIterator) per
 * second per shard, shared by every application reading the stream. Retries go through the same gate,
 * so a shard that is behind, or throttled, never calls faster than the limit.
 */
export class CallPacer {
  private nextAt = 0;
  private readonly intervalMs: number;

  constructor(callsPerSecond: number) {
    this.intervalMs = 1000 / callsPerSecond;
  }

  /** Resolves when the next call may be sent (false when the signal aborted the wait). */
  async turn(signal?: AbortSignal): Promise<boolean> {
    const now = performance.now();
    const at = Math.max(now, this.nextAt);
    this.nextAt = at + this.intervalMs;
    return at > now ? pause(at - now, signal) : !signal?.aborted;
  }
}
