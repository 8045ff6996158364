import { HeldLease } from '../../../../../lib/engines/native/leases/held-lease';
import { LeaseRenewer } from '../../../../../lib/engines/native/leases/lease-renewer';
import { waitFor } from '../../../../support/wait-for';
import { FakeLeaseTable, lease, silentLogger } from './fake-lease-table';

afterEach(() => jest.restoreAllMocks());

describe('HeldLease and LeaseRenewer timing', () => {
  it('a wall-clock step neither ends a hold early nor keeps a lost one alive', () => {
    const table = new FakeLeaseTable([lease('shard-0', 'me')]);
    const forward = new HeldLease(table.rows.get('shard-0')!, table.asTable(), 10_000);
    const wall = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(wall + 3_600_000);
    expect(forward.isHeld()).toBe(true);

    let now = 0;
    const backward = new HeldLease(table.rows.get('shard-0')!, table.asTable(), 10_000, () => now);
    jest.spyOn(Date, 'now').mockReturnValue(wall - 3_600_000);
    now = 10_000;
    expect(backward.isHeld()).toBe(false);
  });

  it('a hung renewal is aborted when the lease would expire, and does not hold up the renewal of another lease', async () => {
    const table = new FakeLeaseTable([lease('slow', 'me'), lease('fast', 'me')]);
    table.hangRenewals.add('slow');
    const { logger, warnings } = silentLogger();
    // A 2 s hold renewed every 50 ms: on a loaded machine (parallel jest workers) a 300 ms hold let 'fast' expire too.
    // Not fake timers: the hung request is cut by AbortSignal.timeout, which runs on real time.
    const renewer = new LeaseRenewer(50, 2_000, logger);
    const slow = new HeldLease(table.rows.get('slow')!, table.asTable(), 2_000);
    const fast = new HeldLease(table.rows.get('fast')!, table.asTable(), 2_000);
    renewer.add(slow);
    renewer.add(fast);
    renewer.renewAll();
    await waitFor(() => table.rows.get('fast')!.leaseCounter === 6, 'the first renewal of fast');
    renewer.renewAll(); // the slow renewal is still in flight: no second one is queued behind it
    await waitFor(() => table.rows.get('fast')!.leaseCounter === 7, 'the second renewal of fast'); // two rounds, both renewed
    expect(table.renewSignals.filter(Boolean)).toHaveLength(3);
    renewer.start(); // every 50 ms from now on
    await waitFor(() => slow.lost, 'the hung lease to expire locally', 15_000);
    expect(fast.lost).toBe(false);
    // The hung request is aborted just after the expiry; the renewer then says why the lease went.
    await waitFor(() => warnings.some((w) => w.includes('slow expired locally')), "the renewer's line about the aborted renewal");
    renewer.stop();
    expect(slow.lost).toBe(true);
    expect(warnings.join('\n')).toMatch(/slow expired locally; last renewal error: .*aborted/i);
    expect(warnings.join('\n')).not.toMatch(/Renewal of slow failed, will retry/);
    expect(renewer.heldLeases().map((h) => h.leaseKey)).toEqual(['fast']);
  });

  it('is lost the moment its hold runs out, without waiting for the renewer', async () => {
    // Fake timers and a fake performance.now (the lease's monotonic clock): the steps are exact, whatever the machine's load.
    jest.useFakeTimers();
    try {
      const table = new FakeLeaseTable([lease('shard-0', 'me')]);
      const held = new HeldLease(table.rows.get('shard-0')!, table.asTable(), 100);
      const reasons: string[] = [];
      held.onLost((reason) => reasons.push(reason));
      await jest.advanceTimersByTimeAsync(60);
      expect(held.lost).toBe(false);
      await held.renew(); // the hold now runs 100 ms from this renewal's send time
      await jest.advanceTimersByTimeAsync(99);
      expect(reasons).toEqual([]);
      await jest.advanceTimersByTimeAsync(2);
      expect(reasons).toEqual(['not renewed within failoverTimeMs (100 ms)']);
    } finally {
      jest.useRealTimers();
    }
  });

  it('reads as lost once the clock passes the hold, even before any timer ran', () => {
    let now = 0;
    const table = new FakeLeaseTable([lease('shard-0', 'me')]);
    const held = new HeldLease(table.rows.get('shard-0')!, table.asTable(), 1_000, () => now);
    now = 999;
    expect(held.lost).toBe(false);
    now = 1_000;
    expect(held.lost).toBe(true);
  });
});
