import type { Lease } from './lease';
import { JavaRandom, javaShuffle } from './java-random';

const DETERMINISTIC_SHUFFLE_SEED = 1947;

/**
 * The Java KCL 2.x shard-sync leader: the distinct lease owners, sorted, shuffled with
 * java.util.Random(1947), first one. A mixed fleet of Java and native workers agrees on it.
 * With no owners at all (a fresh application) every worker may sync: lease creation is conditional.
 */
export function isShardSyncLeader(leases: readonly Lease[], workerId: string): boolean {
  const owners = [...new Set(leases.map((lease) => lease.leaseOwner).filter((owner): owner is string => !!owner))].sort();
  if (owners.length === 0) return true;
  return javaShuffle(owners, new JavaRandom(DETERMINISTIC_SHUFFLE_SEED))[0] === workerId;
}
