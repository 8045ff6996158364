import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ResolvedWorkerOptions } from '../../../core/options';
import type { Kcl3Status } from '../../../core/worker';
import type { Kcl3Mode } from '../../../leases/kcl3-application';
import type { LeaseTable } from '../../../leases/lease-table';
import type { LeaseSource } from '../leases/lease-coordinator';
import { AssignedLeaseFollower } from './assigned-lease-follower';
import { Kcl3MemberTables } from './kcl3-member-tables';
import { LeaderElection } from './leader-election';
import { LeaseAssignmentManager } from './lease-assignment-manager';
import { MigrationStateMonitor, rules } from './migration-state-monitor';
import { WorkerMetricsReporter } from './worker-metrics-reporter';

/** The part of the lease coordinator membership switches: who finds the leases to hold. */
export interface LeaseSourceSwitch {
  /** undefined: back to the 2.x taker. */
  useLeaseSource(source: LeaseSource | undefined): void;
  runTaker(): Promise<void>;
}

/**
 * The native worker as a member of a Java KCL 3.x application (docs/kcl3-protocol.md, section 5):
 * - whenever a 3.x fleet runs the application (any migration state), it publishes its worker metrics,
 *   so the fleet's migration monitor finds it 3.x-compliant and a leader counts it as a worker;
 * - in 3.x mode (3X_WITH_ROLLBACK, 3X) it holds the leases the leader assigns instead of taking by the
 *   2.x rules, contends for the leader lock (unless kcl3LeaderEligible is false) and, while it leads,
 *   assigns the application's leases;
 * - it follows the migration state at run time and switches rules at a flip or a rollback.
 */
export class Kcl3Membership {
  private readonly reporter: WorkerMetricsReporter;
  private readonly follower: AssignedLeaseFollower;
  private readonly leader: LeaderElection;
  private readonly assignment: LeaseAssignmentManager;
  private monitor: MigrationStateMonitor | undefined;
  private readonly source: LeaseSource;
  /** Two tables or the lease table's KCL 3.5 rows: learnt from where the migration state is found. */
  private readonly tables: Kcl3MemberTables;
  /**
   * Set by stop(), for good: a start still under way (a slow DynamoDB call) must start nothing after it,
   * or a worker whose stop timed out would keep intervals (the process never exits) and even lead.
   */
  private stopped = false;

  constructor(
    private readonly client: DynamoDBClient,
    table: LeaseTable,
    private readonly options: ResolvedWorkerOptions,
    private readonly coordinator: LeaseSourceSwitch,
  ) {
    const { workerId, logger } = options;
    const tables = (this.tables = new Kcl3MemberTables(options));
    this.reporter = new WorkerMetricsReporter(
      client,
      {
        workerId,
        get tableName() {
          return tables.workerMetrics;
        },
        intervalMs: options.workerMetricsReporterFreqMs,
      },
      logger,
    );
    this.follower = new AssignedLeaseFollower(table, options, logger);
    this.leader = new LeaderElection(
      client,
      {
        workerId,
        eligible: options.kcl3LeaderEligible,
        leaseDurationMs: options.leaderLockLeaseDurationMs,
        get coordinatorStateTableName() {
          return tables.coordinatorState;
        },
      },
      logger,
    );
    this.assignment = new LeaseAssignmentManager(
      client,
      this.leader,
      {
        ...options,
        get workerMetricsTableName() {
          return tables.workerMetrics;
        },
      },
      logger,
    );
    this.source = { discover: (isHeld, shouldContinue) => this.follower.discover(isHeld, shouldContinue) };
  }

  /** Applies the mode read at start (by preflight, before the coordinator's first pass), then follows its changes. */
  async start(initial: Kcl3Mode): Promise<void> {
    const { appName, clientVersionPollIntervalMs, logger } = this.options;
    if (this.stopped) return;
    this.monitor = new MigrationStateMonitor(
      this.client,
      appName,
      this.tables.stateLocations,
      clientVersionPollIntervalMs,
      logger,
      initial,
      async (mode) => {
        await this.apply(mode);
        await this.coordinator.runTaker();
      },
    );
    await this.apply(initial);
    if (this.stopped) return;
    if (this.tables.layout === 'single-table')
      logger.log(
        `'${appName}' keeps its KCL 3.x state in the lease table (the KCL 3.5 single-table layout): this worker's metrics${rules(initial) === '3.x' ? ' and leader lock' : ''} are rows of ${this.options.tableName}.`,
      );
    if (rules(initial) === '3.x')
      logger.log(
        `'${appName}' runs in KCL 3.x mode (${initial.kind === '3.x' ? initial.clientVersion : ''}): this worker holds the leases the leader assigns to it.`,
      );
    this.monitor.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.monitor?.stop();
    await this.assignment.stop();
    await this.leader.stop();
    // Before the worker releases its leases: a leader must not count it as live and assign them back.
    await this.reporter.withdraw();
  }

  /** Whether this worker follows the 3.x lease rules now (its renewals then write throughputKBps). */
  get underThreeXRules(): boolean {
    return this.monitor !== undefined && rules(this.monitor.mode) === '3.x';
  }

  status(): Kcl3Status | undefined {
    const mode = this.monitor?.mode;
    if (!mode || mode.kind === 'none') return undefined;
    const leader = this.leader.state;
    return {
      rules: rules(mode),
      clientVersion: mode.clientVersion,
      workerMetricsReportedAt: this.reporter.lastReportedAt,
      ...(rules(mode) === '3.x' && leader.kind === 'live' ? { leader: leader.leader, leading: this.leader.isLeader } : {}),
      ...(rules(mode) === '3.x' && leader.kind === 'none' ? { problem: `no KCL 3.x leader: ${leader.reason}` } : {}),
    };
  }

  private async apply(mode: Kcl3Mode): Promise<void> {
    this.tables.follow(mode);
    // The metrics are what a 2.x-compatible fleet's migration monitor waits for before it flips to 3.x.
    // A multi-stream worker withholds them: its 3.x membership is single-stream (preflight refuses a
    // multi-stream start in 3.x mode), so it must not be what lets the fleet flip.
    if (this.stopped) return;
    if (mode.kind === 'none' || this.options.multiStream) await this.reporter.stop();
    else await this.reporter.start();
    // stop() may have run during any await of this method: what it stopped must not be started again.
    if (this.stopped) return;
    if (rules(mode) === '3.x') {
      // Leader first: a worker that takes the lock assigns at once, before its own follower looks for leases.
      this.leader.start();
      this.assignment.start();
      await this.leader.tick();
      if (this.stopped) return;
      await this.assignment.runPass();
      if (this.stopped) return;
    } else {
      // The 2.x rules elect no 3.x leader: a rollback ends this worker's leadership.
      await this.assignment.stop();
      await this.leader.stop();
    }
    this.coordinator.useLeaseSource(rules(mode) === '3.x' ? this.source : undefined);
  }
}
