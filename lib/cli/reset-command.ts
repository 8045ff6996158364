import { isFinished, shardIdOf, type Lease } from '../leases/lease';
import { LeaseTable } from '../leases/lease-table';
import { parseStreamIdentifier } from '../leases/stream-identifier';
import { cliDynamoDb, type AwsFlags } from './aws-clients';
import { awsFailure, CliError } from './errors';
import type { Io } from './io';
import { workersOf } from './leases-command';
import { UsageError } from './usage';

export interface ResetFlags extends AwsFlags {
  table?: string;
  to?: string;
  force?: boolean;
  yes?: boolean;
  json?: boolean;
  'dry-run'?: boolean;
  shard?: string[];
  stream?: string[];
}

const POSITIONS = ['TRIM_HORIZON', 'LATEST', 'AT_TIMESTAMP'];

/**
 * `reset <appName> --to TRIM_HORIZON|LATEST|AT_TIMESTAMP` (the last for workers started with
 * initialPosition: { timestamp }): moves the checkpoint of every unfinished lease (or of those
 * --shard / --stream pick), each with a conditional write on its counter. It refuses while a picked
 * lease is worked on (leaseOwner, or checkpointOwner: a KCL 3.x hand-over whose previous owner still
 * processes the shard) unless --force, and asks first unless --yes. --dry-run says what it would
 * reset and changes nothing. Finished leases (SHARD_END) stay. Each checkpoint it overwrites is
 * printed, so that it can be put back by hand.
 */
export async function resetCommand(appName: string, flags: ResetFlags, requestTimeoutS: number, io: Io): Promise<number> {
  const to = flags.to ?? 'TRIM_HORIZON';
  if (!POSITIONS.includes(to)) {
    throw new UsageError(
      /^\d{4}-\d\d-\d\d/.test(to)
        ? `--to ${to}: the lease table stores no time (as with the Java KCL). Reset with --to AT_TIMESTAMP and start the workers with initialPosition: { timestamp: new Date('${to}') }.`
        : `--to must be TRIM_HORIZON, LATEST or AT_TIMESTAMP, got '${to}'.`,
    );
  }
  const dryRun = flags['dry-run'] === true;
  const tableName = flags.table ?? appName;
  const dynamodb = await cliDynamoDb(flags, requestTimeoutS);
  const table = new LeaseTable(dynamodb.client, tableName, { log: () => undefined, warn: (line) => io.err(line), error: () => undefined });
  try {
    const all = await table.listLeases().catch(async (error: unknown) => {
      throw await awsFailure(error, { dynamodb, appName, tableName, action: 'dynamodb:Scan' });
    });
    const picked = pick(all, flags, tableName);
    const filtered = (flags.shard?.length ?? 0) + (flags.stream?.length ?? 0) > 0;
    const finished = picked.filter(isFinished);
    if (filtered && finished.length > 0)
      io.err(`Left as they are: ${finished.map((l) => l.leaseKey).join(', ')}, finished (SHARD_END): their children hold what came after.`);
    const leases = picked.filter((lease) => !isFinished(lease));
    if (filtered && leases.length === 0) throw new CliError(`nothing to reset in ${tableName}: every lease picked is finished.`);
    const scope = filtered ? `${leases.length} of the ${all.filter((l) => !isFinished(l)).length} unfinished` : `${leases.length}`;

    if (dryRun) {
      if (flags.json) io.out(JSON.stringify(report(appName, tableName, to, true, leases, []), null, 2));
      else {
        io.out(`Dry run: would reset ${scope} checkpoints of ${tableName} to ${to}; nothing was changed.`);
        for (const lease of leases) io.out(`  ${lease.leaseKey}: ${checkpointText(lease)} -> ${to}${workedOnBy(lease)}`);
      }
    }
    const owned = leases.filter((lease) => workersOf(lease).length > 0);
    if (owned.length > 0 && !flags.force) {
      io.err(
        `Refusing: ${owned.length} of ${leases.length} leases of ${tableName} to reset are owned (${[...new Set(owned.flatMap(workersOf))].join(', ')}). ` +
          'Stop the workers first (their leases are released when they stop; a KCL 3.x hand-over ends when the previous owner has finished), ' +
          'or pass --force: running workers keep reading from where they are and may write their own checkpoints over the reset.',
      );
      return 1;
    }
    if (dryRun) return 0;
    if (!flags.yes) {
      const answer = await io.ask(`Reset ${scope} checkpoints of ${tableName} to ${to}? Type the table name to confirm: `);
      if (answer?.trim() !== tableName) {
        io.err('Not confirmed; nothing was changed.');
        return 1;
      }
    }
    const done: Lease[] = [];
    const raced: Lease[] = [];
    for (const [index, lease] of leases.entries()) {
      const reset = await table.resetCheckpoint(lease, { sequenceNumber: to, subSequenceNumber: 0 }).catch(async (error: unknown) => {
        const notDone = leases.slice(index).map((l) => l.leaseKey);
        throw await awsFailure(error, {
          dynamodb,
          appName,
          tableName,
          action: 'dynamodb:UpdateItem',
          progress:
            `Reset ${done.length} of ${leases.length} checkpoints before the failure${done.length > 0 ? ` (${done.map((l) => l.leaseKey).join(', ')})` : ''}; ` +
            `not reset: ${notDone.join(', ')}. Run the command again${done.length > 0 ? ' with --shard for those' : ''}.`,
        });
      });
      if (!reset) {
        raced.push(lease);
        continue;
      }
      done.push(lease);
      if (!flags.json) io.out(`  ${lease.leaseKey}: ${checkpointText(lease)} -> ${to}`);
    }
    if (flags.json) io.out(JSON.stringify(report(appName, tableName, to, false, done, raced), null, 2));
    else io.out(`Reset ${done.length} checkpoints of ${tableName} to ${to}.`);
    if (raced.length > 0) {
      io.err(
        `${raced.length} leases changed while being reset and were left as they are: ${raced.map((l) => l.leaseKey).join(', ')}. Run the command again.`,
      );
      return 1;
    }
    return 0;
  } finally {
    dynamodb.client.destroy();
  }
}

