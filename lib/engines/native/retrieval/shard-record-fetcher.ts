import { GetRecordsCommand, GetShardIteratorCommand, type GetShardIteratorCommandInput, type KinesisClient } from '@aws-sdk/client-kinesis';
import { describeError } from '../../../core/aws-errors';
import type { WorkerLogger } from '../../../core/logger';
import type { ExtendedSequenceNumber, KinesisRecord } from '../../../core/record';
import { retry } from '../../../core/retry';
import type { RetryPolicy } from '../../../core/retry-policy';
import { compareExtended, isSequenceNumber, positionOf } from '../../../core/sequence-number';
import { listAllShards, type ChildShard } from '../../../leases/shard-lister';
import { CallPacer } from './call-pacer';
import { deaggregate } from './kpl-deaggregate';
import { pacedBy, PacingAbortedError } from './paced-command';
import { classifyReadError, missingPermission, type ReadOperation } from './read-errors';
import { toKinesisRecord } from './record-mapper';
import { LATEST_ANCHOR_TIMEOUT_MS, LATEST_CLOCK_MARGIN_MS, latestAnchorOf, readPositionOf, type ReadPosition } from './start-position';

export interface RecordBatch {
  readonly records: KinesisRecord[];
  readonly millisBehindLatest?: number;
  /** No more records will ever come from this shard. */
  readonly shardEnded: boolean;
  /** At shard end, when the service names the children (kinesalite does not). */
  readonly childShards?: readonly ChildShard[];
  /** The shard has nothing newer right now: wait idleTimeBetweenReadsMs before reading again. */
  readonly caughtUp: boolean;
  /** Gives the batch's room in the worker's read buffer back (retrieval.maxBufferedRecords/Bytes) once it is processed. */
  readonly release?: () => void;
}

export class FetchAbortedError extends Error {}

/** Throttling and 5xx back off from 200 ms to 10 s; permission errors are retried at that pace too. */
const READ_RETRY: RetryPolicy = { maxAttempts: Infinity, baseDelayMs: 200, maxDelayMs: 10_000 };
/** A problem that repeats (a missing permission) is logged again at most this often. */
const REPEAT_LOG_MS = 5 * 60_000;
/** A transient failure of the same kind (sustained throttling, a 5xx burst) is logged again at most this often. */
const REPEAT_WARN_MS = 30_000;
/** Kinesis allows 5 GetShardIterator calls per second per shard, whatever maxGetRecordsPerSecond says. */
const GET_SHARD_ITERATOR_PER_SECOND = 5;

export interface ShardRecordFetcherConfig {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly shardId: string;
  /** The lease's checkpoint: a sequence number, TRIM_HORIZON, LATEST or AT_TIMESTAMP. */
  readonly start: ExtendedSequenceNumber;
  /** The configured initialPosition timestamp: where an AT_TIMESTAMP checkpoint starts. None: such a checkpoint is refused. */
  readonly startTimestamp?: Date;
  /** When this worker took the lease: where LATEST falls back to if its first iterator (prime()) is lost before any record was read. */
  readonly leaseTakenAt: Date;
  readonly maxRecords: number;
  readonly maxCallsPerSecond: number;
  /** Called for each GetRecords attempt answered with throttling, the SDK's retries included (for the metrics). */
  readonly onThrottled?: () => void;
  readonly logger: WorkerLogger;
  readonly signal: AbortSignal;
}

/**
 * Reads one shard with GetShardIterator and GetRecords (the KCL's polling data fetcher).
 *
 * The iterator survives throttling, 5xx and network errors: a new one is requested only when the old
 * one is no longer valid, and always from a known position (after the last record read, at the
 * checkpoint, or at the pinned start), never from a fresh LATEST, which would skip what was put in
 * between. A LATEST lease's only LATEST iterator is the one prime() gets when the lease is taken. Starting from a checkpoint it reads AT the checkpointed sequence number and drops what is
 * not after it, so a checkpoint inside a KPL-aggregated record resumes at the right sub-record.
 */
export class ShardRecordFetcher {
  private iterator: string | undefined;
  private lastRead: ExtendedSequenceNumber | undefined;
  private readonly getRecordsPacer: CallPacer;
  private readonly iteratorPacer: CallPacer;
  private lastProblem: { text: string; loggedAt: number } | undefined;
  /** Per error name: when it was last logged, and since when it has been failing. */
  private readonly warnings = new Map<string, { loggedAt: number; since: number }>();
  /** The call that failed last, for naming the permission a denial is about. */
  private operation: ReadOperation = 'GetShardIterator';
  /** prime()'s LATEST iterator on its way; the first read waits for it. */
  private priming: Promise<void> | undefined;

  constructor(private readonly config: ShardRecordFetcherConfig) {
    this.getRecordsPacer = new CallPacer(config.maxCallsPerSecond);
    this.iteratorPacer = new CallPacer(Math.min(config.maxCallsPerSecond, GET_SHARD_ITERATOR_PER_SECOND));
  }

