import type { Lease } from '../../../../../lib/leases/lease';
import type { LeaseTable } from '../../../../../lib/leases/lease-table';
import type { ExtendedSequenceNumber } from '../../../../../lib';

type Operation = 'getLease' | 'createLeaseIfNotExists' | 'updateChildShards' | 'updateCheckpoint' | 'renewLease' | 'evictLease';

/**
 * The lease table in memory, with the real conditions (counter and owner). `fail` queues errors for
 * one operation; `history` records every successful write in order.
 */
export class FakeLeaseTable {
  readonly rows = new Map<string, Lease>();
  readonly history: string[] = [];
  private readonly failures = new Map<Operation, Error[]>();
  private readonly permanentFailures = new Map<Operation, Error>();

  constructor(...leases: Lease[]) {
    for (const lease of leases) this.rows.set(lease.leaseKey, lease);
  }

  asTable(): LeaseTable {
    return this as unknown as LeaseTable;
  }

  fail(operation: Operation, ...errors: Error[]): void {
    this.failures.set(operation, [...(this.failures.get(operation) ?? []), ...errors]);
  }

  /** Every call of `operation` fails from now on. */
  failAlways(operation: Operation, error: Error): void {
    this.permanentFailures.set(operation, error);
  }

  private maybeFail(operation: Operation): void {
    const error = this.permanentFailures.get(operation) ?? this.failures.get(operation)?.shift();
    if (error) throw error;
  }

  private async write(operation: Operation, lease: Lease, change: Partial<Lease>, label: string): Promise<Lease | undefined> {
    await Promise.resolve();
    this.maybeFail(operation);
    const row = this.rows.get(lease.leaseKey);
    if (!row || row.leaseCounter !== lease.leaseCounter || row.leaseOwner !== lease.leaseOwner) return undefined;
    const next = { ...row, ...change, leaseCounter: row.leaseCounter + 1 };
    this.rows.set(lease.leaseKey, next);
    this.history.push(label);
    return next;
  }

  async getLease(leaseKey: string): Promise<Lease | undefined> {
    await Promise.resolve();
    this.maybeFail('getLease');
    return this.rows.get(leaseKey);
  }

  async createLeaseIfNotExists(lease: Pick<Lease, 'leaseKey' | 'checkpoint' | 'parentShardIds'>): Promise<boolean> {
    await Promise.resolve();
    this.maybeFail('createLeaseIfNotExists');
    if (this.rows.has(lease.leaseKey)) return false;
    this.rows.set(lease.leaseKey, { ...lease, leaseCounter: 0, ownerSwitchesSinceCheckpoint: 0, childShardIds: [] });
    this.history.push(`create ${lease.leaseKey}`);
    return true;
  }

  renewLease(lease: Lease) {
    return this.write('renewLease', lease, {}, 'renew');
  }

  updateCheckpoint(lease: Lease, checkpoint: ExtendedSequenceNumber) {
    return this.write('updateCheckpoint', lease, { checkpoint }, `checkpoint ${checkpoint.sequenceNumber}`);
  }

  updateChildShards(lease: Lease, childShardIds: readonly string[]) {
    return this.write('updateChildShards', lease, { childShardIds }, `childShardIds ${childShardIds.join(',')}`);
  }

  async evictLease(lease: Lease): Promise<boolean> {
    await Promise.resolve();
    this.maybeFail('evictLease');
    const row = this.rows.get(lease.leaseKey);
    if (!row || row.leaseOwner !== lease.leaseOwner) return false;
    this.rows.set(lease.leaseKey, { ...row, leaseOwner: undefined, leaseCounter: row.leaseCounter + 1 });
    this.history.push(`evict ${lease.leaseKey}`);
    return true;
  }
}

export function lease(leaseKey: string, change: Partial<Lease> = {}): Lease {
  return {
    leaseKey,
    leaseOwner: 'me',
    leaseCounter: 1,
    ownerSwitchesSinceCheckpoint: 0,
    checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
    parentShardIds: [],
    childShardIds: [],
    ...change,
  };
}

export const throttled = () =>
  Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
export const serverError = () =>
  Object.assign(new Error('We encountered an internal error'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
export const accessDenied = () =>
  Object.assign(new Error('not authorized to perform dynamodb:GetItem'), {
    name: 'AccessDeniedException',
    $metadata: { httpStatusCode: 400 },
  });

export class LinesLogger {
  readonly lines: string[] = [];
  log = (m: string) => void this.lines.push(`LOG ${m}`);
  warn = (m: string) => void this.lines.push(`WARN ${m}`);
  error = (m: string) => void this.lines.push(`ERROR ${m}`);
}
