/**
 * The terminus indicator's judgement of a WorkerStatus, with KinesisWorkerService faked: the edge cases
 * the e2e test (test/e2e/nest-health.e2e-spec.ts) cannot set up on the emulators at will.
 */
import type { WorkerStatus } from '../../lib';
import { KinesisWorkerHealthIndicator } from '../../lib/health';
import type { KinesisWorkerService } from '../../lib/kinesis-worker.service';

function status(overrides: Partial<WorkerStatus> = {}): WorkerStatus {
  return {
    workerId: 'worker-1',
    streamName: 'orders',
    appName: 'app',
    tableName: 'app',
    engine: 'native',
    running: true,
    msSinceLeaseRenewal: 1_000,
    leaseTiming: { leaseRenewalIntervalMs: 3_308, failoverTimeMs: 10_000 },
    leases: [],
    shards: [
      {
        shardId: 'shardId-000000000000',
        state: 'PROCESSING',
        checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
        millisBehindLatest: 0,
      },
    ],
    ...overrides,
  };
}

function indicator(...statuses: WorkerStatus[]) {
  return new KinesisWorkerHealthIndicator({ status: () => statuses } as unknown as KinesisWorkerService);
}

function problems(result: ReturnType<KinesisWorkerHealthIndicator['isHealthy']>, key = 'kinesis'): string[] {
  return (result[key].problems as string[] | undefined) ?? [];
}

it('up for a running worker, under the given key, with what it judged in the details', () => {
  const result = indicator(status()).isHealthy('consumer');
  expect(result.consumer.status).toBe('up');
  expect(result.consumer.workers).toEqual([
    {
      stream: 'orders',
      workerId: 'worker-1',
      engine: 'native',
      running: true,
      shards: 1,
      msSinceLeaseRenewal: 1_000,
      maxMillisBehindLatest: 0,
    },
  ]);
});

it('down with no worker unless requireRunning is false; down for a worker that is not running', () => {
  expect(problems(indicator().isHealthy())).toEqual(['no worker is running']);
  expect(indicator().isHealthy('kinesis', { requireRunning: false }).kinesis.status).toBe('up');
  expect(problems(indicator(status({ running: false })).isHealthy())).toEqual(["the worker of 'orders' is not running"]);
});

it('the default renewal limit sits midway between the renewal interval and failoverTimeMs of each worker', () => {
  // Defaults (3308 / 10000): the limit is 6654 ms.
  expect(indicator(status({ msSinceLeaseRenewal: 6_654 })).isHealthy().kinesis.status).toBe('up');
  expect(problems(indicator(status({ msSinceLeaseRenewal: 6_655 })).isHealthy())).toEqual([
    "lease renewals of 'orders' have failed for 6655 ms (limit 6654 ms)",
  ]);
  // A slow renewer (failoverTimeMs 30000, renewals every 9975 ms) is healthy just before its next renewal...
  const slow = { leaseRenewalIntervalMs: 9_975, failoverTimeMs: 30_000 };
  expect(indicator(status({ msSinceLeaseRenewal: 9_900, leaseTiming: slow })).isHealthy().kinesis.status).toBe('up');
  // ...and down once a round has failed, well before its lease is lost.
  expect(indicator(status({ msSinceLeaseRenewal: 20_000, leaseTiming: slow })).isHealthy().kinesis.status).toBe('down');
});

it('an explicit maxMsSinceLeaseRenewal wins; a worker that reports no renewals (kcl engine, no lease held) is not judged on them', () => {
  expect(indicator(status({ msSinceLeaseRenewal: 2_500 })).isHealthy('kinesis', { maxMsSinceLeaseRenewal: 2_000 }).kinesis.status).toBe(
    'down',
  );
  expect(indicator(status({ engine: 'kcl', msSinceLeaseRenewal: undefined, leaseTiming: undefined })).isHealthy().kinesis.status).toBe(
    'up',
  );
  expect(indicator(status({ msSinceLeaseRenewal: undefined })).isHealthy('kinesis', { maxMsSinceLeaseRenewal: 0 }).kinesis.status).toBe(
    'up',
  );
});

it('down when a shard is further behind than maxMillisBehindLatest, or cannot be read; no lag limit by default', () => {
  const lagging = status({
    shards: [
      {
        shardId: 'shardId-000000000000',
        state: 'PROCESSING',
        checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 },
        millisBehindLatest: 90_000,
      },
      { shardId: 'shardId-000000000001', state: 'PROCESSING', checkpoint: { sequenceNumber: '2', subSequenceNumber: 0 } },
    ],
  });
  expect(indicator(lagging).isHealthy().kinesis.status).toBe('up');
  expect(problems(indicator(lagging).isHealthy('kinesis', { maxMillisBehindLatest: 60_000 }))).toEqual([
    "'orders'/shardId-000000000000 is 90000 ms behind (limit 60000 ms)",
  ]);
  const unreadable = status({
    shards: [
      {
        shardId: 'shardId-000000000000',
        state: 'PROCESSING',
        checkpoint: { sequenceNumber: '1', subSequenceNumber: 0 },
        error: 'kinesis:GetRecords is not allowed',
      },
    ],
  });
  expect(problems(indicator(unreadable).isHealthy())).toEqual(['kinesis:GetRecords is not allowed']);
});

it('every worker is judged: one bad stream makes the check down and is named', () => {
  const result = indicator(status(), status({ streamName: 'payments', running: false })).isHealthy();
  expect(result.kinesis.status).toBe('down');
  expect(problems(result)).toEqual(["the worker of 'payments' is not running"]);
});

describe('DynamoDB answers', () => {
  const timing = { leaseRenewalIntervalMs: 3_308, failoverTimeMs: 10_000, leaseTakerIntervalMs: 20_050 };

  it("judged by the worker's own timing by default (taker interval + failover time), even when it holds no lease any more", () => {
    const lost = { msSinceLeaseRenewal: undefined, shards: [], leaseTiming: timing };
    expect(indicator(status({ ...lost, msSinceDynamoDbAnswer: 30_000 })).isHealthy().kinesis.status).toBe('up');
    const result = indicator(status({ ...lost, msSinceDynamoDbAnswer: 30_051 })).isHealthy();
    expect(result.kinesis.status).toBe('down');
    expect(problems(result)).toEqual([
      `DynamoDB has not answered the worker of 'orders' for 30051 ms (limit 30050 ms): it can neither renew nor take leases`,
    ]);
  });

  it('maxMsSinceDynamoDbAnswer overrides the default; an engine that does not report it (kcl) is never judged by it', () => {
    expect(
      indicator(status({ leaseTiming: timing, msSinceDynamoDbAnswer: 6_000 })).isHealthy('kinesis', { maxMsSinceDynamoDbAnswer: 5_000 })
        .kinesis.status,
    ).toBe('down');
    expect(
      indicator(status({ engine: 'kcl', msSinceLeaseRenewal: undefined, leaseTiming: undefined })).isHealthy('kinesis', {
        maxMsSinceDynamoDbAnswer: 1,
      }).kinesis.status,
    ).toBe('up');
  });
});
