import { KinesisWorkerConfigError } from '../core/errors';
import type { Lease } from './lease';

/** Where the worker's options chose the format, for the error message. */
export interface LeaseFormatChoice {
  readonly multiStream: boolean;
  readonly streams: readonly string[];
  readonly appName: string;
  readonly tableName: string;
}

const MAX_EXAMPLES = 3;

/**
 * A lease table holds one format. A multi-stream worker on a single-stream table (or the reverse) would
 * not recognise the existing leases: it would create a second set of leases for the same shards and
 * read them again from the initial position. So the mismatch is a bootstrap error, detected from the
 * rows already in the table (an empty table takes either format).
 */
export function checkLeaseFormat(leases: readonly Lease[], choice: LeaseFormatChoice): void {
  const foreign = leases.filter((lease) => (lease.streamIdentifier !== undefined) !== choice.multiStream);
  if (foreign.length === 0) return;
  const examples = foreign
    .slice(0, MAX_EXAMPLES)
    .map((lease) => `'${lease.leaseKey}'`)
    .join(', ');
  const tableOption = choice.tableName === choice.appName ? 'appName' : 'tableName';
  if (choice.multiStream) {
    throw new KinesisWorkerConfigError(
      'streams',
      `the lease table '${choice.tableName}' holds single-stream leases (keys such as ${examples}, written by an application of one stream), ` +
        `but this worker was given streams ${JSON.stringify(choice.streams)} and uses the multi-stream lease format (keys account:stream:creationEpoch:shardId; chosen by streams or multiStream: true). ` +
        `Their keys do not match, so the existing checkpoints would be ignored. Give the multi-stream application its own ${tableOption} (its shards start at initialPosition), ` +
        `or consume the table's one stream with streamName instead of streams, without multiStream: true.`,
    );
  }
  throw new KinesisWorkerConfigError(
    'streamName',
    `the lease table '${choice.tableName}' holds multi-stream leases (keys such as ${examples}, written by an application of several streams), ` +
      `but this worker was given streamName '${choice.streams[0]}' and uses the single-stream lease format (key = shard id). ` +
      `Their keys do not match, so the existing checkpoints would be ignored. Use streams: ['${choice.streams[0]}'] (and the application's other streams), or with Nest multiStream: true, to join that application, ` +
      `or give this worker its own ${tableOption}.`,
  );
}
