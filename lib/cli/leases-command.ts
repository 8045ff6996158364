import { shardIdOf, type Lease } from '../leases/lease';
import { parseStreamIdentifier } from '../leases/stream-identifier';
import { LeaseTable } from '../leases/lease-table';
import { cliClients, type AwsFlags } from './aws-clients';
import type { Io } from './io';

export interface LeasesFlags extends AwsFlags {
  table?: string;
  json?: boolean;
  watch?: boolean;
}

/** `leases <appName>`: the lease table as a table (or JSON); --watch redraws it every 2 s until Ctrl+C. */
export async function leasesCommand(appName: string, flags: LeasesFlags, io: Io): Promise<number> {
  const { dynamodb, kinesis } = cliClients(flags);
  kinesis.destroy();
  const skipped: string[] = [];
  const table = new LeaseTable(dynamodb, flags.table ?? appName, {
    log: () => undefined,
    warn: (line) => void skipped.push(line),
    error: () => undefined,
  });
  try {
    for (;;) {
      const leases = await table.listLeases();
      const text = flags.json ? JSON.stringify(leases.map(toRow), null, 2) : render(leases, flags.table ?? appName);
      io.out(flags.watch ? `\x1b[2J\x1b[H${text}` : text);
      for (const line of skipped.splice(0)) io.err(line);
      if (!flags.watch || !(await io.wait(2_000))) return 0;
    }
  } finally {
    dynamodb.destroy();
  }
}

function toRow(lease: Lease) {
  const stream = lease.streamIdentifier === undefined ? undefined : parseStreamIdentifier(lease.streamIdentifier);
  return {
    shardId: shardIdOf(lease),
    // A multi-stream table (several streams, Java KCL 2.3+ format): the key and the stream it names.
    ...(stream ? { leaseKey: lease.leaseKey, streamName: stream.streamName, streamIdentifier: lease.streamIdentifier } : {}),
    owner: lease.leaseOwner ?? null,
    counter: lease.leaseCounter,
    checkpoint: lease.checkpoint.sequenceNumber,
    subSequenceNumber: lease.checkpoint.subSequenceNumber,
    parents: lease.parentShardIds,
    children: lease.childShardIds,
  };
}

function render(leases: readonly Lease[], tableName: string): string {
  const rows = leases.map((lease) => [
    lease.leaseKey,
    lease.leaseOwner ?? '(none)',
    String(lease.leaseCounter),
    lease.checkpoint.subSequenceNumber > 0
      ? `${lease.checkpoint.sequenceNumber}/${lease.checkpoint.subSequenceNumber}`
      : lease.checkpoint.sequenceNumber,
    lease.parentShardIds.join(',') || '-',
    lease.childShardIds.join(',') || '-',
  ]);
  const header = ['SHARD', 'OWNER', 'COUNTER', 'CHECKPOINT', 'PARENTS', 'CHILDREN'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const owners = new Set(leases.map((l) => l.leaseOwner).filter(Boolean));
  return [`Lease table ${tableName}: ${leases.length} leases, ${owners.size} workers.`, line(header), ...rows.map(line)].join('\n');
}
