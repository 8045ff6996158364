import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeError } from '../../../core/aws-errors';
import type { WorkerLogger } from '../../../core/logger';
import type { Kcl3Table } from '../../../leases/kcl3-layout';
import { isFinished } from '../../../leases/lease';
import {
  assignKcl3Lease,
  deleteWorkerMetricStats,
  initiateKcl3Handoff,
  listKcl3Leases,
  listWorkerMetricStats,
} from '../../../leases/kcl3-tables';
import { monotonicNow, type MonotonicClock } from '../leases/clock';
import type { LeaderElection } from './leader-election';
import { planAssignments, type Assignment, type LeaseObservation } from './lease-assignment-plan';

export interface LeaseAssignmentConfig {
  readonly workerId: string;
  readonly tableName: string;
  /** The worker metrics table, or the lease table's KCL 3.5 rows (Kcl3MemberTables). */
  readonly workerMetricsTableName: Kcl3Table;
  readonly leaseAssignmentIntervalMs: number;
  readonly failoverTimeMs: number;
  readonly workerMetricsReporterFreqMs: number;
  readonly staleWorkerMetricsCleanupMs: number;
  readonly gracefulLeaseHandoffTimeoutMs: number;
  readonly maxLeasesForWorker: number;
}

/** ', was <owner>' when the lease moves away from an owner, for the leader's log lines. */
const was = (a: Assignment): string => (a.lease.leaseOwner && a.lease.leaseOwner !== a.newOwner ? `, was ${a.lease.leaseOwner}` : '');

/** The Java LeaseAssignmentManager's constants: variance balancing every third pass, leadership given up after three failed passes in a row. */
const BALANCE_EVERY = 3;
const FAILED_PASSES_BEFORE_RELEASE = 3;
/** The Java leader counts a worker alive while its metrics are younger than this many reporter periods. */
const REPORTER_PERIODS_BEFORE_DEAD = 2;

/**
 * The KCL 3.x leader's duty, on the leader only (docs/kcl3-protocol.md, sections 1 and 5): every
 * leaseAssignmentIntervalMs, read all leases and all worker metrics, give unassigned and expired leases
 * to the least loaded live workers, balance lease counts every third pass through graceful hand-overs,
 * and delete worker metrics that have been stale for staleWorkerMetricsCleanupMs. Each write is
 * conditional on the row as read, so a lease renewed or reassigned meanwhile is left for the next pass.
 */
