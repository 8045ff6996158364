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
