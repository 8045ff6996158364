/**
 * The bytes this worker read from one shard, as KB/s since the previous reading: the `throughputKBps`
 * a KCL 3.x owner writes at each renewal, which the leader balances leases by.
 */
export class ThroughputMeter {
  private bytes = 0;
  private since: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.since = now();
  }

  add(bytes: number): void {
    this.bytes += bytes;
  }

  /** KB/s since the last call (or construction), and starts a new window. */
  takeKBps(): number {
    const now = this.now();
    const seconds = (now - this.since) / 1000;
    const kbps = seconds > 0 ? this.bytes / 1024 / seconds : 0;
    this.bytes = 0;
    this.since = now;
    return Math.round(kbps * 1e6) / 1e6;
  }
}
