import type { Lease } from '../../../leases/lease';
import type { LeaseTable } from '../../../leases/lease-table';
import { clearCheckpointOwner, readKcl3Lease, renewKcl3Lease } from '../../../leases/kcl3-tables';
import { monotonicNow, type MonotonicClock } from '../leases/clock';
import { HeldLease, RELEASED } from '../leases/held-lease';
import { ThroughputMeter } from './throughput-meter';

/**
 * A lease held in KCL 3.x mode, assigned by the leader. It differs from a 2.x lease in three ways:
 * - each renewal also writes throughputKBps, the owner's read rate, which the leader balances by;
 * - a renewal refused because the leader handed the lease to another worker with checkpointOwner = us
 *   (a graceful hand-over) does not lose the lease: it is kept, the hand-over listeners are told (the
 *   worker shuts the processor down as a requested shutdown, which may checkpoint), and renewals go on
 *   under the condition checkpointOwner = us;
 * - giving it up during a hand-over clears checkpointOwner (the new owner may start) instead of
 *   removing leaseOwner, which is the new owner's now.
 * A lease reassigned without hand-over is lost as in 2.x: the processor gets ZOMBIE.
 * A single-stream lease the 2.x taker takes is held as this class too: after the fleet flips to 3.x,
 * the leader may hand it over like any other (the Java KCL keeps its held leases across the flip).
 */
export class Kcl3HeldLease extends HeldLease {
  private readonly throughput = new ThroughputMeter();
  private handoffTarget: string | undefined;
  private readonly handoffListeners = new Set<(newOwner: string) => void>();

  constructor(
    lease: Lease,
    private readonly leaseTable: LeaseTable,
    private readonly workerId: string,
    failoverTimeMs: number,
    clock: MonotonicClock = monotonicNow,
    heldSince: number = clock(),
    /**
     * Whether renewals write throughputKBps: under the 3.x rules (what the leader balances by). A lease
     * taken under the 2.x rules is held as this class too (it may be handed over after a flip to 3.x),
     * and its rows stay exactly 2.x until then.
     */
    private readonly writesThroughput: () => boolean = () => true,
  ) {
    super(lease, leaseTable, failoverTimeMs, clock, heldSince);
  }

  /** The worker the leader handed this lease to, while the hand-over runs. */
  get handingOverTo(): string | undefined {
    return this.handoffTarget;
  }

  override noteBytesRead(bytes: number): void {
    this.throughput.add(bytes);
  }

  onHandoff(listener: (newOwner: string) => void): void {
    if (this.handoffTarget !== undefined) listener(this.handoffTarget);
    else this.handoffListeners.add(listener);
  }

  override renew(): Promise<Lease> {
    return this.update(
      async (lease) => {
        const left = this.msUntilExpiry();
        if (left <= 0) throw new Error(`not renewed within failoverTimeMs (${this.failoverTimeMs} ms)`);
        const { client, tableName } = this.leaseTable;
        const holder = { workerId: this.workerId, handingOver: this.handoffTarget !== undefined };
        // Read at every renewal, so that the first 3.x renewal after a flip reports the last interval only.
        const kbps = this.throughput.takeKBps();
        const renewed = await renewKcl3Lease(
          client,
          tableName,
          lease,
          holder,
          this.writesThroughput() ? kbps : undefined,
          AbortSignal.timeout(Math.ceil(left)),
        );
        return renewed ? { ...lease, leaseCounter: lease.leaseCounter + 1 } : undefined;
      },
      'renewal',
      () => true,
    );
  }

