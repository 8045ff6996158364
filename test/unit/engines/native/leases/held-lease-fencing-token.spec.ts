import { HeldLease } from '../../../../../lib/engines/native/leases/held-lease';
import { FakeLeaseTable, lease } from './fake-lease-table';

describe('HeldLease.fencingToken', () => {
  it("is the lease's counter as the take left it, unchanged by the renewals of the hold", async () => {
    const table = new FakeLeaseTable([lease('shard-0', 'me')]);
    const taken = table.rows.get('shard-0')!;
    const held = new HeldLease(taken, table.asTable(), 10_000);
    const atTake = held.fencingToken('me');
    await held.renew();
    await held.renew();
    expect(held.lease.leaseCounter).toBe(taken.leaseCounter + 2);
    expect(held.fencingToken('me')).toEqual(atTake);
    expect(atTake).toEqual({ leaseKey: 'shard-0', owner: 'me', counter: taken.leaseCounter });
  });

  it("names the lease's owner at the take, and the worker's id only when the row had none", () => {
    const table = new FakeLeaseTable([lease('shard-0', 'taker')]);
    expect(new HeldLease(table.rows.get('shard-0')!, table.asTable(), 10_000).fencingToken('other').owner).toBe('taker');
    const ownerless = { ...table.rows.get('shard-0')!, leaseOwner: undefined };
    expect(new HeldLease(ownerless, table.asTable(), 10_000).fencingToken('worker-1').owner).toBe('worker-1');
  });
});
