import { performance } from 'node:perf_hooks';
import { GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, type SubscribeToShardEvent } from '@aws-sdk/client-kinesis';
import { describeError } from '../../../core/aws-errors';
import type { WorkerLogger } from '../../../core/logger';
import type { ExtendedSequenceNumber, KinesisRecord } from '../../../core/record';
import { pause } from '../../../core/retry';
import { backoffDelay, type RetryPolicy } from '../../../core/retry-policy';
import { compareExtended, positionOf } from '../../../core/sequence-number';
import { listAllShards, type ChildShard } from '../../../leases/shard-lister';
import type { PacerClock } from './call-pacer';
import { deaggregate } from './kpl-deaggregate';
import { classifyReadError, missingPermission } from './read-errors';
import { toKinesisRecord } from './record-mapper';
import { FetchAbortedError, UnreadablePositionError, type RecordBatch } from './shard-record-fetcher';
import { NotStreamingError, ShardSubscription, SubscribeTimeoutError } from './shard-subscription';
import {
  dropNotAfter,
  LATEST_ANCHOR_TIMEOUT_MS,
  LATEST_CLOCK_MARGIN_MS,
  latestAnchorOf,
  readPositionOf,
  type ReadPosition,
  type ReadStart,
} from './start-position';

/** Kinesis allows one SubscribeToShard call per second per shard and consumer. */
export const SUBSCRIBE_INTERVAL_MS = 1_000;
/** Resubscribing after a failure (ResourceInUse, throttling, 5xx, a reset stream): 1 s up to 10 s. */
const RESUBSCRIBE_RETRY: RetryPolicy = { maxAttempts: Infinity, baseDelayMs: SUBSCRIBE_INTERVAL_MS, maxDelayMs: 10_000 };
/** The same failure is logged again at most this often. */
const REPEAT_WARN_MS = 30_000;
/** A problem that repeats (a missing permission, an unreadable checkpoint) is logged again at most this often, as polling does. */
const REPEAT_LOG_MS = 5 * 60_000;

export interface FanoutReaderConfig extends ReadStart {
  /** The client whose request handler streams (HTTP/2 on AWS). */
  readonly subscriber: KinesisClient;
  /** The ordinary client, for the shard-end check and ListShards. */
  readonly kinesis: KinesisClient;
  readonly consumerArn: string;
  readonly streamName: string;
  readonly shardId: string;
  /** A caught-up subscription checks at most this often whether its shard was closed (see checkShardEnd). */
  readonly shardEndCheckIntervalMs: number;
  readonly idleTimeoutMs?: number;
  /** retrieval.subscribeTimeoutMs: the bound on SubscribeToShard's answer and on its first event. */
  readonly subscribeTimeoutMs?: number;
  readonly onThrottled?: () => void;
  readonly logger: WorkerLogger;
  readonly signal: AbortSignal;
  /** Where the reader reads the time and waits (pacing, backoff): a monotonic clock and timers unless a test injects its own. */
  readonly clock?: PacerClock;
}

/**
 * The subscription pacing, the shard-end check's interval and the repeat-warning spacing are intervals:
 * measured on a clock that only moves forward, so that a wall clock stepped back (NTP, by hand) never
 * holds a resubscription back for the size of the step, nor a step forward lets two calls come within 1 s.
 */
const monotonicClock: PacerClock = { now: () => performance.now(), pause };

/**
 * Reads one shard through enhanced fan-out (the KCL's FanOutRecordsPublisher): one SubscribeToShard at a
 * time, from the lease's checkpoint, then after the last event delivered. `next()` reads exactly one event
 * and returns it as a batch: the consumer asks for the next one only when processRecords returned, so at
 * most one event is held in memory and a slow processor slows the stream down (TCP flow control).
 *
 * A subscription ends after 5 minutes (Kinesis) or fails (an error event, a reset or idle stream,
 * ResourceInUseException while another subscription on the shard is still open, LimitExceededException):
 * the reader subscribes again AFTER the last event's ContinuationSequenceNumber, so nothing is skipped or
 * repeated, paced to one call per second and backing off on repeated failures.
 */
