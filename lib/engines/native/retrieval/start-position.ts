import type { ExtendedSequenceNumber } from '../../../core/record';
import { isSequenceNumber } from '../../../core/sequence-number';

/**
 * A LATEST start reads from the server's own LATEST position, fixed when the lease is taken (see
 * latestAnchorOf). If that first position is lost before any record was read (its iterator expired or
 * was refused, its subscription failed), the reader falls back to AT_TIMESTAMP of the moment the lease
 * was taken, less this margin for the difference between this host's clock and Kinesis' arrival
 * timestamps: then a record that arrived up to this long before the take may be delivered; none put
 * after it is ever skipped.
 */
export const LATEST_CLOCK_MARGIN_MS = 1_000;

/**
 * How long a LATEST lease's first position (GetShardIterator LATEST, or the first SubscribeToShard LATEST)
 * is waited for when the lease is taken. The taker pass, and so start(), waits for it; past this the
 * fallback above applies, which skips nothing either.
 */
export const LATEST_ANCHOR_TIMEOUT_MS = 5_000;

/** Where a shard's reader starts or resumes: GetShardIterator's and SubscribeToShard's StartingPosition alike. */
export interface ReadPosition {
  readonly type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER' | 'TRIM_HORIZON' | 'AT_TIMESTAMP' | 'LATEST';
  readonly sequenceNumber?: string;
  readonly timestamp?: Date;
}

export interface ReadStart {
  /** The lease's checkpoint: a sequence number, TRIM_HORIZON, LATEST or AT_TIMESTAMP. */
  readonly start: ExtendedSequenceNumber;
  /** The configured initialPosition timestamp, for an AT_TIMESTAMP checkpoint. */
  readonly startTimestamp?: Date;
  /** When this worker took the lease: where a LATEST start falls back to (less the margin) once its first position is lost. */
  readonly leaseTakenAt: Date;
}

/**
 * Both readers map positions alike, so that a shard read by polling and later by fan-out (or the other way
 * round) neither skips nor repeats a record:
 * - after the last record delivered: AFTER_SEQUENCE_NUMBER (whole records are delivered, so this is exact
 *   even for KPL-aggregated records);
 * - at a checkpointed sequence number: AT_SEQUENCE_NUMBER, and the reader drops what is not after the
 *   checkpoint (dropNotAfter), so a checkpoint inside an aggregated record resumes at the right sub-record;
 * - LATEST, whenever the reader needs a position again (its first one, taken at the lease's taking by
 *   latestAnchorOf, is lost before any record was read): AT_TIMESTAMP of the lease's taking, less
 *   LATEST_CLOCK_MARGIN_MS; never a fresh LATEST, which would skip what was put in between;
 * - TRIM_HORIZON and AT_TIMESTAMP as they are. Undefined: a checkpoint nobody can start from.
 */
export function readPositionOf(config: ReadStart, lastRead: ExtendedSequenceNumber | undefined): ReadPosition | undefined {
  const { start } = config;
  if (lastRead) return { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: lastRead.sequenceNumber };
  if (isSequenceNumber(start.sequenceNumber)) return { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: start.sequenceNumber };
  if (start.sequenceNumber === 'AT_TIMESTAMP' && config.startTimestamp) return { type: 'AT_TIMESTAMP', timestamp: config.startTimestamp };
  if (start.sequenceNumber === 'LATEST')
    return { type: 'AT_TIMESTAMP', timestamp: new Date(config.leaseTakenAt.getTime() - LATEST_CLOCK_MARGIN_MS) };
  if (start.sequenceNumber === 'TRIM_HORIZON') return { type: 'TRIM_HORIZON' };
  return undefined;
}

/**
 * The first position of a LATEST lease, asked for once, when the lease is taken: the server's own LATEST,
 * so that nothing put before the take is delivered and nothing after it is skipped (the Java KCL also
 * starts at the LATEST iterator it gets). Undefined for any other start: those positions do not move.
 */
export function latestAnchorOf(config: Pick<ReadStart, 'start'>): ReadPosition | undefined {
  return config.start.sequenceNumber === 'LATEST' ? { type: 'LATEST' } : undefined;
}

/** What a read at the checkpoint must drop: the records at or before a checkpointed sequence number. */
export function dropNotAfter(start: ExtendedSequenceNumber): ExtendedSequenceNumber | undefined {
  return isSequenceNumber(start.sequenceNumber) ? start : undefined;
}
