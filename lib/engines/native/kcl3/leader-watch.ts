import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeError } from '../../../core/aws-errors';
import type { WorkerLogger } from '../../../core/logger';
import { readLeaderLock } from '../../../leases/kcl3-application';
import { monotonicNow, type MonotonicClock } from '../leases/clock';

/** The lock client's lease duration the Java KCL 3.x leader decider uses (DynamoDBLockBasedLeaderDecider): 2 minutes. */
export const JAVA_LEADER_LEASE_DURATION_MS = 120_000;

export type LeaderState =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'live'; readonly leader: string }
  | { readonly kind: 'none'; readonly reason: string };

/**
 * Tells whether a KCL 3.x leader is alive, by the DynamoDB lock client's own rule: the holder of the
 * `Leader` item rewrites its recordVersionNumber at every heartbeat, and a lock whose
 * recordVersionNumber has not changed for leaseDuration (judged on this worker's clock) is dead.
 * The native engine never contends for the lock (docs/kcl3-protocol.md, section 5): without a live
 * Java leader nobody assigns leases, and this is what makes that visible.
 */
export class LeaderWatch {
  private lastVersion: string | undefined;
  private changedAt: number | undefined;
  private current: LeaderState = { kind: 'unknown' };
  private warnedFor: string | undefined;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly coordinatorStateTable: string,
    private readonly logger: WorkerLogger,
    private readonly clock: MonotonicClock = monotonicNow,
  ) {}

  get state(): LeaderState {
    return this.current;
  }

  /** Reads the lock once and updates the judgement; a failed read keeps the previous judgement. */
  async check(signal?: AbortSignal): Promise<LeaderState> {
    const now = this.clock();
    let lock;
    try {
      lock = await readLeaderLock(this.client, this.coordinatorStateTable, signal);
    } catch (error) {
      this.logger.debug?.(`Could not read the KCL 3.x leader lock in ${this.coordinatorStateTable}: ${describeError(error)}`);
      return this.current;
    }
    const version = lock?.recordVersionNumber ?? '(no lock)';
    if (this.changedAt === undefined || version !== this.lastVersion) {
      this.lastVersion = version;
      this.changedAt = now;
    }
    const duration = lock?.leaseDurationMs ?? JAVA_LEADER_LEASE_DURATION_MS;
    const stale = now - this.changedAt >= duration;
    if (lock?.ownerName && !stale) this.current = { kind: 'live', leader: lock.ownerName };
    else if (lock?.ownerName) this.current = { kind: 'none', reason: `the lock of ${lock.ownerName} has had no heartbeat for ${Math.round((now - this.changedAt) / 1000)} s (its lease duration is ${duration} ms)` };
    else if (now - this.changedAt >= duration) this.current = { kind: 'none', reason: `no worker has held the Leader lock in ${this.coordinatorStateTable} for ${Math.round((now - this.changedAt) / 1000)} s` };
    this.report();
    return this.current;
  }

  private report(): void {
    if (this.current.kind !== 'none') {
      if (this.warnedFor !== undefined && this.current.kind === 'live') this.logger.log(`KCL 3.x leader ${this.current.leader} is live again; leases are assigned.`);
      this.warnedFor = undefined;
      return;
    }
    if (this.warnedFor === this.current.reason.split(' has had')[0]) return;
    this.warnedFor = this.current.reason.split(' has had')[0];
    this.logger.warn(
      `No KCL 3.x leader: ${this.current.reason}. In KCL 3.x mode only the leader assigns leases, and this native worker never contends for leadership: ` +
        `this application needs at least one live Java KCL 3.x worker (engine: 'kcl' with kcl.version 3.x, or a Java fleet), ` +
        `or a rollback to the 2.x rules (the KCL migration script sets Migration3.0 to CLIENT_VERSION_2X). Leases held now are kept and renewed; no new lease is started.`,
    );
  }
}
