import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A process and all its descendants (the kcl engine's JVM, watchdog and relays hang below the worker). */
export function processTree(root: number): number[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .filter((row) => row.length === 2 && !Number.isNaN(row[0]));
  const tree = [root];
  for (let i = 0; i < tree.length; i++) for (const [pid, ppid] of rows) if (ppid === tree[i]) tree.push(pid);
  return tree;
}

function kb(pid: number, file: string, pattern: RegExp): number {
  try {
    return Number(pattern.exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** RSS and PSS (shared pages split between sharers) of a process tree, in MB. */
export function treeMemoryMb(root: number): { rss: number; pss: number; processes: number } {
  const pids = processTree(root);
  const rss = pids.reduce((sum, pid) => sum + kb(pid, 'status', /VmRSS:\s+(\d+) kB/), 0);
  const pss = pids.reduce((sum, pid) => sum + kb(pid, 'smaps_rollup', /^Pss:\s+(\d+) kB/m), 0);
  return { rss: rss / 1024, pss: pss / 1024, processes: pids.length };
}

/**
 * The peak RSS and PSS of a process tree over a measuring window, sampled from outside every `everyMs`
 * (and once more at stop()): the same reading for any consumer, Node or JVM, without a forced GC.
 */
export class TreeMemorySampler {
  private rss = 0;
  private pss = 0;
  private samples = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly root: number,
    everyMs = 1000,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  private sample(): void {
    const { rss, pss } = treeMemoryMb(this.root);
    if (rss === 0) return; // gone
    this.rss = Math.max(this.rss, rss);
    this.pss = Math.max(this.pss, pss);
    this.samples++;
  }

  stop(): { rssMb: number; pssMb: number; samples: number } {
    clearInterval(this.timer);
    this.sample();
    return { rssMb: this.rss, pssMb: this.pss, samples: this.samples };
  }
}
