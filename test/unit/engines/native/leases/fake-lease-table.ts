/* eslint-disable @typescript-eslint/require-await -- an in-memory LeaseTable: its async methods answer at once */
import type { Lease } from '../../../../../lib/leases/lease';
import type { LeaseTable } from '../../../../../lib/leases/lease-table';

export const silentLogger = () => {
  const warnings: string[] = [];
  return { warnings, logger: { log() {}, warn: (m: string) => void warnings.push(m), error() {}, debug() {} } };
};

export function lease(leaseKey: string, leaseOwner: string | undefined, extra: Partial<Lease> = {}): Lease {
  return {
    leaseKey,
    leaseOwner,
    leaseCounter: 5,
    ownerSwitchesSinceCheckpoint: 0,
    checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
    parentShardIds: [],
    childShardIds: [],
    ...extra,
  };
}

/** A lease table in memory with the real conditions of take and renew. */
export class FakeLeaseTable {
  readonly rows = new Map<string, Lease>();
  /** Runs inside each takeLease before it answers: a slow answer, for instance. */
  onTake: () => void = () => undefined;
  /** Renewals of these keys never answer until their signal aborts. */
  readonly hangRenewals = new Set<string>();
  readonly renewSignals: (AbortSignal | undefined)[] = [];

  constructor(leases: Lease[]) {
    for (const l of leases) this.rows.set(l.leaseKey, l);
  }

  asTable(): LeaseTable {
    return this as unknown as LeaseTable;
  }

  /** Another worker renews: the counter moves. */
  bump(leaseKey: string): void {
    const row = this.rows.get(leaseKey)!;
    this.rows.set(leaseKey, { ...row, leaseCounter: row.leaseCounter + 1 });
  }

  async listLeases(): Promise<Lease[]> {
    return [...this.rows.values()];
  }

  async getLease(leaseKey: string): Promise<Lease | undefined> {
    return this.rows.get(leaseKey);
  }

  async takeLease(l: Lease, owner: string): Promise<Lease | undefined> {
    this.onTake();
    const row = this.rows.get(l.leaseKey);
    if (!row || row.leaseCounter !== l.leaseCounter) return undefined;
    const taken = { ...row, leaseOwner: owner, leaseCounter: row.leaseCounter + 1 };
    this.rows.set(l.leaseKey, taken);
    return taken;
  }

  async renewLease(l: Lease, signal?: AbortSignal): Promise<Lease | undefined> {
    this.renewSignals.push(signal);
    if (this.hangRenewals.has(l.leaseKey)) {
      await new Promise((_, reject) =>
        signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))),
      );
    }
    const row = this.rows.get(l.leaseKey);
    if (!row || row.leaseCounter !== l.leaseCounter || row.leaseOwner !== l.leaseOwner) return undefined;
    const renewed = { ...row, leaseCounter: row.leaseCounter + 1 };
    this.rows.set(l.leaseKey, renewed);
    return renewed;
  }

  async evictLease(l: Lease): Promise<boolean> {
    const row = this.rows.get(l.leaseKey);
    if (!row || row.leaseOwner !== l.leaseOwner) return false;
    this.rows.set(l.leaseKey, { ...row, leaseOwner: undefined, leaseCounter: row.leaseCounter + 1 });
    return true;
  }
}
