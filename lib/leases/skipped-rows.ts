import type { WorkerLogger } from '../core/logger';

const DEFAULT_QUIET_MS = 10 * 60_000;

/**
 * Warns about lease table rows that are not usable leases (corrupt, hand-written, or KCL 3.x
 * entities), once per row and then at most once every `quietMs` while the row stays: every scan
 * sees them again, and a warning per scan would drown the log.
 */
export class SkippedRowWarnings {
  private readonly lastWarned = new Map<string, number>();

  constructor(
    private readonly logger: WorkerLogger | undefined,
    private readonly tableName: string,
    private readonly quietMs = DEFAULT_QUIET_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  skipped(leaseKey: string, problem: string): void {
    const now = this.now();
    const last = this.lastWarned.get(leaseKey);
    if (last !== undefined && now - last < this.quietMs) return;
    this.lastWarned.set(leaseKey, now);
    this.logger?.warn(
      `Lease table ${this.tableName}: row ${leaseKey} skipped, ${problem}. It is not a KCL 2.x lease; ` +
        `delete or repair it (this warning repeats at most every ${Math.round(this.quietMs / 60_000)} min).`,
    );
  }
}
