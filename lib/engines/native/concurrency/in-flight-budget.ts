/**
 * The bound on records read but not finished, across every shard of one worker: a shard's loop asks for
 * room before it hands a record on, and stops reading while there is none, so a slow handler slows the
 * reading instead of letting records pile up. Records and bytes are both bounded; a record larger than
 * the byte bound is let in alone (when nothing else is in flight) so that it cannot block its shard for
 * ever. Waiters are served first come, first served: a shard with many records cannot starve the others.
 */
export class InFlightBudget {
  private records = 0;
  private bytes = 0;
  private readonly waiters: { bytes: number; grant: (granted: boolean) => void; signal?: AbortSignal; onAbort?: () => void }[] = [];

  constructor(
    readonly maxRecords: number,
    readonly maxBytes: number,
  ) {}

  get recordsInFlight(): number {
    return this.records;
  }

  get bytesInFlight(): number {
    return this.bytes;
  }

  /** Resolves true once the record is let in (count it back with release), false when the signal aborted first. */
  acquire(bytes: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const waiter: (typeof this.waiters)[number] = { bytes, grant: resolve, signal };
      if (signal) {
        waiter.onAbort = () => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          resolve(false);
          // The first waiter may have been the one that did not fit: the next may now.
          this.serve();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  release(bytes: number): void {
    this.records -= 1;
    this.bytes -= bytes;
    this.serve();
  }

  private fits(bytes: number): boolean {
    if (this.records === 0) return true;
    return this.records + 1 <= this.maxRecords && this.bytes + bytes <= this.maxBytes;
  }

  private take(bytes: number): void {
    this.records += 1;
    this.bytes += bytes;
  }

  private serve(): void {
    while (this.waiters.length > 0 && this.fits(this.waiters[0].bytes)) {
      const waiter = this.waiters.shift()!;
      if (waiter.onAbort) waiter.signal!.removeEventListener('abort', waiter.onAbort);
      this.take(waiter.bytes);
      waiter.grant(true);
    }
  }
}
