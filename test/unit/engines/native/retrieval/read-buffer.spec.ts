import { ReadBuffer, type ReadClaim } from '../../../../../lib/engines/native/retrieval/read-buffer';

const settled = async <T>(promise: Promise<T>): Promise<{ value?: T; pending: boolean }> => {
  let result: { value?: T; pending: boolean } = { pending: true };
  void promise.then((value) => (result = { value, pending: false }));
  await new Promise((r) => setImmediate(r));
  return result;
};

/** A claim granted at once (the test fails if it has to wait). */
async function granted(buffer: ReadBuffer, wanted: number): Promise<ReadClaim> {
  const outcome = await settled(buffer.claim(wanted));
  expect(outcome.pending).toBe(false);
  return outcome.value!;
}

describe('ReadBuffer', () => {
  it('sizes a read to the free records; the next read waits until a batch is processed', async () => {
    const buffer = new ReadBuffer(100, 1_000_000);
    buffer.join();
    const first = await granted(buffer, 60);
    expect(first.limit).toBe(15); // 1 MB at the 64 KiB per record assumed before any record was seen
    first.settle(60, 60 * 100);
    const second = await granted(buffer, 60);
    expect(second.limit).toBe(40); // what is left of 100
    second.settle(40, 40 * 100);
    expect(buffer.bufferedRecords).toBe(100);
    const third = buffer.claim(60);
    expect((await settled(third)).pending).toBe(true);
    first.release();
    const claim = (await third)!;
    expect(claim.limit).toBe(60);
    expect(buffer.peakRecords).toBe(100);
  });

  it('sizes a read by bytes with the average record size seen; waits while the bytes are full', async () => {
    const buffer = new ReadBuffer(1_000_000, 10_000);
    buffer.join();
    const first = await granted(buffer, 1_000);
    expect(first.limit).toBe(1); // 64 KiB assumed before any record was seen: one record
    first.settle(1, 1_000);
    const second = await granted(buffer, 1_000);
    expect(second.limit).toBe(9); // 9000 bytes free at 1000 per record
    second.settle(9, 9_000);
    expect(buffer.bufferedBytes).toBe(10_000);
    const third = buffer.claim(1_000);
    expect((await settled(third)).pending).toBe(true);
    second.release();
    expect((await third)!.limit).toBe(9);
  });

  it('admits a batch larger than the bound when nothing else is buffered (never a deadlock)', async () => {
    const buffer = new ReadBuffer(10, 1_000);
    buffer.join();
    const alone = await granted(buffer, 500);
    expect(alone.limit).toBe(1);
    alone.settle(1, 5_000); // one record of 5000 bytes, over the byte bound
    const next = buffer.claim(500);
    expect((await settled(next)).pending).toBe(true);
    alone.release();
    const again = (await next)!;
    expect(again.limit).toBe(1); // records of 5000 bytes seen: one at a time, alone
    expect(buffer.bufferedBytes).toBe(1_000); // until its read is in, it holds what is free, not its 5000-byte estimate
  });

  it('an empty read gives its room back at once', async () => {
    const buffer = new ReadBuffer(10, 1_000_000);
    buffer.join();
    const claim = await granted(buffer, 10);
    claim.settle(0, 0);
    expect(buffer.bufferedRecords).toBe(0);
    claim.release();
    claim.release(); // idempotent
    expect(buffer.bufferedRecords).toBe(0);
    expect(buffer.bufferedBytes).toBe(0);
  });

  it('grants each reader at most a fair share, and serves waiting readers first come, first served', async () => {
    const buffer = new ReadBuffer(100, 100_000_000);
    for (let i = 0; i < 4; i++) buffer.join();
    const warm = await granted(buffer, 1);
    warm.settle(1, 100);
    warm.release();
    const a = await granted(buffer, 1_000);
    expect(a.limit).toBe(25); // 100 records / 4 readers
    a.settle(25, 2_500);
    const b = await granted(buffer, 1_000);
    const c = await granted(buffer, 1_000);
    const d = await granted(buffer, 1_000);
    [b, c, d].forEach((claim) => claim.settle(25, 2_500));
    const order: string[] = [];
    const waitA = buffer.claim(1_000).then((claim) => (order.push('a'), claim!));
    const waitB = buffer.claim(1_000).then((claim) => (order.push('b'), claim!));
    expect(buffer.waiting).toBe(2);
    a.release();
    b.release();
    const [nextA, nextB] = await Promise.all([waitA, waitB]);
    expect(order).toEqual(['a', 'b']);
    expect(nextA.limit).toBe(25);
    expect(nextB.limit).toBe(25);
  });

  it('a reader that leaves widens the others share', async () => {
    const buffer = new ReadBuffer(100, 100_000_000);
    const leave = buffer.join();
    buffer.join();
    const warm = await granted(buffer, 1);
    warm.settle(1, 100);
    warm.release();
    expect((await granted(buffer, 1_000)).limit).toBe(50);
    leave();
    leave(); // once only
    const rest = await granted(buffer, 1_000);
    expect(rest.limit).toBe(50); // what is left of 100
  });

  it('an aborted wait resolves undefined and takes no room', async () => {
    const buffer = new ReadBuffer(1, 1_000);
    buffer.join();
    const held = await granted(buffer, 1);
    held.settle(1, 10);
    const abort = new AbortController();
    const waiting = buffer.claim(1, abort.signal);
    abort.abort();
    expect(await waiting).toBeUndefined();
    expect(buffer.waiting).toBe(0);
    held.release();
    expect(buffer.bufferedRecords).toBe(0);
    expect(await buffer.claim(1, abort.signal)).toBeUndefined();
  });
});
