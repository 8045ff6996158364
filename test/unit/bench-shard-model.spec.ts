import { READ_LIMITS, ShardModel } from '../../bench/lib/shard-model';

// The limited synthetic Kinesis behind the bench's physical-frame figures: its limits must be Kinesis'.
describe('bench shard model (limited synthetic Kinesis)', () => {
  const t0 = 1_000_000;
  const model = (overrides: Partial<ConstructorParameters<typeof ShardModel>[0]> = {}) =>
    new ShardModel({
      index: 3,
      recordBytes: 1024,
      producedBytesPerSecond: READ_LIMITS.bytesPerSecond,
      enforceLimits: true,
      startedAt: t0,
      ...overrides,
    });

  it('numbers records with increasing 56-digit sequence numbers and reads them back', () => {
    const shard = model();
    const a = shard.sequenceNumber(9);
    const b = shard.sequenceNumber(10);
    expect(a).toMatch(/^\d{56}$/);
    expect(BigInt(b) > BigInt(a)).toBe(true);
    expect(shard.indexOf(b)).toBe(10);
    expect(model({ index: 4 }).indexOf(b)).toBeUndefined();
  });

  it('returns only records produced so far, and MillisBehindLatest 0 once caught up', () => {
    const shard = model();
    const produced = shard.produced(t0 + 1000); // 2 MB/s of 1 KB records: 2048 a second
    expect(produced).toBe(2049);
    const slice = shard.getRecords(0, 10_000, t0 + 1000);
    expect(slice).toMatchObject({ throttled: false, from: 0, to: produced, millisBehindLatest: 0 });
    const partial = shard.getRecords(produced, 10, t0 + 3000);
    expect(partial).toMatchObject({ throttled: false, to: produced + 10 });
    if (!partial.throttled) expect(partial.millisBehindLatest).toBe(Math.round(t0 + 3000 - shard.arrivalOf(produced + 9)));
  });

  it('refuses a sixth GetRecords within one second', () => {
    const shard = model({ producedBytesPerSecond: 1024 });
    for (let i = 0; i < 5; i++) expect(shard.getRecords(0, 1, t0 + i * 10).throttled).toBe(false);
    expect(shard.getRecords(0, 1, t0 + 999).throttled).toBe(true);
    expect(shard.getRecords(0, 1, t0 + 1001).throttled).toBe(false);
    expect(shard.throttles).toBe(1);
    expect(shard.callThrottles).toBe(1);
  });

  it('caps a call at 10 MB and refuses calls until the 2 MB/s budget is back', () => {
    const shard = model({ producedBytesPerSecond: Infinity });
    const big = shard.getRecords(0, 10_000, t0);
    expect(big).toMatchObject({ throttled: false, to: 10_000 }); // 10,000 x 1 KB < 10 MB
    // 10,000 KB read against a 2 MB budget: about 3.9 s of refill before the next call.
    expect(shard.getRecords(10_000, 10_000, t0 + 3000).throttled).toBe(true);
    expect(shard.getRecords(10_000, 10_000, t0 + 4000).throttled).toBe(false);
    expect([shard.throttles, shard.callThrottles]).toEqual([1, 0]); // the byte budget, not the call count
    const huge = model({ recordBytes: 25 * 1024, producedBytesPerSecond: Infinity }).getRecords(0, 10_000, t0);
    expect(huge).toMatchObject({ to: Math.floor(READ_LIMITS.maxBytesPerCall / (25 * 1024)) });
  });
});