  /** A problem no retry solves by itself (a missing permission, an unreadable checkpoint), until it is gone. */
  get problem(): string | undefined {
    return this.lastProblem?.text;
  }

  /**
   * Fixes a LATEST lease's start at the server's LATEST now, when the lease is taken (once; nothing to do
   * for other starts). Never rejects: if the iterator does not come within LATEST_ANCHOR_TIMEOUT_MS, the
   * first read starts from the take time less the margin instead, which skips nothing either.
   */
  prime(): Promise<void> {
    const anchor = latestAnchorOf(this.config);
    if (!anchor || this.priming) return this.priming ?? Promise.resolve();
    const { signal } = this.config;
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(LATEST_ANCHOR_TIMEOUT_MS)]);
    this.priming = this.iteratorAt(anchor, bounded).then(
      (iterator) => void (this.iterator ??= iterator),
      (error: unknown) => {
        if (signal.aborted) return;
        this.config.logger.warn(
          `${this.where}: no LATEST iterator when the lease was taken (${bounded.aborted ? `no answer within ${LATEST_ANCHOR_TIMEOUT_MS} ms` : describeError(error)}); ` +
            `reading from when the lease was taken, less ${LATEST_CLOCK_MARGIN_MS} ms, instead: nothing put since is skipped, records up to ${LATEST_CLOCK_MARGIN_MS} ms older may be delivered.`,
        );
      },
    );
    return this.priming;
  }

  /** One batch of at most `limit` records (default maxRecords): the GetRecords Limit. */
  async fetch(limit = this.config.maxRecords): Promise<RecordBatch> {
    const { signal } = this.config;
    try {
      const batch = await retry(() => this.fetchOnce(limit), {
        policy: READ_RETRY,
        signal,
        retryable: (error) => !(error instanceof FetchAbortedError || error instanceof PacingAbortedError),
        onRetry: (error, attempt, delay) => this.onReadError(error, attempt, delay),
      });
      this.recovered();
      return batch;
    } catch (error) {
      if (signal.aborted || error instanceof FetchAbortedError || error instanceof PacingAbortedError) throw new FetchAbortedError();
      throw error;
    }
  }

  private async fetchOnce(maxRecords: number): Promise<RecordBatch> {
    const { kinesis, signal } = this.config;
    try {
      await this.priming;
      this.iterator ??= await this.newIterator();
      this.operation = 'GetRecords';
      const command = new GetRecordsCommand({ ShardIterator: this.iterator, Limit: maxRecords });
      const out = await kinesis.send(pacedBy(command, this.getRecordsPacer, signal, this.config.onThrottled), { abortSignal: signal });
      this.iterator = out.NextShardIterator;
      let records = (out.Records ?? []).flatMap((record) => deaggregate(toKinesisRecord(record), this.reportCorrupt));
      if (!this.lastRead && isSequenceNumber(this.config.start.sequenceNumber)) {
        records = records.filter((record) => compareExtended(positionOf(record), this.config.start) > 0);
      }
      const last = records.at(-1);
      if (last) this.lastRead = positionOf(last);
      return {
        records,
        millisBehindLatest: out.MillisBehindLatest,
        shardEnded: !out.NextShardIterator,
        childShards: out.ChildShards?.map((child) => ({
          shardId: child.ShardId!,
          parentShardIds: child.ParentShards ?? [this.config.shardId],
          hashKeyRange: child.HashKeyRange
            ? { startingHashKey: child.HashKeyRange.StartingHashKey!, endingHashKey: child.HashKeyRange.EndingHashKey! }
            : undefined,
        })),
        caughtUp:
          records.length === 0 || out.MillisBehindLatest === 0 || (out.MillisBehindLatest === undefined && records.length < maxRecords),
      };
    } catch (error) {
      if (signal.aborted) throw new FetchAbortedError();
      const kind = classifyReadError(error);
      if (kind === 'iterator') this.iterator = undefined;
      if (kind === 'not-found') return this.notFound(error);
      throw error;
    }
  }

  /**
   * ResourceNotFoundException names either the shard or the stream; ListShards tells which. A shard
   * the stream no longer lists is closed and past retention: it has ended (the Java KCL treats the
   * error itself as SHARD_END), so that its children start. A missing stream (deleted, not yet
   * created, a Kinesis that lost its data) is waited for: writing SHARD_END then would end the shard
   * for good. A shard that is still listed is read again.
   */
  private async notFound(error: unknown): Promise<RecordBatch> {
    const { kinesis, streamName, shardId } = this.config;
    this.operation = 'ListShards';
    const shards = await listAllShards(kinesis, streamName).catch((listError: unknown) => {
      if (classifyReadError(listError) !== 'not-found') throw listError;
      throw new StreamNotFoundError(this.where, listError);
    });
    if (shards.some((shard) => shard.ShardId === shardId)) throw error;
    this.config.logger.warn(
      `${this.where} no longer exists (${describeError(error)}; ListShards does not list it: closed and past retention); treating it as ended (SHARD_END), as the Java KCL does, so that its children start.`,
    );
    return { records: [], shardEnded: true, caughtUp: true };
  }

  private onReadError(error: unknown, attempt: number, delay: number): void {
    const { logger } = this.config;
    if (error instanceof UnreadablePositionError || error instanceof StreamNotFoundError || classifyReadError(error) === 'permission') {
      const text =
        error instanceof UnreadablePositionError || error instanceof StreamNotFoundError
          ? error.message
          : `${this.where} cannot be read: the worker needs ${missingPermission(error, this.operation)} (${describeError(error)}).`;
      const now = Date.now();
      const repeat = this.lastProblem?.text === text && now - this.lastProblem.loggedAt < REPEAT_LOG_MS;
      if (!repeat) {
        logger.error(
          `${text} Retrying every ${READ_RETRY.maxDelayMs / 1000} s at most; this is logged again in ${REPEAT_LOG_MS / 60_000} minutes if it persists.`,
        );
        this.lastProblem = { text, loggedAt: now };
      }
      return;
    }
    this.warnTransient(error, attempt, delay);
  }

  /** Sustained throttling or a 5xx burst gives one line per kind, then one every REPEAT_WARN_MS, not one per call. */
  private warnTransient(error: unknown, attempt: number, delay: number): void {
    const name = (error as { name?: string })?.name ?? 'Error';
    const now = Date.now();
    const last = this.warnings.get(name);
    if (last && now - last.loggedAt < REPEAT_WARN_MS) return;
    const repeated = last ? ` (failing now and then since ${new Date(last.since).toISOString()})` : '';
    this.config.logger.warn(
      `${this.operation} on ${this.where} failed (attempt ${attempt}), retrying in ${delay} ms${repeated}: ${describeError(error)}. ${
        classifyReadError(error) === 'iterator' ? 'A new iterator is taken from the last known position' : 'The iterator is kept'
      }; this error is logged again in ${REPEAT_WARN_MS / 1000} s at the earliest.`,
    );
    this.warnings.set(name, { loggedAt: now, since: last?.since ?? now });
  }

  /** A read went through: the problem is gone, and the next failure is news again. */
  private recovered(): void {
    if (this.lastProblem) this.config.logger.log(`${this.where} is read again; the earlier problem is resolved.`);
    this.lastProblem = undefined;
    this.warnings.clear();
  }

  private get where(): string {
    return `${this.config.streamName}/${this.config.shardId}`;
  }

  private readonly reportCorrupt = (record: KinesisRecord, error: Error) =>
    this.config.logger.warn(
      `Record ${record.sequenceNumber} on ${this.where} starts like a KPL aggregate but does not decode (${error.message}); delivering it as one plain record.`,
    );

  private async newIterator(): Promise<string> {
    const position = readPositionOf(this.config, this.lastRead);
    if (!position) throw new UnreadablePositionError(this.where, this.config.start.sequenceNumber);
    return this.iteratorAt(position, this.config.signal);
  }

  private async iteratorAt(position: ReadPosition, signal: AbortSignal): Promise<string> {
    const { kinesis, streamName, shardId } = this.config;
    const input: GetShardIteratorCommandInput = {
      StreamName: streamName,
      ShardId: shardId,
      ShardIteratorType: position.type,
      StartingSequenceNumber: position.sequenceNumber,
      Timestamp: position.timestamp,
    };
    this.operation = 'GetShardIterator';
    const out = await kinesis.send(pacedBy(new GetShardIteratorCommand(input), this.iteratorPacer, signal), { abortSignal: signal });
    return out.ShardIterator!;
  }
}