export class FanoutReader {
  private subscription: ShardSubscription | undefined;
  /** After this position the next subscription starts: the last event's continuation (or last record). */
  private resumeAfter: string | undefined;
  private delivered: ExtendedSequenceNumber | undefined;
  private lastSubscribeAt = -Infinity;
  private failures = 0;
  private readonly clock: PacerClock;
  private lastShardEndCheck: number;
  /** The children the shard-end check found (kinesis-local's closed shards send no ChildShards event). */
  private shardEndChildren: ChildShard[] | undefined;
  private lastProblem: string | undefined;
  private problemLoggedAt = -Infinity;
  private readonly warnings = new Map<string, number>();
  /** prime()'s first subscription (LATEST) on its way; the first next() waits for it. */
  private priming: Promise<void> | undefined;

  constructor(private readonly config: FanoutReaderConfig) {
    this.clock = config.clock ?? monotonicClock;
    this.lastShardEndCheck = this.clock.now();
  }

  /** A problem no retry solves by itself (a missing permission, an unreadable checkpoint), until it is gone. */
  get problem(): string | undefined {
    return this.lastProblem;
  }

  /**
   * Fixes a LATEST lease's start at the server's LATEST now, when the lease is taken, by opening the first
   * subscription with StartingPosition LATEST (once; nothing to do for other starts). Its events stay in the
   * stream until next() reads them. Never rejects: if it does not open within LATEST_ANCHOR_TIMEOUT_MS, or it
   * ends before its first event was read, the reader subscribes from the take time less the margin instead.
   */
  prime(): Promise<void> {
    const anchor = latestAnchorOf(this.config);
    if (!anchor || this.priming) return this.priming ?? Promise.resolve();
    this.priming = this.subscribe(anchor, LATEST_ANCHOR_TIMEOUT_MS).catch((error: unknown) => {
      this.endSubscription();
      if (this.config.signal.aborted) return;
      this.config.logger.warn(
        `${this.where}: no LATEST subscription when the lease was taken (${describeError(error)}); subscribing from when the lease was taken, ` +
          `less ${LATEST_CLOCK_MARGIN_MS} ms, instead: nothing put since is skipped, records up to ${LATEST_CLOCK_MARGIN_MS} ms older may be delivered.`,
      );
    });
    return this.priming;
  }

  async next(): Promise<RecordBatch> {
    const { signal } = this.config;
    try {
      await this.priming;
      for (;;) {
        if (signal.aborted) throw new FetchAbortedError();
        try {
          if (!this.subscription) await this.subscribe(this.position());
          const event = await this.subscription!.next();
          if (!event) {
            // Kinesis ended the subscription (its 5 minutes are up): subscribe again from where it stopped.
            this.endSubscription();
            continue;
          }
          this.failures = 0;
          this.recovered();
          const batch = this.toBatch(event);
          if (batch.shardEnded) this.endSubscription();
          if (!batch.shardEnded && batch.caughtUp && (await this.shardEndedMeanwhile())) return this.endOfShard();
          return batch;
        } catch (error) {
          if (signal.aborted) throw new FetchAbortedError();
          this.endSubscription();
          if (error instanceof NotStreamingError) throw error;
          if (classifyReadError(error) === 'not-found' && (await this.shardIsGone(error)))
            return { records: [], shardEnded: true, caughtUp: true };
          this.onFailure(error);
          if (!(await this.clock.pause(backoffDelay(RESUBSCRIBE_RETRY, ++this.failures), signal))) throw new FetchAbortedError();
        }
      }
    } catch (error) {
      this.endSubscription();
      throw error;
    }
  }

  /** Ends the open subscription, if any (lease lost, stop): the HTTP request is aborted. */
  close(): void {
    this.endSubscription();
  }

