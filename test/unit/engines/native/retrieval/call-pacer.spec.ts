import { CallPacer, type PacerClock } from '../../../../../lib/engines/native/retrieval/call-pacer';

describe('CallPacer', () => {
  it('grants turns no closer than 1000 / callsPerSecond ms apart (fake clock: each wait moves it)', async () => {
    let now = 1_000;
    const waits: number[] = [];
    const pacer = new CallPacer(50, {
      now: () => now,
      pause: (ms) => {
        waits.push(ms);
        now += ms;
        return Promise.resolve(true);
      },
    }); // 20 ms
    const granted: number[] = [];
    for (let i = 0; i < 5; i++) {
      await pacer.turn();
      granted.push(now);
    }
    expect(granted.slice(1).map((t, i) => t - granted[i])).toEqual([21, 21, 21, 21]); // 20 ms, rounded up by a ms
    expect(waits).toEqual([21, 21, 21, 21]); // the first turn comes at once
  });

  describe('spacing from the answer (fake clock)', () => {
    let now: number;
    /** The pacer's clock; turns are only taken once waitMs is 0, so it is never asked to wait. */
    const clock: PacerClock = { now: () => now, pause: () => Promise.reject(new Error('the fake clock is moved by takeTurn')) };
    beforeEach(() => {
      now = 1_000;
    });

    /** Moves the fake clock to the moment the pacer grants its next turn, and takes it (no real wait). */
    async function takeTurn(pacer: CallPacer): Promise<number> {
      now += pacer.waitMs;
      await expect(pacer.turn()).resolves.toBe(true);
      return now;
    }

    it('the next turn comes one interval after the previous call was answered, not after it was sent', async () => {
      const pacer = new CallPacer(5, clock);
      const sent = await takeTurn(pacer);
      expect(pacer.waitMs).toBe(200); // unanswered, a granted turn alone holds the next one back
      now += 35; // the answer took 35 ms
      pacer.answered();
      expect(pacer.waitMs).toBe(200);
      expect((await takeTurn(pacer)) - sent).toBe(235);
    });

    it('a throttled answer spaces the next call by the stretched interval, from the answer', async () => {
      const pacer = new CallPacer(5, clock);
      await takeTurn(pacer);
      now += 20;
      pacer.throttled();
      pacer.answered();
      expect(pacer.waitMs).toBe(400);
    });

    it('whatever the jitter on the way there and back, no sliding second at Kinesis sees more than 5 calls', async () => {
      // A deterministic pseudo-random jitter (no flakiness): 1-80 ms each way, 0-30 ms at the service.
      let seed = 42;
      const jitter = (maxMs: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31) * maxMs;
      const pacer = new CallPacer(5, clock);
      const arrivals: number[] = [];
      for (let call = 0; call < 500; call++) {
        const sent = await takeTurn(pacer);
        const arrival = sent + 1 + jitter(80);
        arrivals.push(arrival);
        now = arrival + jitter(30) + 1 + jitter(80);
        pacer.answered();
      }
      const mostInOneSecond = Math.max(...arrivals.map((at, i) => arrivals.slice(i).filter((later) => later < at + 1000).length));
      expect(mostInOneSecond).toBeLessThanOrEqual(5);
      // And the spacing does not waste more than the round trips: on average one call per interval + round trip.
      const span = arrivals.at(-1)! - arrivals[0];
      expect(span / (arrivals.length - 1)).toBeLessThan(200 + 1 + 80 + 30 + 1 + 80);
    });
  });

  it('throttling doubles the interval (bounded), and the stretch fades with time back to the configured rate', () => {
    let now = 1_000;
    const pacer = new CallPacer(5, { now: () => now, pause: () => Promise.reject(new Error('not waited on')) });
    expect(pacer.intervalMs).toBe(200);
    pacer.throttled();
    pacer.throttled();
    expect(pacer.intervalMs).toBe(800);
    for (let i = 0; i < 10; i++) pacer.throttled();
    expect(pacer.intervalMs).toBe(2_000);
    now += 1_000; // one half-life
    expect(pacer.intervalMs).toBeCloseTo(1_000);
    now += 1_000;
    expect(pacer.intervalMs).toBeCloseTo(500);
    now += 2_000;
    expect(pacer.intervalMs).toBe(200);
  });

  it('a stop ends the wait for a turn at once', async () => {
    const pacer = new CallPacer(0.1); // 10 s
    await pacer.turn();
    const abort = new AbortController();
    const waiting = pacer.turn(abort.signal);
    abort.abort();
    await expect(waiting).resolves.toBe(false);
  });
});
