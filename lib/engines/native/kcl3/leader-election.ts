import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeError } from '../../../core/aws-errors';
import type { WorkerLogger } from '../../../core/logger';
import type { Kcl3Table } from '../../../leases/kcl3-layout';
import {
  acquireLeaderLock,
  heartbeatLeaderLock,
  readLeaderLockItem,
  releaseLeaderLock,
  type LeaderLockItem,
} from '../../../leases/kcl3-leader-lock';
import { monotonicNow, type MonotonicClock } from '../leases/clock';

export type LeaderState =
  { readonly kind: 'unknown' } | { readonly kind: 'live'; readonly leader: string } | { readonly kind: 'none'; readonly reason: string };

export interface LeaderElectionConfig {
  readonly workerId: string;
  /** Whether this worker contends for the lock; false only watches (and warns when no leader is alive). */
  readonly eligible: boolean;
  /** The leaseDuration this worker writes into the lock when it holds it (Java: 120000). */
  readonly leaseDurationMs: number;
  /** The coordinator state table, or the lease table's KCL 3.5 rows (Kcl3MemberTables). */
  readonly coordinatorStateTableName: Kcl3Table;
}

/**
 * The KCL 3.x leader election, as the DynamoDB lock client's `acquireLock` does it: a lock whose
 * recordVersionNumber has not changed for its leaseDuration (on this worker's clock, counted from when
 * this worker first saw that version) has a dead holder and may be taken with a condition on that
 * version. The Java 3.x decider (tryAcquireLock with skipBlockingWait, after a getLock that never reports
 * a held lock as expired) only takes an absent or released lock, so a Java fleet whose leader was killed
 * never elects another one (awslabs/amazon-kinesis-client#1803); a native worker does, and the Java
 * workers then follow it like any leader.
 *
 * Safety: this worker acts as leader only while its last successful write of the lock is younger than
 * leaseDuration minus one heartbeat period; a contender cannot take the lock before leaseDuration after
 * that write, so two leaders never assign at once (clocks only measure intervals).
 */
