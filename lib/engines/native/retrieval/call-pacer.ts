import { performance } from 'node:perf_hooks';
import { pause } from '../../../core/retry';

/** How far throttling may stretch the interval: at 5 calls/s, down to one call every 2 s at most. */
const MAX_STRETCH = 10;
/** Each ProvisionedThroughputExceededException doubles the stretch ... */
const STRETCH_ON_THROTTLE = 2;
/** ... and the stretch halves every this many ms without one: back to the configured rate in ~3 s. */
const STRETCH_HALF_LIFE_MS = 1_000;

/** Where the pacer reads the time and waits: the real clock and timers, or a test's fake ones. */
export interface PacerClock {
  /** The time now, in milliseconds (CallPacer uses performance.now: it only moves forward). */
  now(): number;
  /** Waits ms, or less when the signal aborts; false when aborted (see pause). */
  pause(ms: number, signal?: AbortSignal): Promise<boolean>;
}

const realClock: PacerClock = { now: () => performance.now(), pause };

/**
 * Spaces the calls of one kind on one shard: Kinesis allows 5 GetRecords (and 5 GetShardIterator) per
 * second per shard, shared by every application reading the stream. Every HTTP attempt goes through
 * it, the SDK's own retries included (see pacedBy), so a shard that is behind, or throttled, never
 * calls faster than the limit.
 *
 * The interval is counted from the moment the previous call was answered, not from when it was sent.
 * Kinesis counts a call when the call reaches it; calls sent exactly 1/limit apart reach it with the
 * network's and the event loop's jitter, and now and then six of them land in one second (throttled).
 * A call sent one interval after the previous answer reaches Kinesis more than one interval after
 * Kinesis answered the previous one, whatever the jitter: five calls can never share a second with a
 * sixth. The cost is one round trip per interval (at 5/s with a 20-40 ms round trip, 4.4-4.6 calls a
 * second), which costs no bytes: a call returns everything the shard holds up to 10 MB, and the shard's
 * 2 MB/s, not the call count, bounds what a reader gets.
 *
 * ProvisionedThroughputExceededException stretches the interval (doubling, bounded), and the stretch
 * fades with time. When another application takes part of the shard's 5 calls per second, the reader
 * settles near what is left (a throttle now and then keeps it stretched just enough) instead of
 * alternating between full speed and long backoffs; once the throttling stops, it is back at full rate
 * within seconds, whatever its call count.
 */
export class CallPacer {
  private nextAt = 0;
  private readonly floorMs: number;
  private stretch = 1;
  private stretchedAt = 0;

  constructor(
    callsPerSecond: number,
    private readonly clock: PacerClock = realClock,
  ) {
    this.floorMs = 1000 / callsPerSecond;
  }

  /** The present spacing between an answer and the next call. */
  get intervalMs(): number {
    return this.floorMs * this.currentStretch();
  }

  /** How long from now until the next turn may be granted (0: at once). */
  get waitMs(): number {
    return Math.max(0, this.nextAt - this.clock.now());
  }

  /**
   * One caller at a time (a shard's reader sends one call of a kind at a time).
   * Resolves when the next call may be sent (false when the signal aborted the wait). A granted turn
   * alone already holds the next one back by an interval (a call that never reports its answer, such
   * as one aborted before it was sent, still counts); answered() then moves the next turn to an
   * interval after the answer. A turn granted late (a busy event loop) never lets the following one
   * come sooner.
   */
  async turn(signal?: AbortSignal): Promise<boolean> {
    const wait = this.waitMs;
    // Timers count whole ms from the event loop's cached clock and may fire up to a ms early: round up.
    if (wait > 0 && !(await this.clock.pause(Math.ceil(wait) + 1, signal))) return false;
    this.nextAt = this.clock.now() + this.intervalMs;
    return !signal?.aborted;
  }

  /** The call granted last was answered (successfully or not): the next one waits an interval from now. */
  answered(): void {
    this.nextAt = Math.max(this.nextAt, this.clock.now() + this.intervalMs);
  }

  /** The service said ProvisionedThroughputExceeded: space the calls further apart, from now on. */
  throttled(): void {
    this.stretch = Math.min(MAX_STRETCH, this.currentStretch() * STRETCH_ON_THROTTLE);
    this.stretchedAt = this.clock.now();
    this.nextAt = Math.max(this.nextAt, this.clock.now() + this.intervalMs);
  }

  private currentStretch(): number {
    if (this.stretch === 1) return 1;
    const faded = this.stretch * 0.5 ** ((this.clock.now() - this.stretchedAt) / STRETCH_HALF_LIFE_MS);
    return faded <= 1.01 ? 1 : faded;
  }
}
