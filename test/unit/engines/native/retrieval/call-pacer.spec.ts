import { performance } from 'node:perf_hooks';
import { CallPacer } from '../../../../../lib/engines/native/retrieval/call-pacer';

describe('CallPacer', () => {
  it('grants turns no closer than 1000 / callsPerSecond ms apart', async () => {
    const pacer = new CallPacer(50); // 20 ms
    const granted: number[] = [];
    for (let i = 0; i < 5; i++) {
      await pacer.turn();
      granted.push(performance.now());
    }
    const gaps = granted.slice(1).map((t, i) => t - granted[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(19); // timers fire late, never early (1 ms of rounding)
  });

  it('throttling doubles the interval (bounded), and the stretch fades with time back to the configured rate', () => {
    let now = 1_000;
    const clock = jest.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      const pacer = new CallPacer(5);
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
    } finally {
      clock.mockRestore();
    }
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
