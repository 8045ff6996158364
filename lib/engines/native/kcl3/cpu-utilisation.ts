import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * This process's CPU utilisation in percent of the CPU it may use, measured between two samples: what
 * the Java KCL 3.x leader reads as the `CPU` worker metric. The process's own usage (process.cpuUsage),
 * not the host's: the worker may share its host or container with other processes, and the leader
 * balances the load of the worker. The CPU it may use is the cgroup's quota when one is set (a
 * container limit), else the host's cores.
 */
export class CpuUtilisation {
  private lastUsageMicros: number;
  private lastWallMicros: number;

  constructor(
    private readonly cores: number = availableCores(),
    private readonly usage: () => NodeJS.CpuUsage = () => process.cpuUsage(),
    private readonly wallMicros: () => number = () => Number(process.hrtime.bigint() / 1000n),
  ) {
    this.lastUsageMicros = total(this.usage());
    this.lastWallMicros = this.wallMicros();
  }

  /** Percent (0..100) since the previous sample (or construction); 0 when no time has passed. */
  sample(): number {
    const usage = total(this.usage());
    const wall = this.wallMicros();
    const elapsed = wall - this.lastWallMicros;
    const used = usage - this.lastUsageMicros;
    this.lastUsageMicros = usage;
    this.lastWallMicros = wall;
    if (elapsed <= 0) return 0;
    const percent = (used / (elapsed * this.cores)) * 100;
    return Math.round(Math.min(100, Math.max(0, percent)) * 100) / 100;
  }
}

const total = (usage: NodeJS.CpuUsage) => usage.user + usage.system;

/** Cores from the cgroup v2 (cpu.max) or v1 (cfs quota/period) limit, else the host's. */
export function availableCores(read: (path: string) => string | undefined = readOptional): number {
  const host = availableParallelism();
  const v2 = read('/sys/fs/cgroup/cpu.max')?.trim().split(/\s+/);
  if (v2 && v2[0] !== 'max' && Number(v2[0]) > 0 && Number(v2[1]) > 0) return Math.min(host, Number(v2[0]) / Number(v2[1]));
  const quota = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
  const period = Number(read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
  if (quota > 0 && period > 0) return Math.min(host, quota / period);
  return host;
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