  /**
   * Every write (renewal, checkpoint, child shards) may be the first to meet the leader's hand-over,
   * which moved the counter: a refused write reads the row, and when it shows a hand-over away from us
   * (leaseOwner = another worker, checkpointOwner = us) the hand-over starts and the write is made again
   * on the row as it is now. Otherwise the refusal stands: the lease was reassigned, and is lost.
   */
  override update(
    write: (lease: Lease) => Promise<Lease | undefined>,
    what: string,
    showsOurWrite: (fresh: Lease) => boolean,
  ): Promise<Lease> {
    return super.update(
      async (lease) => {
        const written = await write(lease);
        if (written || this.handoffTarget !== undefined) return written;
        const row = await readKcl3Lease(
          this.leaseTable.client,
          this.leaseTable.tableName,
          lease.leaseKey,
          AbortSignal.timeout(this.failoverTimeMs),
        );
        const newOwner = row?.lease.leaseOwner;
        if (!row || row.checkpointOwner !== this.workerId || newOwner === undefined || newOwner === this.workerId) return undefined;
        this.startHandoff(newOwner);
        return write(row.lease);
      },
      what,
      showsOurWrite,
    );
  }

  /**
   * During a hand-over our writes keep checkpointOwner = us (the row's leaseOwner is the new owner's): a
   * row without it is the new owner's (its take-over after gracefulLeaseHandoffTimeoutMs, or the leader's
   * completing assignment), even when the counter moved by one. Outside a hand-over, the owner must be us.
   */
  protected override isOurWrite(before: Lease, fresh: Lease): boolean {
    if (this.handoffTarget === undefined) return fresh.checkpointOwner === undefined && super.isOurWrite(before, fresh);
    return (
      fresh.checkpointOwner === this.workerId &&
      fresh.leaseOwner === before.leaseOwner &&
      fresh.leaseOwner !== this.workerId &&
      fresh.leaseCounter === before.leaseCounter + 1
    );
  }

  override async release(): Promise<void> {
    if (this.handoffTarget === undefined) return super.release();
    await this.update(
      async (lease) => ((await this.clearCheckpointOwner(lease)) ? { ...lease, leaseCounter: lease.leaseCounter + 1 } : undefined),
      'hand-over',
      () => false,
    ).catch(() => undefined);
    this.markLost(RELEASED);
  }

  /**
   * A release refused because leaseOwner is no longer us may be a hand-over this worker has not met yet
   * (the leader wrote it since the last renewal, e.g. just before a graceful stop): then checkpointOwner
   * is us, and left there it would keep the new owner waiting for gracefulLeaseHandoffTimeoutMs. The leader's
   * hand-over write leaves the counter as we last wrote it: a row with another counter is not that hand-over.
   */
  protected override async evict(lease: Lease): Promise<void> {
    if (await this.leaseTable.evictLease(lease)) return;
    const { client, tableName } = this.leaseTable;
    const row = await readKcl3Lease(client, tableName, lease.leaseKey, AbortSignal.timeout(this.failoverTimeMs));
    if (!row || row.checkpointOwner !== this.workerId || row.lease.leaseCounter !== lease.leaseCounter) return;
    await this.clearCheckpointOwner(row.lease);
  }

  override async abandon(): Promise<void> {
    if (this.handoffTarget === undefined) return super.abandon();
    if (this.lost) return;
    this.markLost(RELEASED);
    await this.clearCheckpointOwner(this.lease);
  }

  /**
   * Ends the hand-over recorded in `handover` (the row as we last saw it), and only that one; cut off after
   * failoverTimeMs, so that a hung write never holds the hand-over or the worker's stop (the new owner then
   * starts after gracefulLeaseHandoffTimeoutMs).
   */
  private clearCheckpointOwner(handover: Lease): Promise<boolean> {
    const { client, tableName } = this.leaseTable;
    return clearCheckpointOwner(client, tableName, handover, this.workerId, AbortSignal.timeout(this.failoverTimeMs));
  }

  private startHandoff(newOwner: string): void {
    this.handoffTarget = newOwner;
    // After the renewal that found it has been accepted: listeners see the lease as the table has it.
    queueMicrotask(() => {
      for (const listener of this.handoffListeners) listener(newOwner);
      this.handoffListeners.clear();
    });
  }
}
