import { LeaseTaker, type TakenLease } from '../../../../../lib/engines/native/leases/lease-taker';
import { multiStreamScope } from '../../../../../lib/leases/stream-lease-scope';
import { FakeLeaseTable, lease, silentLogger } from './fake-lease-table';

const orders = multiStreamScope({ accountId: '123456789012', streamName: 'orders', creationEpochSeconds: 1617000000 });
const payments = multiStreamScope({ accountId: '123456789012', streamName: 'payments', creationEpochSeconds: 1617000500 });
/** A stream the application no longer consumes: its leases stay in the table. */
const former = multiStreamScope({ accountId: '123456789012', streamName: 'former', creationEpochSeconds: 1600000000 });

const streamLease = (scope: typeof orders, shard: number, owner: string | undefined) =>
  lease(scope.identity(`shardId-00000000000${shard}`).leaseKey, owner, scope.identity(`shardId-00000000000${shard}`));

const config = (workerId: string) => ({
  workerId,
  failoverTimeMs: 10_000,
  maxLeasesForWorker: 100,
  maxLeasesToStealAtOneTime: 1,
  accepts: (l: { streamIdentifier?: string }) => orders.owns(l) || payments.owns(l),
});

describe('LeaseTaker over the streams of a multi-stream application', () => {
  it("aims at total leases / workers across all streams, not per stream, and never takes a former stream's lease", async () => {
    // 2 streams × 2 shards, all held by w1; a former stream's unowned lease is in the table too.
    const table = new FakeLeaseTable([
      streamLease(orders, 0, 'w1'),
      streamLease(orders, 1, 'w1'),
      streamLease(payments, 0, 'w1'),
      streamLease(payments, 1, 'w1'),
      streamLease(former, 0, undefined),
    ]);
    const taker = new LeaseTaker(table.asTable(), config('w2'), silentLogger().logger);
    const taken: TakenLease[] = [];
    // Stealing goes one lease per pass: two passes bring w2 to its target of 2 (4 leases / 2 workers).
    for (let pass = 0; pass < 4; pass++) taken.push(...(await taker.takeLeases((key) => taken.some((t) => t.held.leaseKey === key))));
    expect(taken.map((t) => t.target)).toEqual([2, 2]);
    expect(taken.every((t) => t.how === 'stolen')).toBe(true);
    const owners = [...table.rows.values()].map((row) => [row.leaseKey, row.leaseOwner]);
    expect(owners.filter(([, owner]) => owner === 'w2')).toHaveLength(2);
    // The former stream's lease: not taken, not counted (the target would be 3 with it).
    expect(table.rows.get(former.identity('shardId-000000000000').leaseKey)!.leaseOwner).toBeUndefined();
    expect(taker.latestScan().some((l) => former.owns(l))).toBe(false);
  });

  it('takes the unowned leases of every consumed stream on a fresh application', async () => {
    const table = new FakeLeaseTable([
      streamLease(orders, 0, undefined),
      streamLease(payments, 0, undefined),
      streamLease(payments, 1, undefined),
    ]);
    const taken = await new LeaseTaker(table.asTable(), config('w1'), silentLogger().logger).takeLeases(() => false);
    expect(taken.map((t) => t.held.lease.streamIdentifier).sort()).toEqual([
      orders.streamIdentifier,
      payments.streamIdentifier,
      payments.streamIdentifier,
    ]);
  });
});
