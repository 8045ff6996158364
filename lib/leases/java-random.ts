const MULTIPLIER = 0x5deece66dn;
const ADDEND = 0xbn;
const MASK = (1n << 48n) - 1n;

/** java.util.Random, bit for bit: the Java KCL elects its shard-sync leader with it. */
export class JavaRandom {
  private seed: bigint;

  constructor(seed: number | bigint) {
    this.seed = (BigInt(seed) ^ MULTIPLIER) & MASK;
  }

  private next(bits: number): number {
    this.seed = (this.seed * MULTIPLIER + ADDEND) & MASK;
    return Number(BigInt.asIntN(32, this.seed >> BigInt(48 - bits)));
  }

  nextInt(bound: number): number {
    let r = this.next(31);
    const m = bound - 1;
    if ((bound & m) === 0) return Number((BigInt(bound) * BigInt(r)) >> 31n);
    for (let u = r; u - (r = u % bound) + m > 0x7fffffff || u - r + m < 0; u = this.next(31));
    return r;
  }
}

/** java.util.Collections.shuffle(list, rnd). */
export function javaShuffle<T>(items: T[], random: JavaRandom): T[] {
  for (let i = items.length; i > 1; i--) {
    const j = random.nextInt(i);
    [items[i - 1], items[j]] = [items[j], items[i - 1]];
  }
  return items;
}
