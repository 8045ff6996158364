import { shardIdOf, type Lease } from '../leases/lease';
import { parseStreamIdentifier } from '../leases/stream-identifier';
import { LeaseTable } from '../leases/lease-table';
import { cliDynamoDb, type AwsFlags } from './aws-clients';
import { awsFailure } from './errors';
import type { Io } from './io';

export interface LeasesFlags extends AwsFlags {
  table?: string;
  json?: boolean;
  watch?: boolean;
}

const CLEAR_SCREEN = '\x1b[2J\x1b[H';

/**
 * `leases <appName>`: the lease table as a table (or JSON); --watch shows it again every 2 s until
 * Ctrl+C. Escape codes only where they belong: --watch clears the screen between tables when stdout
 * is a terminal; --watch --json writes one JSON document per line per refresh, and nothing else.
 */
export async function leasesCommand(appName: string, flags: LeasesFlags, requestTimeoutS: number, io: Io): Promise<number> {
  const dynamodb = await cliDynamoDb(flags, requestTimeoutS);
  const tableName = flags.table ?? appName;
  const skipped: string[] = [];
  const table = new LeaseTable(dynamodb.client, tableName, {
    log: () => undefined,
    warn: (line) => void skipped.push(line),
    error: () => undefined,
  });
  try {
    for (let refresh = 0; ; refresh++) {
      const leases = await table.listLeases().catch(async (error: unknown) => {
        throw await awsFailure(error, { dynamodb, appName, tableName, action: 'dynamodb:Scan' });
      });
      if (flags.json) io.out(JSON.stringify(leases.map(leaseRow), null, flags.watch ? undefined : 2));
      else if (!flags.watch) io.out(render(leases, tableName));
      else if (io.isTerminal) io.out(`${CLEAR_SCREEN}${render(leases, tableName)}`);
      else io.out(`${refresh > 0 ? '\n' : ''}${new Date().toISOString()}\n${render(leases, tableName)}`);
      for (const line of skipped.splice(0)) io.err(line);
      if (!flags.watch || !(await io.wait(2_000))) return 0;
    }
  } finally {
    dynamodb.client.destroy();
  }
}

/** A lease as `leases --json` and `reset --json` print it. */
export function leaseRow(lease: Lease) {
  const stream = lease.streamIdentifier === undefined ? undefined : parseStreamIdentifier(lease.streamIdentifier);
  return {
    shardId: shardIdOf(lease),
    // A multi-stream table (several streams, Java KCL 2.3+ format): the key and the stream it names.
    ...(stream ? { leaseKey: lease.leaseKey, streamName: stream.streamName, streamIdentifier: lease.streamIdentifier } : {}),
    owner: lease.leaseOwner ?? null,
    // KCL 3.x graceful hand-over in progress: the previous owner, still processing the shard.
    checkpointOwner: lease.checkpointOwner ?? null,
    counter: lease.leaseCounter,
    checkpoint: lease.checkpoint.sequenceNumber,
    subSequenceNumber: lease.checkpoint.subSequenceNumber,
    parents: lease.parentShardIds,
    children: lease.childShardIds,
  };
}

/** Who works on a lease: its owner, and during a KCL 3.x hand-over the previous owner, still processing. */
export function workersOf(lease: Lease): string[] {
  return [lease.leaseOwner, lease.checkpointOwner].filter((worker): worker is string => worker !== undefined);
}

function ownerCell(lease: Lease): string {
  const owner = lease.leaseOwner ?? '(none)';
  return lease.checkpointOwner === undefined ? owner : `${owner} <- ${lease.checkpointOwner}`;
}

function render(leases: readonly Lease[], tableName: string): string {
  const rows = leases.map((lease) => [
    lease.leaseKey,
    ownerCell(lease),
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
  const workers = new Set(leases.flatMap(workersOf));
  const handOvers = leases.filter((lease) => lease.checkpointOwner !== undefined).length;
  return [
    `Lease table ${tableName}: ${leases.length} leases, ${workers.size} workers.`,
    line(header),
    ...rows.map(line),
    ...(handOvers > 0
      ? [`(new <- previous: ${handOvers} KCL 3.x hand-overs in progress; the previous owner still processes the shard.)`]
      : []),
  ].join('\n');
}
