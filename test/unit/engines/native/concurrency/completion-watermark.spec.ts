import type { ExtendedSequenceNumber } from '../../../../../lib/core/record';
import { compareExtended } from '../../../../../lib/core/sequence-number';
import { CompletionWatermark } from '../../../../../lib/engines/native/concurrency/completion-watermark';

/** mulberry32: a small seeded generator, so that a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pos = (sequenceNumber: string, subSequenceNumber = 0): ExtendedSequenceNumber => ({ sequenceNumber, subSequenceNumber });

/** A shard's records as read: plain records and KPL aggregates of 2-6 user records, in increasing sequence numbers. */
function shardRecords(next: () => number, count: number, base: bigint): ExtendedSequenceNumber[] {
  const records: ExtendedSequenceNumber[] = [];
  let sequence = base;
  while (records.length < count) {
    sequence += BigInt(1 + Math.floor(next() * 1000)) * 10n ** 20n;
    const aggregated = next() < 0.4;
    const subs = aggregated ? 2 + Math.floor(next() * 5) : 1;
    for (let sub = 0; sub < subs; sub++) records.push(pos(sequence.toString(), sub));
  }
  return records;
}

/** The oracle: the last position of the longest prefix of `records` that is all finished. */
function expectedWatermark(records: readonly ExtendedSequenceNumber[], finished: ReadonlySet<number>, start?: ExtendedSequenceNumber) {
  let mark = start;
  for (let i = 0; i < records.length && finished.has(i); i++) mark = records[i];
  return mark;
}

describe('CompletionWatermark', () => {
  it('stays at the start until the first record finishes, then moves only over a finished prefix', () => {
    const start = pos('100');
    const watermark = new CompletionWatermark(start);
    const [a, b, c] = [pos('200'), pos('300', 0), pos('300', 1)];
    for (const p of [a, b, c]) watermark.add(p);
    expect(watermark.finish(c)).toBe(false);
    expect(watermark.watermark).toEqual(start);
    expect(watermark.finish(a)).toBe(true);
    expect(watermark.watermark).toEqual(a);
    expect(watermark.finish(b)).toBe(true);
    expect(watermark.watermark).toEqual(c);
    expect(watermark.allFinished).toBe(true);
  });

  it('a KPL aggregate is complete only when all its user records are: the watermark stops at the last finished sub-record before a gap', () => {
    const watermark = new CompletionWatermark();
    const subs = [0, 1, 2, 3].map((sub) => pos('500', sub));
    subs.forEach((p) => watermark.add(p));
    watermark.add(pos('600'));
    watermark.finish(subs[0]);
    watermark.finish(subs[2]);
    watermark.finish(subs[3]);
    watermark.finish(pos('600'));
    // Sub-record 1 still runs: the checkpoint may say (500, 0), never (500, 3) or 600.
    expect(watermark.watermark).toEqual(subs[0]);
    expect(watermark.unfinished).toBe(1);
    expect(watermark.unsettled).toBe(4);
    watermark.finish(subs[1]);
    expect(watermark.watermark).toEqual(pos('600'));
  });

  it('refuses positions out of shard order and a record finished twice', () => {
    const watermark = new CompletionWatermark(pos('100'));
    expect(() => watermark.add(pos('100'))).toThrow(/shard order/);
    watermark.add(pos('200', 1));
    expect(() => watermark.add(pos('200', 0))).toThrow(/shard order/);
    watermark.finish(pos('200', 1));
    expect(() => watermark.finish(pos('200', 1))).toThrow(/finished twice/);
    expect(() => watermark.finish(pos('999'))).toThrow(/not added/);
  });

  // Property: for random shards (plain and aggregated records, a parent and its children after a
  // reshard), records read in batches and finished in random order, the watermark after every step
  // equals the oracle, never passes an unfinished record, and reaches the shard's last record only
  // when every record finished.
  it.each(Array.from({ length: 200 }, (_, i) => 1000 + i))('seed %i: the watermark never passes an unfinished record', (seed) => {
    const next = random(seed);
    // A parent shard, then one of its children after a split: each has its own watermark, the child's from nothing.
    for (const base of [10n ** 40n, 2n * 10n ** 40n]) {
      const records = shardRecords(next, 1 + Math.floor(next() * 120), base);
      const start = next() < 0.5 ? undefined : pos((base - 1n).toString());
      const watermark = new CompletionWatermark(start);
      const finished = new Set<number>();
      const running: number[] = [];
      const violations: string[] = [];
      let read = 0;
      while (finished.size < records.length) {
        // Read a batch now and then (whole aggregates: GetRecords never splits one), finish a random running record otherwise.
        if (read < records.length && (running.length === 0 || next() < 0.3)) {
          const batchEnd = Math.min(records.length, read + 1 + Math.floor(next() * 20));
          let end = batchEnd;
          while (end < records.length && records[end].sequenceNumber === records[end - 1].sequenceNumber) end++;
          for (; read < end; read++) {
            watermark.add(records[read]);
            running.push(read);
          }
          continue;
        }
        const index = running[Math.floor(next() * running.length)];
        running.splice(running.indexOf(index), 1);
        watermark.finish(records[index]);
        finished.add(index);
        // Plain comparisons per step (thousands of them), one expect per shard with what went wrong.
        const expected = expectedWatermark(records, finished, start);
        const mark = watermark.watermark;
        if (JSON.stringify(mark) !== JSON.stringify(expected))
          violations.push(`step ${finished.size}: ${JSON.stringify(mark)} != ${JSON.stringify(expected)}`);
        const passed = running.filter((pending) => mark && compareExtended(mark, records[pending]) >= 0);
        if (passed.length > 0) violations.push(`step ${finished.size}: ${JSON.stringify(mark)} passes unfinished ${passed.join(',')}`);
        if (watermark.unfinished !== running.length || watermark.allFinished !== (finished.size === read))
          violations.push(`step ${finished.size}: counts ${watermark.unfinished}/${watermark.allFinished}`);
      }
      expect(violations).toEqual([]);
      expect(watermark.watermark).toEqual(records.at(-1));
      expect(watermark.allFinished).toBe(true);
    }
  });
});
