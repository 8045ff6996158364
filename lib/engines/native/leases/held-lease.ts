import { LeaseLostError } from '../../../core/errors';
import type { LeaseFencingToken } from '../../../core/processor';
import type { Lease } from '../../../leases/lease';
import type { LeaseTable } from '../../../leases/lease-table';
import { monotonicNow, type MonotonicClock } from './clock';

/** How long after its lease's expiry a hung renewal is aborted (see renew()). */
const ABORT_AFTER_EXPIRY_MS = 5;

/** The lost-reason of a lease given up on purpose. */
export const RELEASED = 'released';

/**
 * A lease this worker holds. Every write that bumps leaseCounter (renewal, checkpoint, child shards,
 * eviction) goes through update(), one at a time: renewal and checkpoint must never race on the
 * counter (the KCL's bugs 537 and 677).
 */
export class HeldLease {
  private current: Lease;
  /** The worker holding this lease: its owner when it was taken (the taker's write, or the leader's assignment). */
  private readonly holder: string | undefined;
  /** Wall-clock time of the take: what a LATEST start means for this lease (Kinesis' timestamps are wall-clock). */
  readonly takenAt = new Date();
  /**
   * leaseCounter as the take left it. Renewals and checkpoints bump the counter during the hold, so only a
   * value fixed here is one token for the whole hold; every later hold (by any worker) starts above it.
   */
  private readonly counterAtTake: number;
  private lastRenewedAt: number;
  private lostReason: string | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly lostListeners = new Set<(reason: string) => void>();

  /**
   * @param heldSince when the request that took the lease was SENT, on `clock`: the lease is proven
   * ours as of then, not as of when the answer arrived. Default: now.
   */
  constructor(
    lease: Lease,
    private readonly table: LeaseTable,
    protected readonly failoverTimeMs: number,
    private readonly clock: MonotonicClock = monotonicNow,
    heldSince: number = clock(),
  ) {
    this.current = lease;
    this.holder = lease.leaseOwner;
    this.counterAtTake = lease.leaseCounter;
    this.lastRenewedAt = heldSince;
    this.armExpiry();
  }

  get leaseKey(): string {
    return this.current.leaseKey;
  }

  get lease(): Lease {
    return this.current;
  }

  /** The fencing token of this hold, for both processor contracts (docs/concurrency.md, Fencing). */
  fencingToken(workerId: string): LeaseFencingToken {
    return { leaseKey: this.leaseKey, owner: this.holder ?? workerId, counter: this.counterAtTake };
  }

  /** Told the bytes read from the shard; a KCL 3.x lease (kcl3/kcl3-held-lease.ts) reports them as throughputKBps. */
  noteBytesRead(_bytes: number): void {}

  /** Checked against the clock as well, so that a late timer never lets a batch start past the hold. */
  get lost(): boolean {
    if (this.lostReason === undefined && !this.isHeld()) this.markLost(`not renewed within failoverTimeMs (${this.failoverTimeMs} ms)`);
    return this.lostReason !== undefined;
  }

  /** Held means: not known lost, and proven ours within the last failoverTimeMs. */
  isHeld(now = this.clock()): boolean {
    return this.lostReason === undefined && now - this.lastRenewedAt < this.failoverTimeMs;
  }

  onLost(listener: (reason: string) => void): void {
    if (this.lostReason !== undefined) listener(this.lostReason);
    else this.lostListeners.add(listener);
  }

  markLost(reason: string): void {
    if (this.lostReason !== undefined) return;
    clearTimeout(this.expiryTimer);
    this.lostReason = reason;
    for (const listener of this.lostListeners) listener(reason);
    this.lostListeners.clear();
  }

  /** Milliseconds left before this lease counts as expired for every other worker. */
  msUntilExpiry(now = this.clock()): number {
    return this.lastRenewedAt + this.failoverTimeMs - now;
  }

