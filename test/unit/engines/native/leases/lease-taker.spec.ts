import { LeaseTaker } from '../../../../../lib/engines/native/leases/lease-taker';
import { FakeLeaseTable, lease, silentLogger } from './fake-lease-table';

const config = { workerId: 'me', failoverTimeMs: 10_000, maxLeasesForWorker: 100, maxLeasesToStealAtOneTime: 1 };
const notHeld = () => false;

/** A clock the test moves by hand. */
function manualClock(start = 1_000) {
  let now = start;
  const clock = () => now;
  return Object.assign(clock, { advance: (ms: number) => void (now += ms) });
}

afterEach(() => jest.restoreAllMocks());

describe('LeaseTaker (the KCL DynamoDBLeaseTaker)', () => {
  it('does not see a live lease as expired when the wall clock jumps forward (expiry runs on the monotonic clock)', async () => {
    const table = new FakeLeaseTable([lease('shard-0', 'other')]);
    const taker = new LeaseTaker(table.asTable(), config, silentLogger().logger); // the default, real clock
    expect(await taker.takeLeases(notHeld)).toEqual([]);
    // An NTP step of one hour between two scans; the other worker did not even get to renew.
    const wall = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(wall + 3_600_000);
    expect(await taker.takeLeases(notHeld)).toEqual([]);
    expect(table.rows.get('shard-0')!.leaseOwner).toBe('other');
  });

  it('takes a lease whose counter has not moved for failoverTimeMs on its own clock', async () => {
    const clock = manualClock();
    const table = new FakeLeaseTable([lease('shard-0', 'other')]);
    const taker = new LeaseTaker(table.asTable(), config, silentLogger().logger, clock);
    await taker.takeLeases(notHeld);
    clock.advance(9_000);
    table.bump('shard-0');
    expect(await taker.takeLeases(notHeld)).toEqual([]);
    clock.advance(10_001);
    const [taken] = await taker.takeLeases(notHeld);
    expect(taken).toMatchObject({ how: 'expired', previousOwner: 'other' });
    expect(table.rows.get('shard-0')!.leaseOwner).toBe('me');
  });

  it('starts the hold at the send time of the take, not when the answer arrived', async () => {
    const clock = manualClock();
    const table = new FakeLeaseTable([lease('shard-0', undefined)]);
    table.onTake = () => clock.advance(4_000); // a slow answer
    const taker = new LeaseTaker(table.asTable(), config, silentLogger().logger, clock);
    const [taken] = await taker.takeLeases(notHeld);
    expect(taken.held.msUntilExpiry()).toBe(6_000);
    clock.advance(6_000);
    expect(taken.held.isHeld()).toBe(false);
  });

  it('waits for expiry on a lease under its own workerId held by another process, and names the clash', async () => {
    const clock = manualClock();
    const { logger, warnings } = silentLogger();
    const table = new FakeLeaseTable([lease('shard-0', 'me'), lease('shard-1', 'me')]);
    const taker = new LeaseTaker(table.asTable(), config, logger, clock);
    expect(await taker.takeLeases(notHeld)).toEqual([]);
    for (let i = 0; i < 5; i++) {
      clock.advance(3_000);
      table.bump('shard-0'); // the twin process renews
      table.bump('shard-1');
      expect(await taker.takeLeases(notHeld)).toEqual([]);
    }
    expect(warnings).toHaveLength(1); // rate-limited
    expect(warnings[0]).toMatch(/shard-0, shard-1 under this worker's workerId 'me'/);
    // The twin dies: its leases expire and are taken like anyone else's.
    clock.advance(10_001);
    expect((await taker.takeLeases(notHeld)).map((t) => t.how)).toEqual(['expired', 'expired']);
  });

  it('takes an expired finished lease of a dead owner (as the Java KCL 2.7.2 does), not an unowned finished one', async () => {
    const clock = manualClock();
    const end = { checkpoint: { sequenceNumber: 'SHARD_END', subSequenceNumber: 0 } };
    const table = new FakeLeaseTable([lease('parent', 'dead-java-worker', end), lease('old-parent', undefined, end)]);
    const taker = new LeaseTaker(table.asTable(), config, silentLogger().logger, clock);
    expect(await taker.takeLeases(notHeld)).toEqual([]);
    clock.advance(10_001);
    const taken = await taker.takeLeases(notHeld);
    expect(taken.map((t) => [t.held.leaseKey, t.how, t.previousOwner])).toEqual([['parent', 'expired', 'dead-java-worker']]);
  });
});
