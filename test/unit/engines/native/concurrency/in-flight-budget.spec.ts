import { InFlightBudget } from '../../../../../lib/engines/native/concurrency/in-flight-budget';

const settled = async <T>(promise: Promise<T>): Promise<{ value?: T; pending: boolean }> => {
  let result: { value?: T; pending: boolean } = { pending: true };
  void promise.then((value) => (result = { value, pending: false }));
  await new Promise((r) => setImmediate(r));
  return result;
};

describe('InFlightBudget', () => {
  it('bounds records: the next one waits until one is released', async () => {
    const budget = new InFlightBudget(2, 1_000_000);
    expect(await budget.acquire(10)).toBe(true);
    expect(await budget.acquire(10)).toBe(true);
    const third = budget.acquire(10);
    expect((await settled(third)).pending).toBe(true);
    budget.release(10);
    expect(await third).toBe(true);
    expect(budget.recordsInFlight).toBe(2);
  });

  it('bounds bytes; a record larger than the bound is let in alone', async () => {
    const budget = new InFlightBudget(100, 1_000);
    expect(await budget.acquire(600)).toBe(true);
    const big = budget.acquire(5_000);
    expect((await settled(big)).pending).toBe(true);
    budget.release(600);
    expect(await big).toBe(true);
    expect(budget.bytesInFlight).toBe(5_000);
    const small = budget.acquire(1);
    expect((await settled(small)).pending).toBe(true);
    budget.release(5_000);
    expect(await small).toBe(true);
  });

  it('serves waiters first come, first served: a small record does not overtake a waiting big one', async () => {
    const budget = new InFlightBudget(100, 1_000);
    await budget.acquire(900);
    const big = budget.acquire(500);
    const small = budget.acquire(10);
    expect((await settled(small)).pending).toBe(true);
    budget.release(900);
    expect(await big).toBe(true);
    expect(await small).toBe(true);
  });

  it('an aborted wait resolves false, takes nothing, and lets the next waiter in', async () => {
    const budget = new InFlightBudget(1, 1_000);
    await budget.acquire(10);
    const abort = new AbortController();
    const first = budget.acquire(10, abort.signal);
    const second = budget.acquire(10);
    abort.abort();
    expect(await first).toBe(false);
    budget.release(10);
    expect(await second).toBe(true);
    expect(budget.recordsInFlight).toBe(1);
    expect(await budget.acquire(1, abort.signal)).toBe(false);
  });
});

describe('InFlightBudget: a fair share per shard', () => {
  it('a shard holds at most its share; another shard still gets in while the first waits at its share', async () => {
    const budget = new InFlightBudget(8, 1_000_000);
    const hot = budget.join();
    const cold = budget.join();
    for (let i = 0; i < 4; i++) expect(await budget.acquire(10, undefined, hot)).toBe(true);
    // The hot shard's fifth record (say, one more waiting behind its blocked key) waits for its own records...
    const fifth = budget.acquire(10, undefined, hot);
    expect((await settled(fifth)).pending).toBe(true);
    // ...without holding up the cold shard, which gets its whole share.
    for (let i = 0; i < 4; i++) expect(await budget.acquire(10, undefined, cold)).toBe(true);
    expect(budget.recordsInFlight).toBe(8);
    // A record of the cold shard finishing does not let the hot one past its share.
    budget.release(10, cold);
    expect((await settled(fifth)).pending).toBe(true);
    expect(await budget.acquire(10, undefined, cold)).toBe(true);
    budget.release(10, hot);
    expect(await fifth).toBe(true);
    expect(hot.records).toBe(4);
  });

  it('shares follow the shards that joined: a shard that leaves gives its share back', async () => {
    const budget = new InFlightBudget(6, 1_000_000);
    const a = budget.join();
    const b = budget.join();
    for (let i = 0; i < 3; i++) await budget.acquire(1, undefined, a);
    const fourth = budget.acquire(1, undefined, a);
    expect((await settled(fourth)).pending).toBe(true);
    budget.leave(b);
    expect(await fourth).toBe(true);
    expect(budget.shards).toBe(1);
  });

  it('a shard that joins late gets in once the others are back under their share', async () => {
    const budget = new InFlightBudget(4, 1_000_000);
    const early = budget.join();
    for (let i = 0; i < 4; i++) await budget.acquire(1, undefined, early);
    const late = budget.join();
    const lateFirst = budget.acquire(1, undefined, late);
    const earlyNext = budget.acquire(1, undefined, early);
    expect((await settled(lateFirst)).pending).toBe(true);
    budget.release(1, early);
    // The room goes to the late shard (under its share), not to the early one (above its share of 2).
    expect(await lateFirst).toBe(true);
    expect((await settled(earlyNext)).pending).toBe(true);
    budget.release(1, early);
    budget.release(1, early);
    expect(await earlyNext).toBe(true);
    expect([early.records, late.records]).toEqual([2, 1]);
  });

  it('bytes are shared too; a shard holding nothing may always ask, whatever its record weighs', async () => {
    const budget = new InFlightBudget(100, 1_000);
    const a = budget.join();
    const b = budget.join();
    expect(await budget.acquire(400, undefined, a)).toBe(true);
    const over = budget.acquire(200, undefined, a);
    expect((await settled(over)).pending).toBe(true);
    expect(await budget.acquire(450, undefined, b)).toBe(true);
    budget.release(400, a);
    expect(await over).toBe(true);
  });

  it('never lets in more than the worker-wide bounds, whatever the shards ask in whatever order (random runs)', async () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let run = 0; run < 50; run++) {
      const maxRecords = 1 + Math.floor(rand() * 12);
      const budget = new InFlightBudget(maxRecords, 1_000_000);
      const shards = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => ({ holder: budget.join(), held: 0, waiting: 0 }));
      for (let step = 0; step < 200; step++) {
        const shard = shards[Math.floor(rand() * shards.length)];
        if (rand() < 0.6 && shard.waiting === 0) {
          // One waiter per shard at a time, as a shard's admit loop asks.
          shard.waiting = 1;
          void budget.acquire(1, undefined, shard.holder).then(() => ((shard.waiting = 0), shard.held++));
        } else if (shard.held > 0) {
          shard.held--;
          budget.release(1, shard.holder);
        }
        await new Promise((r) => setImmediate(r));
        expect(budget.recordsInFlight).toBeLessThanOrEqual(maxRecords);
        const share = Math.max(1, Math.floor(maxRecords / shards.length));
        for (const s of shards) expect(s.holder.records).toBeLessThanOrEqual(share);
        // The fairness claim: a shard under its share never waits, when the shares fit in the bound.
        if (shards.length <= maxRecords) for (const s of shards) if (s.holder.records < share) expect(s.waiting).toBe(0);
      }
      // Drain: every shard that waits is let in as the others release what they hold (no shard starves).
      for (let round = 0; round <= shards.length && shards.some((s) => s.waiting > 0); round++) {
        for (const s of shards) for (; s.held > 0; s.held--) budget.release(1, s.holder);
        await new Promise((r) => setImmediate(r));
      }
      for (const s of shards) expect(s.waiting).toBe(0);
    }
  });
});