export class LeaseAssignmentManager {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private observations: ReadonlyMap<string, LeaseObservation> = new Map();
  private wasLeader = false;
  private passes = 0;
  private failedPasses = 0;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly election: LeaderElection,
    private readonly config: LeaseAssignmentConfig,
    private readonly logger: WorkerLogger,
    private readonly clock: MonotonicClock = monotonicNow,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.runPass(), this.config.leaseAssignmentIntervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass if this worker leads; never rejects. */
  runPass(): Promise<void> {
    this.running ??= this.pass()
      .catch((error) => this.failed(error))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    if (!this.election.isLeader) {
      this.wasLeader = false;
      return;
    }
    if (!this.wasLeader) {
      // A new term starts from nothing: what an earlier term saw says nothing about who renews now.
      this.wasLeader = true;
      this.observations = new Map();
      this.passes = 0;
      this.failedPasses = 0;
    }
    const signal = AbortSignal.timeout(Math.max(this.config.leaseAssignmentIntervalMs, this.config.failoverTimeMs));
    const [rows, workers] = await Promise.all([
      listKcl3Leases(this.client, this.config.tableName, signal),
      listWorkerMetricStats(this.client, this.config.workerMetricsTableName, signal),
    ]);
    const plan = planAssignments({
      leases: rows.map((row) => ({
        leaseKey: row.lease.leaseKey,
        leaseOwner: row.lease.leaseOwner,
        checkpointOwner: row.checkpointOwner,
        leaseCounter: row.lease.leaseCounter,
        throughputKBps: row.throughputKBps,
        finished: isFinished(row.lease),
      })),
      workers: workers.map((row) => ({
        workerId: row.workerId,
        lastUpdateSeconds: row.lastUpdateTimeSeconds,
        valid: row.valid,
        failing: row.failing,
      })),
      previous: this.observations,
      now: this.clock(),
      nowSeconds: Math.floor(Date.now() / 1000),
      failoverTimeMs: this.config.failoverTimeMs,
      workerExpiryMs: REPORTER_PERIODS_BEFORE_DEAD * this.config.workerMetricsReporterFreqMs,
      staleWorkerMetricsMs: this.config.staleWorkerMetricsCleanupMs,
      gracefulLeaseHandoffTimeoutMs: this.config.gracefulLeaseHandoffTimeoutMs,
      maxLeasesForWorker: this.config.maxLeasesForWorker,
      balance: this.passes % BALANCE_EVERY === 0,
    });
    this.observations = plan.observations;
    this.passes += 1;
    // Leadership can end while the tables are read: a pass that is no longer the leader's writes nothing.
    if (!this.election.isLeader) return;
    // Each write settles on its own: what the pass wrote is logged even when another of its writes failed.
    const results = await Promise.allSettled(plan.assignments.map((assignment) => this.write(assignment, signal)));
    const done = plan.assignments.filter((_, index) => {
      const result = results[index];
      return result.status === 'fulfilled' && result.value;
    });
    if (done.length > 0) {
      this.logger.log(
        `KCL 3.x leader: ${done.map((a) => `${a.lease.leaseKey} ${a.how === 'handoff' ? 'handed over' : 'assigned'} to ${a.newOwner} (${a.why}${was(a)})`).join('; ')}.`,
      );
    }
    const failures = results.flatMap((result, index) =>
      result.status === 'rejected' ? [{ a: plan.assignments[index], error: result.reason as unknown }] : [],
    );
    if (failures.length > 0) {
      // The pass fails (and counts towards standing down); the next pass reads the rows again.
      this.logger.warn(
        `KCL 3.x leader: write(s) of this pass failed: ${failures.map(({ a, error }) => `${a.lease.leaseKey} to ${a.newOwner} (${a.why}${was(a)}): ${describeError(error)}`).join('; ')}.`,
      );
      throw failures[0].error;
    }
    if (plan.unassignable > 0)
      this.logger.warn(
        `KCL 3.x leader: ${plan.unassignable} lease(s) need an owner and no live worker can take one (live workers: ${plan.activeWorkers.join(', ') || 'none'}).`,
      );
    for (const workerId of plan.staleWorkers) {
      const row = workers.find((worker) => worker.workerId === workerId)!;
      if (await deleteWorkerMetricStats(this.client, this.config.workerMetricsTableName, row, signal))
        this.logger.log(`KCL 3.x leader: deleted the stale worker metrics of ${workerId}.`);
    }
    this.failedPasses = 0;
  }

  private async write(assignment: Assignment, signal: AbortSignal): Promise<boolean> {
    const { lease, newOwner } = assignment;
    if (assignment.how === 'handoff' && lease.leaseOwner !== undefined)
      return initiateKcl3Handoff(
        this.client,
        this.config.tableName,
        { leaseKey: lease.leaseKey, leaseOwner: lease.leaseOwner },
        newOwner,
        signal,
      );
    return assignKcl3Lease(this.client, this.config.tableName, lease, newOwner, signal);
  }

  private failed(error: unknown): void {
    this.failedPasses += 1;
    this.logger.warn(
      `KCL 3.x leader: the lease assignment pass failed (${describeError(error)}); ${this.failedPasses} failed pass(es) in a row.`,
    );
    if (this.failedPasses >= FAILED_PASSES_BEFORE_RELEASE) {
      this.logger.error(
        `KCL 3.x leader: ${FAILED_PASSES_BEFORE_RELEASE} assignment passes failed in a row; giving up leadership so another worker can lead (as the Java LeaseAssignmentManager does).`,
      );
      this.failedPasses = 0;
      void this.election.standDown();
    }
  }
}