export class LeaderElection {
  private held: { version: string; writtenAt: number } | undefined;
  private seen: { item: LeaderLockItem | undefined; since: number } | undefined;
  private current: LeaderState = { kind: 'unknown' };
  private warnedFor: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failures = 0;
  /** After giving the lock up on purpose, this worker lets another one take it first. */
  private standDownUntil = 0;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly config: LeaderElectionConfig,
    private readonly logger: WorkerLogger,
    private readonly clock: MonotonicClock = monotonicNow,
  ) {}

  /** The lock client's rule of thumb (and the Java decider's 30 s for 120 s): a heartbeat at least three times per lease duration. */
  get heartbeatPeriodMs(): number {
    return Math.max(250, Math.floor(this.config.leaseDurationMs / 4));
  }

  get state(): LeaderState {
    return this.current;
  }

  /** True while this worker holds the lock and may act as the leader. */
  get isLeader(): boolean {
    if (!this.held) return false;
    return this.clock() - this.held.writtenAt < this.config.leaseDurationMs - this.heartbeatPeriodMs;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.heartbeatPeriodMs);
    void this.tick();
  }

  /** Stops contending and deletes the lock if this worker holds it, so another worker leads at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    await this.release();
  }

  /** Gives the lock up while running on (the Java LeaseAssignmentManager does so after repeated failed passes). */
  async standDown(): Promise<void> {
    this.standDownUntil = this.clock() + this.config.leaseDurationMs;
    // A heartbeat in flight would otherwise write a new version after the release read the old one: the
    // delete would then fail its condition and this worker would go on holding (and heartbeating) the lock.
    await this.running;
    await this.release();
  }

  private async release(): Promise<void> {
    const held = this.held;
    this.held = undefined;
    if (held) await this.releaseVersion(held.version);
  }

  private async releaseVersion(version: string): Promise<void> {
    try {
      if (
        await releaseLeaderLock(
          this.client,
          this.config.coordinatorStateTableName,
          this.config.workerId,
          version,
          AbortSignal.timeout(this.config.leaseDurationMs / 2),
        )
      ) {
        this.logger.log(`Released the KCL 3.x leader lock in ${String(this.config.coordinatorStateTableName)}.`);
      }
    } catch (error) {
      this.logger.warn(
        `Could not release the KCL 3.x leader lock (${describeError(error)}); another worker takes it once its lease duration (${this.config.leaseDurationMs} ms) passes.`,
      );
    }
  }

  /** One heartbeat or one look at the lock; never rejects. */
  tick(): Promise<void> {
    this.running ??= this.step()
      .catch((error) => this.failed(error))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async step(): Promise<void> {
    const signal = AbortSignal.timeout(this.heartbeatPeriodMs * 2);
    const { workerId, coordinatorStateTableName: table } = this.config;
    let heartbeatRefused = false;
    const held = this.held;
    if (held) {
      // Counted from before the request: the write lands at DynamoDB after this instant, so a contender's
      // silence timer starts later than ours (a slow answer must not stretch this worker's term).
      const sentAt = this.clock();
      const version = await heartbeatLeaderLock(this.client, table, this.config, held.version, signal);
      if (this.held !== held) {
        // Released (stop, standDown) while the heartbeat was in flight: the release may have met the old
        // version, so the version this heartbeat wrote is released too, else the lock would stay held.
        if (version) await this.releaseVersion(version);
        return;
      }
      if (version) {
        this.held = { version, writtenAt: sentAt };
        this.failures = 0;
        this.current = { kind: 'live', leader: workerId };
        return;
      }
      this.held = undefined;
      heartbeatRefused = true;
    }
    const item = await readLeaderLockItem(this.client, table, signal);
    // Counted from when the read returned, not from when it was sent: the version it shows may have been
    // written while the read was in flight, and a contender must not take the lock before a full lease
    // duration after that write (the holder's term is counted from before its write).
    const now = this.clock();
    this.failures = 0;
    // A refused heartbeat on a lock that still names this worker is its own earlier heartbeat, applied but
    // answered too late (cut off under load): not a loss, the lock is taken back below at once.
    if (heartbeatRefused && item?.ownerName !== workerId)
      this.logger.warn(`Lost the KCL 3.x leader lock in ${String(table)}: another worker wrote it. This worker stops assigning leases.`);
    if (!this.seen || this.seen.item?.recordVersionNumber !== item?.recordVersionNumber || this.seen.item?.released !== item?.released)
      this.seen = { item, since: now };
    const silentFor = now - this.seen.since;
    const free = !item || item.released || silentFor >= item.leaseDurationMs || item.ownerName === workerId;
    if (free && this.config.eligible && now >= this.standDownUntil) {
      const sentAt = this.clock();
      const version = await acquireLeaderLock(this.client, table, this.config, item, signal);
      if (version) {
        this.held = { version, writtenAt: sentAt };
        this.current = { kind: 'live', leader: workerId };
        this.report();
        const why = !item
          ? 'no worker held it'
          : item.released
            ? `${item.ownerName} had released it`
            : item.ownerName === workerId
              ? heartbeatRefused
                ? 'the answer to its last heartbeat was lost'
                : 'it was held under this worker id by an earlier run'
              : `${item.ownerName} had not renewed it for ${Math.round(silentFor / 1000)} s (its lease duration is ${item.leaseDurationMs} ms)`;
        this.logger.log(`This worker is now the KCL 3.x leader (${why}): it assigns the application's leases.`);
        return;
      }
      this.seen = undefined;
      return;
    }
    if (item && !item.released && silentFor < item.leaseDurationMs) this.current = { kind: 'live', leader: item.ownerName };
    else if (item && !item.released)
      this.current = {
        kind: 'none',
        reason: `the lock of ${item.ownerName} has had no heartbeat for ${Math.round(silentFor / 1000)} s (its lease duration is ${item.leaseDurationMs} ms)`,
      };
    else this.current = { kind: 'none', reason: `no worker holds the Leader lock in ${String(table)}` };
    this.report();
  }

  private failed(error: unknown): void {
    this.failures += 1;
    if (this.failures === 1 || this.failures % 10 === 0) {
      this.logger.warn(
        `KCL 3.x leader lock in ${String(this.config.coordinatorStateTableName)}: ${describeError(error)} (${this.failures} failed attempt(s) in a row; retried every ${this.heartbeatPeriodMs} ms).`,
      );
    }
    if (this.held && !this.isLeader) {
      this.held = undefined;
      this.logger.warn(
        `The KCL 3.x leader lock could not be renewed within its lease duration; this worker stops assigning leases until it holds the lock again.`,
      );
    }
  }

  /** Only a worker that may not lead warns that nobody leads: an eligible one takes the lock itself. */
  private report(): void {
    if (this.current.kind !== 'none' || this.config.eligible) {
      if (this.warnedFor !== undefined && this.current.kind === 'live')
        this.logger.log(`KCL 3.x leader ${this.current.leader} is live again; leases are assigned.`);
      this.warnedFor = undefined;
      return;
    }
    const subject = this.current.reason.split(' has had')[0];
    if (this.warnedFor === subject) return;
    this.warnedFor = subject;
    this.logger.warn(
      `No KCL 3.x leader: ${this.current.reason}. In KCL 3.x mode only the leader assigns leases, and this worker has kcl3LeaderEligible: false: ` +
        `another worker of the application must lead (a native worker with kcl3LeaderEligible left on, or a Java KCL 3.x worker). Leases held now are kept and renewed; no new lease is started.`,
    );
  }
}
