import { fairShare } from './fair-share';

/** One shard's part of the budget: what it holds now (from InFlightBudget.join). */
export interface BudgetHolder {
  records: number;
  bytes: number;
}

interface Waiter {
  readonly bytes: number;
  readonly holder?: BudgetHolder;
  readonly grant: (granted: boolean) => void;
  readonly signal?: AbortSignal;
  onAbort?: () => void;
}

/**
 * The bound on records read but not finished, across every shard of one worker: a shard's loop asks for
 * room before it hands a record on, and stops reading while there is none, so a slow handler slows the
 * reading instead of letting records pile up. Records and bytes are both bounded; a record larger than
 * the byte bound is let in alone (when nothing else is in flight) so that it cannot block its shard for
 * ever.
 *
 * Fairness: the records a shard holds include those waiting for their partition key, so one shard with
 * a blocked key could fill the whole budget while another shard sits idle. Each shard that joined
 * therefore holds at most its fair share (fair-share.ts: the bounds divided by the shards that joined)
 * unless it holds nothing, and the shares add up to no more than the bounds: a shard under its share
 * always finds room once the others are within theirs. Among the shards allowed to ask, waiters are
 * served first come, first served (a small record does not overtake a waiting big one); a shard at its
 * share waits for its own records to finish, without holding up the others.
 */
export class InFlightBudget {
  private records = 0;
  private bytes = 0;
  private readonly waiters: Waiter[] = [];
  private readonly holders = new Set<BudgetHolder>();

  constructor(
    readonly maxRecords: number,
    readonly maxBytes: number,
  ) {}

  get recordsInFlight(): number {
    return this.records;
  }

  get bytesInFlight(): number {
    return this.bytes;
  }

  /** Shards that joined and did not leave: what the shares are divided by. */
  get shards(): number {
    return this.holders.size;
  }

  /** A shard starts taking part: the others' shares shrink (they take nothing more until under theirs). */
  join(): BudgetHolder {
    const holder: BudgetHolder = { records: 0, bytes: 0 };
    this.holders.add(holder);
    return holder;
  }

  /** A shard stops taking part (its records still running are released as they finish): the others' shares grow. */
  leave(holder: BudgetHolder): void {
    if (this.holders.delete(holder)) this.serve();
  }

  /**
   * Resolves true once the record is let in (count it back with release, with the same holder), false when
   * the signal aborted first. Without a holder only the worker-wide bounds apply.
   */
  acquire(bytes: number, signal?: AbortSignal, holder?: BudgetHolder): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = { bytes, holder, grant: resolve, signal };
      this.waiters.push(waiter);
      this.serve();
      if (!signal || !this.waiters.includes(waiter)) return;
      waiter.onAbort = () => {
        const at = this.waiters.indexOf(waiter);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve(false);
        // The first waiter may have been the one that did not fit: the next may now.
        this.serve();
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    });
  }

  release(bytes: number, holder?: BudgetHolder): void {
    this.records -= 1;
    this.bytes -= bytes;
    if (holder) {
      holder.records -= 1;
      holder.bytes -= bytes;
    }
    this.serve();
  }

  /** Within the shard's fair share; a shard holding nothing may always ask (its share is at least one record). */
  private withinShare(bytes: number, holder: BudgetHolder | undefined): boolean {
    if (!holder || holder.records === 0) return true;
    const shards = Math.max(1, this.holders.size);
    return holder.records + 1 <= fairShare(this.maxRecords, shards) && holder.bytes + bytes <= fairShare(this.maxBytes, shards);
  }

  private fits(bytes: number): boolean {
    if (this.records === 0) return true;
    return this.records + 1 <= this.maxRecords && this.bytes + bytes <= this.maxBytes;
  }

  private take(waiter: Waiter): void {
    this.records += 1;
    this.bytes += waiter.bytes;
    if (waiter.holder) {
      waiter.holder.records += 1;
      waiter.holder.bytes += waiter.bytes;
    }
  }

  /** First come, first served among the waiters within their share; one that does not fit holds up those behind it. */
  private serve(): void {
    for (let at = 0; at < this.waiters.length;) {
      const waiter = this.waiters[at];
      if (!this.withinShare(waiter.bytes, waiter.holder)) {
        at++;
        continue;
      }
      if (!this.fits(waiter.bytes)) return;
      this.waiters.splice(at, 1);
      if (waiter.onAbort) waiter.signal!.removeEventListener('abort', waiter.onAbort);
      this.take(waiter);
      waiter.grant(true);
    }
  }
}
