/**
 * Milliseconds on a clock that only moves forward. Lease expiry and hold are intervals measured on this
 * worker: a wall clock stepped by NTP (or by hand) would let a taker steal a live lease, or let a holder
 * believe it still holds one it lost.
 */
export type MonotonicClock = () => number;

export const monotonicNow: MonotonicClock = () => performance.now();