  /**
   * One renewal. Its request is aborted when the lease would expire anyway: a half-open connection
   * must not keep the renewal (and the writes queued behind it) waiting past failoverTimeMs. The abort
   * comes a few ms after the expiry: a timer can fire a little before the monotonic clock reaches its
   * time, and the renewer must then find the lease expired (not retry a renewal of a lease it lost).
   */
  renew(): Promise<Lease> {
    return this.update(
      (lease) => {
        const left = this.msUntilExpiry();
        if (left <= 0) return Promise.reject(new Error(`not renewed within failoverTimeMs (${this.failoverTimeMs} ms)`));
        return this.table.renewLease(lease, AbortSignal.timeout(Math.ceil(left) + ABORT_AFTER_EXPIRY_MS));
      },
      'renewal',
      () => true,
    );
  }

  /**
   * Runs one conditional write on the current lease, after any write in flight.
   * A failed condition may hide our own earlier attempt that timed out and was retried by the SDK;
   * the lease is re-read and accepted when it shows exactly our write (isOurWrite: owner = us, counter + 1,
   * and what the write wrote).
   */
  update(write: (lease: Lease) => Promise<Lease | undefined>, what: string, showsOurWrite: (fresh: Lease) => boolean): Promise<Lease> {
    const run = async (): Promise<Lease> => {
      if (this.lostReason !== undefined) throw new LeaseLostError(this.leaseKey, this.lostReason);
      const before = this.current;
      // The lease is proven ours as of when the write was sent, not when the answer came back.
      const sentAt = this.clock();
      const written = await write(before);
      if (written) return this.accept(written, sentAt);
      const fresh = await this.table.getLease(before.leaseKey);
      if (fresh && this.isOurWrite(before, fresh) && showsOurWrite(fresh)) {
        return this.accept(fresh, sentAt);
      }
      const reason = fresh
        ? `${what} found leaseOwner=${fresh.leaseOwner ?? '(none)'} leaseCounter=${fresh.leaseCounter}, expected ${before.leaseOwner}/${before.leaseCounter}`
        : `${what} found the lease deleted`;
      this.markLost(reason);
      throw new LeaseLostError(this.leaseKey, reason);
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Whether `fresh` can only be the row our own write made of `before`: the counter moved by exactly one,
   * and the owner is still this worker (the one that took the lease). A row that names another owner is
   * never ours, whatever its counter: a KCL 3.x new owner's write after a hand-over moves the counter by
   * one too, and taking it for our own would make two writers of one lease.
   */
  protected isOurWrite(before: Lease, fresh: Lease): boolean {
    return (
      this.holder !== undefined &&
      before.leaseOwner === this.holder &&
      fresh.leaseOwner === this.holder &&
      fresh.leaseCounter === before.leaseCounter + 1
    );
  }

  /** Gives the lease up so another worker can take it at once. */
  async release(): Promise<void> {
    const run = async () => {
      if (this.lostReason !== undefined) return;
      this.markLost(RELEASED);
      await this.evict(this.current);
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Gives the lease up at once, without waiting behind a write in flight (which may be what hangs):
   * for a stop() that ran out of time. The eviction's condition is only that we still own it.
   */
  async abandon(): Promise<void> {
    if (this.lostReason !== undefined) return;
    this.markLost(RELEASED);
    await this.evict(this.current);
  }

  /** The release's write: REMOVE leaseOwner on condition that we still own it. */
  protected async evict(lease: Lease): Promise<void> {
    await this.table.evictLease(lease);
  }

  private accept(lease: Lease, sentAt: number): Lease {
    this.current = lease;
    this.lastRenewedAt = sentAt;
    this.armExpiry();
    return lease;
  }

  /**
   * The lease is lost the moment its hold runs out, not when the renewer next looks: a consumer that
   * waits on `lost` (or on onLost) must not start another batch after another worker may have taken over.
   */
  private armExpiry(): void {
    clearTimeout(this.expiryTimer);
    if (this.lostReason !== undefined) return;
    this.expiryTimer = setTimeout(
      () => {
        if (this.isHeld()) this.armExpiry();
        else this.markLost(`not renewed within failoverTimeMs (${this.failoverTimeMs} ms)`);
      },
      Math.max(0, Math.ceil(this.msUntilExpiry())),
    );
    this.expiryTimer.unref();
  }
}
