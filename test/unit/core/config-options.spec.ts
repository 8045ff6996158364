import { KinesisWorkerConfigError } from '../../../lib/core/errors';
import type { StreamWorkerOptions } from '../../../lib/core/options';
import { resolveWorkerOptions } from '../../../lib/core/resolve-options';

const base: StreamWorkerOptions = { appName: 'config-options', streamName: 'orders', region: 'eu-west-1' };

function rejection(options: Partial<StreamWorkerOptions>): KinesisWorkerConfigError {
  try {
    resolveWorkerOptions({ ...base, ...options });
  } catch (error) {
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    return error as KinesisWorkerConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

describe('timing options that cannot work are refused, naming the option', () => {
  it.each([
    [{ failoverTimeMs: 0 }, 'failoverTimeMs', /whole number > 0/],
    [{ failoverTimeMs: -10_000 }, 'failoverTimeMs', /whole number > 0/],
    [{ failoverTimeMs: 2.5 }, 'failoverTimeMs', /whole number > 0/],
    [{ failoverTimeMs: '10000' as never }, 'failoverTimeMs', /whole number > 0/],
    [{ failoverTimeMs: 50 }, 'failoverTimeMs', /too short.*at least 1000/],
    [{ failoverTimeMs: 3_000_000_000 }, 'failoverTimeMs', /longer than Node's timers can wait/],
    [{ failoverTimeMs: 10_000, leaseRenewalIntervalMs: 10_000 }, 'leaseRenewalIntervalMs', /at most half of failoverTimeMs \(10000\)/],
    [{ failoverTimeMs: 10_000, leaseRenewalIntervalMs: 6_000 }, 'leaseRenewalIntervalMs', /at most half/],
    [{ shardSyncIntervalMs: 2 ** 31 }, 'shardSyncIntervalMs', /24\.8 days/],
    [{ processingTimeoutMs: 0 }, 'processingTimeoutMs', /whole number > 0/],
    [{ checkpointRetry: { baseDelayMs: 1_000, maxDelayMs: 10 } }, 'checkpointRetry.maxDelayMs', /maxDelayMs >= baseDelayMs/],
    [{ kcl3LeaderEligible: 'yes' as never }, 'kcl3LeaderEligible', /true or false/],
    [{ kcl3LeaderEligible: 1 as never }, 'kcl3LeaderEligible', /true or false/],
    [{ leaderLockLeaseDurationMs: 999 }, 'leaderLockLeaseDurationMs', /at least 1000/],
    [{ leaderLockLeaseDurationMs: 0 }, 'leaderLockLeaseDurationMs', /whole number > 0/],
    [{ leaderLockLeaseDurationMs: 1500.5 }, 'leaderLockLeaseDurationMs', /whole number > 0/],
    [{ leaseAssignmentIntervalMs: 0 }, 'leaseAssignmentIntervalMs', /whole number > 0/],
    [{ staleWorkerMetricsCleanupMs: -1 }, 'staleWorkerMetricsCleanupMs', /whole number > 0/],
  ])('%j', (options, option, message) => {
    const error = rejection(options);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
  });

  it('accepts the defaults, a derived renewal interval for the smallest failover time, and Infinity for no processing limit', () => {
    const defaults = resolveWorkerOptions(base);
    expect(defaults.leaseRenewalIntervalMs * 2).toBeLessThanOrEqual(defaults.failoverTimeMs);
    const shortest = resolveWorkerOptions({ ...base, failoverTimeMs: 1_000 });
    expect(shortest.leaseRenewalIntervalMs).toBe(308);
    expect(resolveWorkerOptions({ ...base, processingTimeoutMs: Infinity }).processingTimeoutMs).toBe(Infinity);
  });

  it('the KCL 3.x leadership options default to the Java values: eligible, a 120 s lock, assignment every 2 × failoverTimeMs, stale metrics after a day', () => {
    const defaults = resolveWorkerOptions(base);
    expect(defaults.kcl3LeaderEligible).toBe(true);
    expect(defaults.leaderLockLeaseDurationMs).toBe(120_000);
    expect(defaults.leaseAssignmentIntervalMs).toBe(2 * defaults.failoverTimeMs);
    expect(defaults.staleWorkerMetricsCleanupMs).toBe(86_400_000);
    const set = resolveWorkerOptions({
      ...base,
      kcl3LeaderEligible: false,
      leaderLockLeaseDurationMs: 1_000,
      leaseAssignmentIntervalMs: 500,
    });
    expect([set.kcl3LeaderEligible, set.leaderLockLeaseDurationMs, set.leaseAssignmentIntervalMs]).toEqual([false, 1_000, 500]);
  });
});

describe('region', () => {
  it.each([[''], [42], [{ name: 'eu-west-1' }]])('a region option that is not a region name (%j) is refused at once', (region) => {
    const error = rejection({ region: region as never });
    expect(error.option).toBe('region');
    expect(error.message).toMatch(/expected a region name such as "eu-west-1"/);
  });

  it('is not required here: it is found at start (test/unit/core/resolve-region.spec.ts)', async () => {
    const resolved = resolveWorkerOptions({
      ...base,
      region: 'ap-south-1',
      logger: { log: () => undefined, warn: () => undefined, error: () => undefined },
    });
    expect(await resolved.region()).toBe('ap-south-1');
  });
});
