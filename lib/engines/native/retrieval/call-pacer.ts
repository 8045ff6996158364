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

  /**
   * Resolves when the next call may be sent (false when the signal aborted the wait). The next turn
   * is counted from when this one is granted, not from when it was due: a turn granted late (a busy
   * event loop) never lets the following one come sooner than the interval.
   */
  async turn(signal?: AbortSignal): Promise<boolean> {
    const wait = this.nextAt - performance.now();
    if (wait > 0 && !(await pause(wait, signal))) return false;
    this.nextAt = performance.now() + this.intervalMs;
    return !signal?.aborted;
  }
}