  /** Opens a subscription at `position`, paced; with `timeoutMs`, one that has not opened by then is cancelled. */
  private async subscribe(position: ReadPosition, timeoutMs?: number): Promise<void> {
    const { signal } = this.config;
    const wait = this.lastSubscribeAt + SUBSCRIBE_INTERVAL_MS - this.clock.now();
    if (wait > 0 && !(await this.clock.pause(wait, signal))) throw new FetchAbortedError();
    this.lastSubscribeAt = this.clock.now();
    const subscription = new ShardSubscription({
      client: this.config.subscriber,
      consumerArn: this.config.consumerArn,
      shardId: this.config.shardId,
      position,
      signal,
      idleTimeoutMs: this.config.idleTimeoutMs,
      subscribeTimeoutMs: this.config.subscribeTimeoutMs,
    });
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            subscription.close();
          }, timeoutMs);
    try {
      await subscription.open();
    } catch (error) {
      subscription.close();
      throw timedOut ? new Error(`no answer within ${timeoutMs} ms`) : error;
    } finally {
      clearTimeout(timer);
    }
    this.subscription = subscription;
  }

  private position(): ReadPosition {
    if (this.resumeAfter) return { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: this.resumeAfter };
    const position = readPositionOf(this.config, undefined);
    if (!position) throw new UnreadablePositionError(this.where, this.config.start.sequenceNumber);
    return position;
  }

  private toBatch(event: SubscribeToShardEvent): RecordBatch {
    let records: KinesisRecord[] = (event.Records ?? []).flatMap((record) => deaggregate(toKinesisRecord(record), this.reportCorrupt));
    const last = records.at(-1);
    // Started AT a checkpointed sequence number: drop what the checkpoint covers (a KPL sub-record checkpoint included).
    const floor = this.delivered ? undefined : dropNotAfter(this.config.start);
    if (floor) records = records.filter((record) => compareExtended(positionOf(record), floor) > 0);
    if (records.length > 0) this.delivered = positionOf(records.at(-1)!);
    this.resumeAfter = event.ContinuationSequenceNumber ?? last?.sequenceNumber ?? this.resumeAfter;
    const shardEnded = event.ContinuationSequenceNumber === undefined || event.ContinuationSequenceNumber === null;
    return {
      records,
      millisBehindLatest: event.MillisBehindLatest,
      shardEnded,
      childShards: event.ChildShards?.map((child) => ({
        shardId: child.ShardId!,
        parentShardIds: child.ParentShards ?? [this.config.shardId],
        hashKeyRange: child.HashKeyRange
          ? { startingHashKey: child.HashKeyRange.StartingHashKey!, endingHashKey: child.HashKeyRange.EndingHashKey! }
          : undefined,
      })),
      caughtUp: records.length === 0 && (event.MillisBehindLatest ?? 0) === 0,
    };
  }

  /**
   * Kinesis ends a closed shard's subscription with an event that has ChildShards and no continuation.
   * kinesis-local never sends it: its subscription on a closed shard keeps sending empty events. So a
   * caught-up subscription asks GetRecords, at most every shardEndCheckIntervalMs, whether anything comes
   * after its position: no records and no next iterator means the shard has ended. Two calls per check,
   * a caught-up shard only.
   */
  private async shardEndedMeanwhile(): Promise<boolean> {
    if (this.clock.now() - this.lastShardEndCheck < this.config.shardEndCheckIntervalMs || !this.resumeAfter) return false;
    this.lastShardEndCheck = this.clock.now();
    const { kinesis, streamName, shardId, signal } = this.config;
    try {
      const { ShardIterator } = await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shardId,
          ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
          StartingSequenceNumber: this.resumeAfter,
        }),
        { abortSignal: signal },
      );
      const out = await kinesis.send(new GetRecordsCommand({ ShardIterator, Limit: 1 }), { abortSignal: signal });
      if (out.NextShardIterator || (out.Records ?? []).length > 0) return false;
      this.shardEndChildren = out.ChildShards?.map((child) => ({
        shardId: child.ShardId!,
        parentShardIds: child.ParentShards ?? [shardId],
      }));
      return true;
    } catch (error) {
      if (!signal.aborted)
        this.config.logger.debug?.(`Shard-end check of ${this.where} failed, checked again later: ${describeError(error)}`);
      return false;
    }
  }

  private endOfShard(): RecordBatch {
    this.endSubscription();
    this.config.logger.log(`${this.where} is closed and read to its end (shard-end check after an empty fan-out event): SHARD_END.`);
    return { records: [], shardEnded: true, childShards: this.shardEndChildren, caughtUp: true };
  }

  /** ResourceNotFoundException: a shard the stream no longer lists is closed and past retention, as polling treats it. */
  private async shardIsGone(error: unknown): Promise<boolean> {
    const shards = await listAllShards(this.config.kinesis, this.config.streamName).catch(() => undefined);
    if (!shards || shards.some((shard) => shard.ShardId === this.config.shardId)) return false;
    this.config.logger.warn(
      `${this.where} no longer exists (${describeError(error)}; ListShards does not list it): treating it as ended (SHARD_END), as polling does.`,
    );
    return true;
  }

  private onFailure(error: unknown): void {
    const name = (error as { name?: string })?.name ?? 'Error';
    if (name === 'LimitExceededException') this.config.onThrottled?.();
    // As polling does: what no retry fixes by itself keeps the lease, shows in status() and is logged, but is
    // not given up to go round the workers (a checkpoint this worker cannot start from, a missing permission).
    if (error instanceof UnreadablePositionError || classifyReadError(error) === 'permission') {
      const text =
        error instanceof UnreadablePositionError
          ? error.message
          : `${this.where} cannot be read through fan-out: the worker needs ${missingPermission(error, 'SubscribeToShard')} (${describeError(error)}).`;
      const now = this.clock.now();
      if (text !== this.lastProblem || now - this.problemLoggedAt >= REPEAT_LOG_MS) {
        this.config.logger.error(
          `${text} Retrying every ${RESUBSCRIBE_RETRY.maxDelayMs / 1000} s at most; this is logged again in ${REPEAT_LOG_MS / 60_000} minutes if it persists.`,
        );
        this.problemLoggedAt = now;
      }
      this.lastProblem = text;
      return;
    }
    const now = this.clock.now();
    if (now - (this.warnings.get(name) ?? -Infinity) < REPEAT_WARN_MS) return;
    this.warnings.set(name, now);
    this.config.logger.warn(
      `Fan-out subscription on ${this.where} failed: ${describeError(error)}. ${hintFor(error)}Subscribing again after ${this.resumeAfter ?? 'the checkpoint'}; this error is logged again in ${REPEAT_WARN_MS / 1000} s at the earliest.`,
    );
  }

  private recovered(): void {
    if (this.lastProblem) this.config.logger.log(`${this.where} is read again; the earlier problem is resolved.`);
    this.lastProblem = undefined;
    this.warnings.clear();
  }

  private endSubscription(): void {
    this.subscription?.close();
    this.subscription = undefined;
  }

  private get where(): string {
    return `${this.config.streamName}/${this.config.shardId}`;
  }

  private readonly reportCorrupt = (record: KinesisRecord, error: Error) =>
    this.config.logger.warn(
      `Record ${record.sequenceNumber} on ${this.where} starts like a KPL aggregate but does not decode (${error.message}); delivering it as one plain record.`,
    );
}

function hintFor(error: unknown): string {
  const { name, code } = (error ?? {}) as { name?: string; code?: string };
  if (error instanceof SubscribeTimeoutError)
    return 'A blackholed or half-open connection, or an overloaded endpoint: the request was cancelled (its connection closed) and is made again on a new one. Raise retrieval.subscribeTimeoutMs if Kinesis is reached through something this slow. ';
  if (name === 'ResourceInUseException')
    return "Another subscription on this shard and consumer is still open (the previous owner's, or one not yet closed by Kinesis). ";
  if (name === 'LimitExceededException') return 'SubscribeToShard is limited to one call per second per shard and consumer. ';
  if (name === 'ResourceNotFoundException')
    return 'The shard is still listed, so the consumer may be gone (deregistered): workers register it again when they start. ';
  if (code?.startsWith('ERR_HTTP2') || /http2|protocol error/i.test(String((error as Error)?.message)))
    return 'An HTTP/2 failure: kinesis-local serves SubscribeToShard over HTTP/1.1 only; pass retrieval.requestHandler: new NodeHttpHandler() there. ';
  return '';
}
