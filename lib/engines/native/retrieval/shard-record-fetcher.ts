import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { describeError, isTransientAwsError } from '../../../core/aws-errors';
import type { WorkerLogger } from '../../../core/logger';
import type { ExtendedSequenceNumber, KinesisRecord } from '../../../core/record';
import { backoffDelay, type RetryPolicy } from '../../../core/retry-policy';
import { sleep } from '../../../core/sleep';
import { compareExtended, isSequenceNumber, positionOf } from '../../../core/sequence-number';
import type { ChildShard } from '../../../leases/shard-lister';
import { deaggregate } from './kpl-deaggregate';
import { toKinesisRecord } from './record-mapper';

export interface RecordBatch {
  readonly records: KinesisRecord[];
  readonly millisBehindLatest?: number;
  /** No more records will ever come from this shard. */
  readonly shardEnded: boolean;
  /** At shard end, when the service names the children (kinesalite does not). */
  readonly childShards?: readonly ChildShard[];
  /** The shard has nothing newer right now: wait idleTimeBetweenReadsMs before reading again. */
  readonly caughtUp: boolean;
}

export class FetchAbortedError extends Error {}

const READ_RETRY: RetryPolicy = { maxAttempts: Infinity, baseDelayMs: 200, maxDelayMs: 10_000 };

/**
 * Reads one shard with GetShardIterator and GetRecords (the KCL's polling data fetcher).
 * Starting from a checkpoint it reads AT the checkpointed sequence number and drops what is not
 * after it, so a checkpoint inside a KPL-aggregated record resumes at the right sub-record.
 */
export class ShardRecordFetcher {
  private iterator: string | undefined;
  private lastRead: ExtendedSequenceNumber | undefined;

  constructor(
    private readonly kinesis: KinesisClient,
    private readonly streamName: string,
    private readonly shardId: string,
    private readonly start: ExtendedSequenceNumber,
    private readonly maxRecords: number,
    private readonly logger: WorkerLogger,
    private readonly signal: AbortSignal,
  ) {}

  async fetch(): Promise<RecordBatch> {
    for (let attempt = 1; ; attempt++) {
      if (this.signal.aborted) throw new FetchAbortedError();
      try {
        return await this.fetchOnce();
      } catch (error) {
        if (this.signal.aborted) throw new FetchAbortedError();
        if ((error as Error).name === 'ExpiredIteratorException') {
          this.iterator = undefined;
          continue;
        }
        // kinesis-local answers a stale iterator with HTTP 500, so a new iterator is part of every retry.
        this.iterator = undefined;
        const delay = backoffDelay(READ_RETRY, attempt);
        const log = isTransientAwsError(error) ? this.logger.warn : this.logger.error;
        log.call(this.logger, `GetRecords on ${this.streamName}/${this.shardId} failed (attempt ${attempt}), retrying in ${delay} ms: ${describeError(error)}`);
        await sleep(delay, this.signal);
      }
    }
  }

  private async fetchOnce(): Promise<RecordBatch> {
    this.iterator ??= await this.newIterator();
    const out = await this.kinesis.send(new GetRecordsCommand({ ShardIterator: this.iterator, Limit: this.maxRecords }), {
      abortSignal: this.signal,
    });
    this.iterator = out.NextShardIterator;
    let records = (out.Records ?? []).flatMap((record) => deaggregate(toKinesisRecord(record), this.reportCorrupt));
    if (!this.lastRead && isSequenceNumber(this.start.sequenceNumber)) {
      records = records.filter((record) => compareExtended(positionOf(record), this.start) > 0);
    }
    const last = records.at(-1);
    if (last) this.lastRead = positionOf(last);
    const shardEnded = !out.NextShardIterator;
    return {
      records,
      millisBehindLatest: out.MillisBehindLatest,
      shardEnded,
      childShards: out.ChildShards?.map((child) => ({
        shardId: child.ShardId!,
        parentShardIds: child.ParentShards ?? [this.shardId],
        hashKeyRange: child.HashKeyRange
          ? { startingHashKey: child.HashKeyRange.StartingHashKey!, endingHashKey: child.HashKeyRange.EndingHashKey! }
          : undefined,
      })),
      caughtUp: records.length === 0 || out.MillisBehindLatest === 0 || (out.MillisBehindLatest === undefined && records.length < this.maxRecords),
    };
  }

  private readonly reportCorrupt = (record: KinesisRecord, error: Error) =>
    this.logger.warn(
      `Record ${record.sequenceNumber} on ${this.streamName}/${this.shardId} starts like a KPL aggregate but does not decode (${error.message}); delivering it as one plain record.`,
    );

  private async newIterator(): Promise<string> {
    const input: GetShardIteratorCommandInput = { StreamName: this.streamName, ShardId: this.shardId, ShardIteratorType: 'TRIM_HORIZON' };
    if (this.lastRead) {
      // Whole records are delivered, so after the last one read is exact even for aggregated records.
      input.ShardIteratorType = 'AFTER_SEQUENCE_NUMBER';
      input.StartingSequenceNumber = this.lastRead.sequenceNumber;
    } else if (isSequenceNumber(this.start.sequenceNumber)) {
      input.ShardIteratorType = 'AT_SEQUENCE_NUMBER';
      input.StartingSequenceNumber = this.start.sequenceNumber;
    } else if (this.start.sequenceNumber === 'LATEST') {
      input.ShardIteratorType = 'LATEST';
    } else if (this.start.sequenceNumber !== 'TRIM_HORIZON') {
      throw new Error(`Cannot start reading ${this.shardId} at ${this.start.sequenceNumber}.`);
    }
    const out = await this.kinesis.send(new GetShardIteratorCommand(input), { abortSignal: this.signal });
    return out.ShardIterator!;
  }
}
