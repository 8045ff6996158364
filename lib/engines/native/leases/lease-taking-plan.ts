import type { Lease } from '../../../leases/lease';

export interface TakingInput {
  /** Unfinished leases from the latest scan. */
  readonly leases: readonly Lease[];
  readonly workerId: string;
  /** Keys of the leases judged expired by this worker's clock (unowned ones included). */
  readonly expired: ReadonlySet<string>;
  /** Keys of the leases this worker holds and renews right now. */
  readonly held: ReadonlySet<string>;
  readonly maxLeasesForWorker: number;
  readonly maxLeasesToStealAtOneTime: number;
  /** Picks among equals; tests pass a deterministic one. */
  readonly shuffle?: <T>(items: T[]) => T[];
}

export interface TakingPlan {
  readonly target: number;
  readonly take: readonly Lease[];
  /** Set when the plan steals: the worker it steals from. */
  readonly stealFrom?: string;
}

function randomShuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * The KCL 2.x taker's arithmetic: aim at ceil(leases / live workers), take expired leases first,
 * and only when none are expired steal from the most loaded worker.
 */
export function planLeaseTaking(input: TakingInput): TakingPlan {
  const shuffle = input.shuffle ?? randomShuffle;
  const live = new Map<string, number>([[input.workerId, 0]]);
  const available: Lease[] = [];
  for (const lease of input.leases) {
    const mine = lease.leaseOwner === input.workerId;
    if (mine && input.held.has(lease.leaseKey)) {
      live.set(input.workerId, live.get(input.workerId)! + 1);
    } else if (input.expired.has(lease.leaseKey)) {
      available.push(lease);
    } else if (mine) {
      // Our workerId but not held here: another process with the same workerId, or this process's
      // earlier run. Either way it waits for expiry like any other owner's lease; taking it at once
      // would make two processes with one workerId take a shard from each other forever.
    } else {
      live.set(lease.leaseOwner!, (live.get(lease.leaseOwner!) ?? 0) + 1);
    }
  }
  const total = input.leases.length;
  if (total === 0) return { target: 0, take: [] };
  const target = Math.min(Math.ceil(total / live.size), input.maxLeasesForWorker);
  const myCount = live.get(input.workerId)!;
  const needed = target - myCount;
  if (needed <= 0) return { target, take: [] };

  if (available.length > 0) {
    return { target, take: shuffle([...available]).slice(0, needed) };
  }

  let mostLoaded: string | undefined;
  let mostLoadedCount = 0;
  for (const [owner, count] of live) {
    if (owner !== input.workerId && count > mostLoadedCount) [mostLoaded, mostLoadedCount] = [owner, count];
  }
  if (mostLoaded === undefined || mostLoadedCount < target) return { target, take: [] };
  let toSteal = Math.min(needed, mostLoadedCount - target);
  // Two workers at target + 1 and target - 1 would otherwise never even out.
  if (needed > 1 && toSteal === 0) toSteal = 1;
  toSteal = Math.min(toSteal, input.maxLeasesToStealAtOneTime);
  if (toSteal <= 0) return { target, take: [] };
  const candidates = shuffle(input.leases.filter((lease) => lease.leaseOwner === mostLoaded));
  return { target, take: candidates.slice(0, toSteal), stealFrom: mostLoaded };
}