/** A checkpoint this worker cannot start from (AT_TIMESTAMP with no timestamp configured, or an unknown sentinel). */
export class UnreadablePositionError extends Error {
  constructor(where: string, checkpoint: string) {
    super(
      checkpoint === 'AT_TIMESTAMP'
        ? `${where} has the checkpoint AT_TIMESTAMP, written by a worker configured with a start timestamp, but this worker's initialPosition is not a timestamp, so it has no time to start from. Set initialPosition: { timestamp: new Date(...) } to the same time as that worker, or reset the checkpoint (TRIM_HORIZON or LATEST).`
        : `${where} has the checkpoint '${checkpoint}', which is neither a sequence number nor TRIM_HORIZON, LATEST or SHARD_END; reset it to TRIM_HORIZON or LATEST, or to a sequence number of the shard.`,
    );
    this.name = 'UnreadablePositionError';
  }
}

/** The stream itself is not found: nothing to read, and nothing to end, until it exists again. */
export class StreamNotFoundError extends Error {
  constructor(where: string, cause: unknown) {
    super(
      `${where} cannot be read: the stream is not found (${describeError(cause)}). Check streamName and region; if the stream was deleted, the application needs a new one. The shard is not ended; reading resumes when the stream answers.`,
    );
    this.name = 'StreamNotFoundError';
  }
}