/** The leases --stream and --shard name (every lease without them); a name that matches nothing is an error, never a silent no-op. */
function pick(all: readonly Lease[], flags: ResetFlags, tableName: string): Lease[] {
  const streamOf = (lease: Lease) =>
    lease.streamIdentifier === undefined ? undefined : parseStreamIdentifier(lease.streamIdentifier)?.streamName;
  let picked = [...all];
  const streams = flags.stream ?? [];
  if (streams.length > 0) {
    const known = [...new Set(all.map(streamOf).filter((s): s is string => s !== undefined))];
    if (known.length === 0)
      throw new CliError(
        `--stream: the leases of ${tableName} name no stream (a single-stream application, whose table holds the leases of one stream). ` +
          'Leave --stream out, or pick shards with --shard.',
      );
    for (const stream of streams)
      if (!known.includes(stream))
        throw new CliError(`--stream ${stream}: no lease of ${tableName} is for that stream (streams: ${known.join(', ')}).`);
    picked = picked.filter((lease) => streams.includes(streamOf(lease) ?? ''));
  }
  const shards = flags.shard ?? [];
  if (shards.length > 0) {
    const matches = (lease: Lease, shard: string) => lease.leaseKey === shard || shardIdOf(lease) === shard;
    for (const shard of shards) {
      const found = picked.filter((lease) => matches(lease, shard));
      if (found.length === 0)
        throw new CliError(
          `--shard ${shard}: no lease of ${tableName}${streams.length > 0 ? ` for ${streams.join(', ')}` : ''} is for that shard ` +
            `(shards: ${[...new Set(picked.map(shardIdOf))].join(', ') || 'none'}).`,
        );
      const inStreams = new Set(found.map(streamOf));
      if (inStreams.size > 1)
        throw new CliError(
          `--shard ${shard} is a shard of ${inStreams.size} streams in ${tableName} (${[...inStreams].join(', ')}): add --stream NAME, or give the lease key (${found[0].leaseKey}).`,
        );
    }
    picked = picked.filter((lease) => shards.some((shard) => matches(lease, shard)));
  }
  return picked;
}

function checkpointText(lease: Lease): string {
  const { sequenceNumber, subSequenceNumber } = lease.checkpoint;
  return subSequenceNumber > 0 ? `${sequenceNumber}/${subSequenceNumber}` : sequenceNumber;
}

function workedOnBy(lease: Lease): string {
  if (lease.checkpointOwner !== undefined)
    return ` (owner ${lease.leaseOwner ?? '(none)'}, hand-over from ${lease.checkpointOwner} in progress)`;
  return lease.leaseOwner === undefined ? '' : ` (owner ${lease.leaseOwner})`;
}

function report(appName: string, tableName: string, to: string, dryRun: boolean, reset: readonly Lease[], raced: readonly Lease[]) {
  return {
    application: appName,
    table: tableName,
    to,
    dryRun,
    // What was (dryRun: would be) reset, with the checkpoint it had: enough to put it back by hand.
    reset: reset.map((lease) => ({
      leaseKey: lease.leaseKey,
      shardId: shardIdOf(lease),
      owner: lease.leaseOwner ?? null,
      checkpointOwner: lease.checkpointOwner ?? null,
      previousCheckpoint: lease.checkpoint.sequenceNumber,
      previousSubSequenceNumber: lease.checkpoint.subSequenceNumber,
    })),
    changedMeanwhile: raced.map((lease) => lease.leaseKey),
  };
}
