import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeError, isResourceNotFound } from '../../../core/aws-errors';
import type { WorkerLogger } from '../../../core/logger';
import { isSingleTable, type Kcl3Table } from '../../../leases/kcl3-layout';
import { createWorkerMetricsTable, deleteOwnWorkerMetricStats, putWorkerMetricStats } from '../../../leases/kcl3-tables';
import { CpuUtilisation } from './cpu-utilisation';

/** The Java KCL's noOfPersistedMetricsPerWorkerMetrics: samples kept per metric in the item. */
export const PERSISTED_SAMPLES = 10;
/** The metric name the Java KCL 3.x uses for CPU; its operating range ceiling is 100 (percent). */
export const CPU_METRIC = 'CPU';
const CPU_CEILING = 100;
/** A stop waits at most this long for the deletion of the metrics item (the item goes stale by itself anyway). */
const WITHDRAW_TIMEOUT_MS = 5000;

export interface WorkerMetricsReporterConfig {
  readonly workerId: string;
  /** The worker metrics table, or the lease table's KCL 3.5 rows (Kcl3MemberTables). */
  readonly tableName: Kcl3Table;
  readonly intervalMs: number;
}

/**
 * Publishes this worker's WorkerMetricStats item (the Java WorkerMetricStatsReporter's job): a KCL 3.x
 * leader assigns leases only to workers whose item is fresh, and balances by its CPU samples. A failed
 * write is logged and tried again at the next interval: the leader only drops a worker after its item
 * went stale for several intervals. Each write is cut off after one interval, so a hung call never
 * stacks up behind the timer.
 */
export class WorkerMetricsReporter {
  private readonly samples: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private failures = 0;
  private lastReportAt: number | undefined;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly config: WorkerMetricsReporterConfig,
    private readonly logger: WorkerLogger,
    private readonly cpu = new CpuUtilisation(),
  ) {}

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Wall-clock ms of the last successful write. */
  get lastReportedAt(): number | undefined {
    return this.lastReportAt;
  }

  /** Reports at once (so a new worker is counted in the leader's next run), then every interval. */
  start(): Promise<void> {
    if (this.timer) return this.inFlight ?? Promise.resolve();
    this.timer = setInterval(() => void this.report(), this.config.intervalMs);
    return this.report();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /**
   * Stops and deletes this worker's item, at a graceful stop of the worker: while the item is fresh a
   * leader counts the worker as live and may assign it the very leases it releases now (they would then
   * wait failoverTimeMs to expire). Bounded by min(interval, 5 s); a failure only logs: the item goes stale after two intervals anyway.
   */
  async withdraw(): Promise<void> {
    const wasRunning = this.running;
    await this.stop();
    if (!wasRunning) return;
    const { workerId, tableName, intervalMs } = this.config;
    try {
      await deleteOwnWorkerMetricStats(this.client, tableName, workerId, AbortSignal.timeout(Math.min(intervalMs, WITHDRAW_TIMEOUT_MS)));
    } catch (error) {
      this.logger.warn(
        `Could not delete the worker metrics of ${workerId} from ${String(tableName)} at stop (${describeError(error)}); a KCL 3.x leader stops counting this worker once they are stale.`,
      );
    }
  }

  /**
   * The table is the fleet's, made by whichever worker first needs it (the Java WorkerMetricStatsDAO
   * creates it at start too): a native worker that outlived the Java fleet, or whose operator dropped the
   * table, must not be invisible to the leader because of it. True when the table exists or is being
   * created (the next report writes into it); otherwise the error, which the failed write's warning names.
   */
  private async createTable(): Promise<true | { error: unknown }> {
    const { tableName } = this.config;
    // The lease table's rows need no table of their own (and a missing lease table is not for this worker to create here).
    if (isSingleTable(tableName)) return { error: new Error(`the lease table ${tableName.tableName} does not exist`) };
    try {
      if (await createWorkerMetricsTable(this.client, tableName, AbortSignal.timeout(this.config.intervalMs))) {
        this.logger.log(`Created the KCL 3.x worker metrics table ${tableName} (key wid, on-demand capacity, as the Java KCL creates it).`);
      }
      return true;
    } catch (error) {
      return { error };
    }
  }

  /** One report; a report still in flight is not doubled. */
  report(): Promise<void> {
    this.inFlight ??= this.write().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async write(): Promise<void> {
    this.samples.push(this.cpu.sample());
    if (this.samples.length > PERSISTED_SAMPLES) this.samples.splice(0, this.samples.length - PERSISTED_SAMPLES);
    const { workerId, tableName, intervalMs } = this.config;
    try {
      await putWorkerMetricStats(
        this.client,
        tableName,
        {
          workerId,
          lastUpdateTimeSeconds: Math.floor(Date.now() / 1000),
          metricStats: { [CPU_METRIC]: [...this.samples] },
          operatingRange: { [CPU_METRIC]: [CPU_CEILING] },
        },
        AbortSignal.timeout(intervalMs),
      );
      if (this.failures > 0)
        this.logger.log(`Worker metrics of ${workerId} written to ${String(tableName)} again after ${this.failures} failed attempt(s).`);
      this.failures = 0;
      this.lastReportAt = Date.now();
    } catch (error) {
      this.failures++;
      const created = isResourceNotFound(error) ? await this.createTable() : undefined;
      if (created === true) return;
      // Said once, then every tenth time: a missing table or permission fails every interval.
      if (this.failures === 1 || this.failures % 10 === 0) {
        const fix = isResourceNotFound(error)
          ? ` The table does not exist and could not be created (${describeError(created?.error)}): allow dynamodb:CreateTable on it (docs/iam.md) or create it (partition key wid, a string), or set workerMetricsTableName if the fleet uses another name.`
          : ` Allow dynamodb:PutItem on ${String(tableName)} (docs/iam.md).`;
        this.logger.warn(
          `Could not write the worker metrics of ${workerId} to ${String(tableName)} (${describeError(error)}; ${this.failures} failure(s) in a row); ` +
            `a KCL 3.x leader assigns no lease to a worker whose metrics go stale.${fix}`,
        );
      }
    }
  }
}
