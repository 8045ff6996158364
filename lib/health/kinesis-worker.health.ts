import { Injectable } from '@nestjs/common';
import type { WorkerStatus } from '../core/worker';
import { KinesisWorkerService } from '../kinesis-worker.service';

export interface KinesisHealthOptions {
  /**
   * Down when a lease this worker holds has not been renewed for this long. Default, per worker: midway
   * between its leaseRenewalIntervalMs and its failoverTimeMs (6654 ms with the defaults), i.e. after at
   * least one failed renewal round and before the lease is lost. Only the native engine reports it.
   */
  maxMsSinceLeaseRenewal?: number;
  /**
   * Down when DynamoDB has not answered the worker for this long: it can neither renew nor take leases,
   * whether it still holds some or lost them all. Default, per worker: its leaseTakerIntervalMs plus its
   * failoverTimeMs (30050 ms with the defaults): a healthy worker scans the lease table every taker
   * interval. Only the native engine reports it.
   */
  maxMsSinceDynamoDbAnswer?: number;
  /** Down when a shard is further behind the tip of the stream than this. Default: no limit. */
  maxMillisBehindLatest?: number;
  /** Down when no worker runs (autoStart: false before start(), or after stop()). Default true. */
  requireRunning?: boolean;
}

/** The shape @nestjs/terminus expects from a health indicator (`HealthIndicatorResult`). */
export type KinesisHealthResult = Record<string, { status: 'up' | 'down'; [detail: string]: unknown }>;

/** What the default renewal threshold falls back to for a worker that does not report its lease timing. */
const FALLBACK_MAX_MS_SINCE_LEASE_RENEWAL = 5_000;

/**
 * A health indicator for @nestjs/terminus: `() => kinesis.isHealthy('kinesis')` in a
 * HealthCheckService.check([...]) list. It imports nothing from terminus (a result whose status is
 * 'down' is what terminus reports as unhealthy, exactly what HealthIndicatorService.check(key).down()
 * builds), so it works with terminus 11 and 12 and an app without terminus pays nothing for it.
 */
@Injectable()
export class KinesisWorkerHealthIndicator {
  constructor(private readonly workers: KinesisWorkerService) {}

  isHealthy(key = 'kinesis', options: KinesisHealthOptions = {}): KinesisHealthResult {
    const { requireRunning = true } = options;
    const statuses = this.workers.status();
    const problems: string[] = [];
    if (requireRunning && statuses.length === 0) problems.push('no worker is running');
    for (const status of statuses) problems.push(...problemsOf(status, options));
    return {
      [key]: {
        status: problems.length === 0 ? 'up' : 'down',
        ...(problems.length > 0 ? { problems } : {}),
        workers: statuses.map((s) => ({
          stream: s.streamName,
          workerId: s.workerId,
          engine: s.engine,
          running: s.running,
          shards: s.shards.length,
          msSinceLeaseRenewal: s.msSinceLeaseRenewal,
          msSinceDynamoDbAnswer: s.msSinceDynamoDbAnswer,
          maxMillisBehindLatest: Math.max(0, ...s.shards.map((shard) => shard.millisBehindLatest ?? 0)),
        })),
      },
    };
  }
}

function problemsOf(status: WorkerStatus, options: KinesisHealthOptions): string[] {
  const where = `'${status.streamName}'`;
  const problems: string[] = [];
  if (!status.running) problems.push(`the worker of ${where} is not running`);
  const maxMsSinceLeaseRenewal = options.maxMsSinceLeaseRenewal ?? defaultMaxMsSinceLeaseRenewal(status);
  if (status.msSinceLeaseRenewal !== undefined && status.msSinceLeaseRenewal > maxMsSinceLeaseRenewal) {
    problems.push(
      `lease renewals of ${where} have failed for ${Math.round(status.msSinceLeaseRenewal)} ms (limit ${maxMsSinceLeaseRenewal} ms)`,
    );
  }
  const maxMsSinceDynamoDbAnswer = options.maxMsSinceDynamoDbAnswer ?? defaultMaxMsSinceDynamoDbAnswer(status);
  if (status.msSinceDynamoDbAnswer !== undefined && status.msSinceDynamoDbAnswer > maxMsSinceDynamoDbAnswer) {
    problems.push(
      `DynamoDB has not answered the worker of ${where} for ${Math.round(status.msSinceDynamoDbAnswer)} ms (limit ${maxMsSinceDynamoDbAnswer} ms): it can neither renew nor take leases`,
    );
  }
  const maxMillisBehindLatest = options.maxMillisBehindLatest ?? Infinity;
  for (const shard of status.shards) {
    if ((shard.millisBehindLatest ?? 0) > maxMillisBehindLatest) {
      problems.push(`${where}/${shard.shardId} is ${shard.millisBehindLatest} ms behind (limit ${maxMillisBehindLatest} ms)`);
    }
    if (shard.error) problems.push(shard.error);
  }
  return problems;
}

/**
 * A healthy worker's msSinceLeaseRenewal climbs to about one renewal interval before each renewal
 * resets it, so a fixed limit would flap for a worker with slow renewals. Midway to failoverTimeMs
 * means a renewal round has failed and there is still time before another worker may take the lease.
 */
function defaultMaxMsSinceLeaseRenewal(status: WorkerStatus): number {
  if (!status.leaseTiming) return FALLBACK_MAX_MS_SINCE_LEASE_RENEWAL;
  const { leaseRenewalIntervalMs, failoverTimeMs } = status.leaseTiming;
  return Math.round((leaseRenewalIntervalMs + failoverTimeMs) / 2);
}

/** A healthy worker scans the lease table every leaseTakerIntervalMs; a failover time more means scans have failed for a while. */
function defaultMaxMsSinceDynamoDbAnswer(status: WorkerStatus): number {
  const timing = status.leaseTiming;
  if (!timing) return Infinity;
  return (timing.leaseTakerIntervalMs ?? (timing.failoverTimeMs + 25) * 2) + timing.failoverTimeMs;
}
