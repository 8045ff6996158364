import { isFinished, type Lease } from '../leases/lease';
import { LeaseTable } from '../leases/lease-table';
import { cliClients, type AwsFlags } from './aws-clients';
import type { Io } from './io';
import { UsageError } from './usage';

export interface ResetFlags extends AwsFlags {
  table?: string;
  to?: string;
  force?: boolean;
  yes?: boolean;
}

const POSITIONS = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'];

/**
 * `reset <appName> --to TRIM_HORIZON|LATEST|AT_TIMESTAMP` (the last for workers started with
 * initialPosition: { timestamp }): moves every unfinished lease's checkpoint, each with a
 * conditional write on its counter. It refuses while leases are owned (a running worker would keep
 * its own position) unless --force, and asks first unless --yes. Finished leases (SHARD_END) stay.
 */
export async function resetCommand(appName: string, flags: ResetFlags, io: Io): Promise<number> {
  const to = flags.to ?? 'TRIM_HORIZON';
  if (!POSITIONS.includes(to)) {
    throw new UsageError(
      /^\d{4}-\d\d-\d\d/.test(to)
        ? `--to ${to}: the lease table stores no time (as with the Java KCL). Reset with --to AT_TIMESTAMP and start the workers with initialPosition: { timestamp: new Date('${to}') }.`
        : `--to must be TRIM_HORIZON, LATEST or AT_TIMESTAMP, got '${to}'.`,
    );
  }
  const tableName = flags.table ?? appName;
  const { dynamodb, kinesis } = cliClients(flags);
  kinesis.destroy();
  const table = new LeaseTable(dynamodb, tableName, { log: () => undefined, warn: (line) => io.err(line), error: () => undefined });
  try {
    const leases = (await table.listLeases()).filter((lease) => !isFinished(lease));
    const owned = leases.filter((lease) => lease.leaseOwner !== undefined);
    if (owned.length > 0 && !flags.force) {
      io.err(
        `Refusing: ${owned.length} of ${leases.length} leases of ${tableName} are owned (${[...new Set(owned.map((l) => l.leaseOwner))].join(', ')}). Stop the workers first (their leases are released when they stop), or pass --force: running workers keep reading from where they are and may write their own checkpoints over the reset.`,
      );
      return 1;
    }
    if (!flags.yes) {
      const answer = await io.ask(`Reset ${leases.length} checkpoints of ${tableName} to ${to}? Type the table name to confirm: `);
      if (answer?.trim() !== tableName) {
        io.err('Not confirmed; nothing was changed.');
        return 1;
      }
    }
    let changed = 0;
    const raced: Lease[] = [];
    for (const lease of leases) {
      if (await table.resetCheckpoint(lease, { sequenceNumber: to, subSequenceNumber: 0 })) changed++;
      else raced.push(lease);
    }
    io.out(`Reset ${changed} checkpoints of ${tableName} to ${to}.`);
    if (raced.length > 0) {
      io.err(
        `${raced.length} leases changed while being reset and were left as they are: ${raced.map((l) => l.leaseKey).join(', ')}. Run the command again.`,
      );
      return 1;
    }
    return 0;
  } finally {
    dynamodb.destroy();
  }
}
