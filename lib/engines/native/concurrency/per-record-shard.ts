import { describeError } from '../../../core/aws-errors';
import { CheckpointSchedule } from '../../../core/checkpoint-schedule';
import { LeaseLostError } from '../../../core/errors';
import type { WorkerMetrics } from '../../../core/metrics';
import type { ResolvedWorkerOptions } from '../../../core/options';
import { callWithRetries } from '../../../core/processing-retry';
import { reportProcessorFailures } from '../../../core/processor-failure';
import type { KinesisPerRecordProcessor, LeaseFencingToken, ShutdownReason } from '../../../core/processor';
import type { ExtendedSequenceNumber, KinesisRecord } from '../../../core/record';
import { sleep } from '../../../core/sleep';
import { compareExtended, isSequenceNumber, positionOf } from '../../../core/sequence-number';
import type { ShardCheckpointer } from '../checkpoint/shard-checkpointer';
import type { HeldLease } from '../leases/held-lease';
import { ProcessingTimeoutError, withProcessingTimeout } from '../lifecycle/processing-timeout';
import type { RecordBatch } from '../retrieval/shard-record-fetcher';
import { CompletionWatermark } from './completion-watermark';
import type { BudgetHolder, InFlightBudget } from './in-flight-budget';
import { RecordDispatcher } from './record-dispatcher';
import { LagShedder } from '../failures/lag-shedding';

/** One batch's records, for its metrics once the last of them finished. */
interface BatchProgress {
  remaining: number;
}

interface Item {
  readonly record: KinesisRecord;
  readonly position: ExtendedSequenceNumber;
  readonly bytes: number;
  readonly batch: BatchProgress;
  readonly millisBehindLatest?: number;
}

export type Admission = 'admitted' | 'gave-up' | 'abandoned';

export interface PerRecordShardDeps {
  readonly processor: KinesisPerRecordProcessor;
  readonly held: HeldLease;
  readonly checkpointer: ShardCheckpointer;
  readonly options: ResolvedWorkerOptions;
  readonly budget: InFlightBudget;
  readonly metrics: WorkerMetrics;
  readonly shardId: string;
  readonly where: string;
  /** Aborts when the lease is lost or a stop is requested. */
  readonly signal: AbortSignal;
  /** True when the shard's processing must end now (lease lost, stop requested). */
  readonly abandoned: () => boolean;
}

/**
 * A shard's records through a processRecord handler (docs/concurrency.md): each record is let into the
 * worker's in-flight budget, handed to the dispatcher (which keeps the order per partition key), run
 * with the processingRetry policy, and marked finished in the watermark. The engine checkpoints the
 * watermark, so no checkpoint ever passes a record that has not finished; a record whose retries ran
 * out (or that is abandoned at a stop) stays unfinished, and nothing after it on its key starts.
 */
export class PerRecordShard {
  private readonly watermark: CompletionWatermark;
  private readonly dispatcher: RecordDispatcher<Item>;
  private readonly token: LeaseFencingToken;
  private readonly schedule: CheckpointSchedule | undefined;
  /** Ends of batches not yet wholly under the watermark, in order: the default checkpoint is due when one is passed. */
  private readonly batchEnds: ExtendedSequenceNumber[] = [];
  private batchesPassed = 0;
  private gaveUp = false;
  private stopped = false;
  private writing: Promise<void> | undefined;
  private writeAgain = false;
  private progressWaiters: (() => void)[] = [];
  private readonly shedder: LagShedder;
  /** This shard's part of the worker's budget: it holds at most its fair share of it (in-flight-budget.ts). */
  private readonly holder: BudgetHolder;

  constructor(private readonly deps: PerRecordShardDeps) {
    const { held, options } = deps;
    const stored = held.lease.checkpoint;
    this.shedder = new LagShedder({ options, metrics: deps.metrics, shardId: deps.shardId, where: deps.where });
    this.watermark = new CompletionWatermark(isSequenceNumber(stored.sequenceNumber) ? stored : undefined);
    this.token = held.fencingToken(options.workerId);
    this.holder = deps.budget.join();
    const auto = options.autoCheckpoint;
    // Unset or 'batch': one checkpoint per batch of GetRecords, once all its records finished.
    const perBatch = !auto || (auto.everyRecords === 1 && auto.everyMs === Infinity);
    this.schedule = perBatch ? undefined : new CheckpointSchedule(auto);
    const { maxInFlightPerShard, ordering } = options.concurrency;
    this.dispatcher = new RecordDispatcher<Item>(
      maxInFlightPerShard,
      ordering === 'partitionKey' ? (item) => item.record.partitionKey : () => undefined,
      (item) => this.run(item),
    );
    // A lost lease or a stop: no record starts from this moment on (the running ones finish).
    deps.signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** Records read and not finished. */
  get unfinished(): number {
    return this.watermark.unfinished;
  }

  /**
   * Lets the batch's records in, in order, as the budget and the shard's window allow: it returns once
   * the last one is handed to the dispatcher, so the shard reads its next batch while they run.
   */
  async admit(batch: RecordBatch): Promise<Admission> {
    const { budget, options, signal } = this.deps;
    if (this.ended()) return this.gaveUp ? 'gave-up' : 'abandoned';
    if (batch.records.length === 0) return 'admitted';
    const end = positionOf(batch.records.at(-1)!);
    const progress: BatchProgress = { remaining: batch.records.length };
    this.batchEnds.push(end);
    for (const record of batch.records) {
      // The watermark's window (finished records behind an unfinished one) is bounded too: a record whose
      // retries go on must not let the shard read on without end.
      while (!this.ended() && this.watermark.unsettled >= options.concurrency.maxInFlightRecords) await this.nextProgress();
      if (this.ended()) return this.gaveUp ? 'gave-up' : 'abandoned';
      const bytes = record.data.length;
      if (!(await budget.acquire(bytes, signal, this.holder))) return 'abandoned';
      if (this.ended()) {
        budget.release(bytes, this.holder);
        return this.gaveUp ? 'gave-up' : 'abandoned';
      }
      const position = positionOf(record);
      this.watermark.add(position);
      this.dispatcher.submit({ record, position, bytes, batch: progress, millisBehindLatest: batch.millisBehindLatest });
    }
    return 'admitted';
  }

  /**
   * Before the processor's shutdown: TERMINATE waits for every record and stays TERMINATE only if all
   * finished; REQUESTED waits for the records running (bounded by shutdownTimeoutMs), starts no other
   * and checkpoints the watermark; ZOMBIE starts nothing more, waits as REQUESTED (so that this worker
   * never runs a shard's records twice at once) and writes nothing. Returns the reason to shut down with.
   */
  async settle(reason: ShutdownReason): Promise<ShutdownReason> {
    const { held } = this.deps;
    if (reason === 'TERMINATE') {
      await this.dispatcher.whenIdle();
      if (!this.gaveUp && this.watermark.allFinished && !held.lost) return 'TERMINATE';
      reason = this.gaveUp || held.lost ? 'ZOMBIE' : 'REQUESTED';
    }
    this.stop();
    await this.waitForRunning();
    if (!held.lost) await this.finalCheckpoint();
    return reason;
  }

  /** Starts nothing more; the records that never started give their room back. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const item of this.dispatcher.stop()) this.deps.budget.release(item.bytes, this.holder);
    // The records still running release their room as they finish; the other shards' shares grow now.
    this.deps.budget.leave(this.holder);
    this.notifyProgress();
  }

  private ended(): boolean {
    return this.gaveUp || this.stopped || this.deps.abandoned();
  }

  private async run(item: Item): Promise<boolean> {
    const { processor, options, metrics, shardId, where, signal, abandoned } = this.deps;
    const { record } = item;
    // Lag shedding: a record older than the limit is not processed; once shed it counts as finished.
    if (this.shedder.isTooOld(record)) {
      const shed = await this.shedder.shedRecord(record);
      if (shed === 'shed') {
        this.deps.budget.release(item.bytes, this.holder);
        this.finished(item);
        return true;
      }
      if (shed === 'failed') {
        // The hook threw: unfinished for good in this consumer, as a record whose retries ran out.
        this.deps.budget.release(item.bytes, this.holder);
        this.gaveUp = true;
        this.stop();
        return false;
      }
    }
    const sub = record.subSequenceNumber === undefined ? '' : `/${record.subSequenceNumber}`;
    let attempt = 0;
    let lastError: unknown;
    const timeoutMs = options.processingTimeoutMs;
    const what = `processRecord for ${record.sequenceNumber}${sub} (partition key ${record.partitionKey})`;
    const { maxRetryAttempts, maxRecordAgeMs } = options.failurePolicy;
    const policy = { ...options.processingRetry, maxAttempts: Math.min(options.processingRetry.maxAttempts, maxRetryAttempts + 1) };
    const outcome = await callWithRetries({
      what,
      where,
      onFailure: reportProcessorFailures(options.emit, shardId, 'processRecord', what),
      call: () => {
        attempt++;
        const context = {
          streamName: options.streamName,
          shardId,
          workerId: options.workerId,
          lease: this.token,
          millisBehindLatest: item.millisBehindLatest,
          attempt,
        };
        // Measured around the timeout, as a batch is: a call that overran it counts as failed.
        return metrics
          .delivery(shardId, 1, item.bytes, () =>
            withProcessingTimeout(
              () => processor.processRecord(record, context),
              timeoutMs,
              () => undefined,
            ),
          )
          .catch((error: unknown) => {
            lastError = error;
            throw error;
          });
      },
      policy,
      logger: options.logger,
      signal,
      abandoned: () => abandoned() || this.stopped,
      // failurePolicy.maxRecordAgeMs: a record that arrived longer ago is not tried again (docs/failures.md).
      isFinal: (error) =>
        error instanceof ProcessingTimeoutError || Date.now() - record.approximateArrivalTimestamp.getTime() > maxRecordAgeMs,
      afterGivingUp: options.onFailedRecord
        ? 'no more attempts: it goes to onFailedRecord (after a processingTimeoutMs overrun, it stays unfinished and the lease is given up)'
        : 'the record stays unfinished, no checkpoint passes it, and the lease is given up so that it is retried later',
    });
    this.deps.budget.release(item.bytes, this.holder);
    if (outcome === 'gave-up' && !(lastError instanceof ProcessingTimeoutError) && (await this.deadLetter(item, lastError, attempt))) {
      this.finished(item);
      return true;
    }
    if (outcome !== 'delivered') {
      // Unfinished for good in this consumer: the watermark stays below it, and its key goes no further.
      if (outcome === 'gave-up') this.gaveUp = true;
      this.stop();
      return false;
    }
    this.finished(item);
    return true;
  }

  /** A record whose attempts ran out, to onFailedRecord: true once the hook resolved (the record then counts as finished). */
  private async deadLetter(item: Item, error: unknown, attempts: number): Promise<boolean> {
    const { options, shardId, where } = this.deps;
    if (!options.onFailedRecord) return false;
    const { record } = item;
    const name = `record ${record.sequenceNumber}${record.subSequenceNumber === undefined ? '' : `/${record.subSequenceNumber}`} (partition key ${record.partitionKey})`;
    try {
      await options.onFailedRecord({ streamName: options.streamName, shardId, record, error, attempts });
    } catch (hookError) {
      options.logger.error(
        `onFailedRecord threw for ${name} on ${where}; it stays unfinished and the lease is given up so that it is delivered again: ${describeError(hookError)}`,
      );
      return false;
    }
    options.logger.warn(`${name} on ${where} went to onFailedRecord after ${attempts} failed attempts; checkpoints may pass it.`);
    return true;
  }

  private finished(item: Item): void {
    const before = this.watermark.unsettled;
    const moved = this.watermark.finish(item.position);
    if (--item.batch.remaining === 0) this.deps.metrics.batch(this.deps.shardId, true);
    if (moved) {
      const mark = this.watermark.watermark!;
      // What a checkpoint may name, the processor's own at shutdown included: nothing past the watermark.
      this.deps.checkpointer.markDelivered(mark);
      while (this.batchEnds.length > 0 && compareExtended(this.batchEnds[0], mark) <= 0) {
        this.batchEnds.shift();
        this.batchesPassed++;
      }
      const due = this.schedule ? this.schedule.afterBatch(before - this.watermark.unsettled) : this.batchesPassed > 0;
      if (due) this.checkpointSoon();
    }
    this.notifyProgress();
  }

  /** One checkpoint write at a time; a watermark that moved meanwhile is written right after. */
  private checkpointSoon(): void {
    if (this.writing) {
      this.writeAgain = true;
      return;
    }
    this.writing = this.writeWatermark().finally(() => {
      this.writing = undefined;
      if (this.writeAgain && !this.stopped) {
        this.writeAgain = false;
        this.checkpointSoon();
      }
    });
  }

  private async writeWatermark(): Promise<void> {
    const { checkpointer, options, where } = this.deps;
    const mark = this.watermark.watermark;
    const stored = checkpointer.lastCheckpoint;
    // A finished shard's SHARD_END is never overwritten; nor is a checkpoint at or past the watermark.
    if (!mark || stored.sequenceNumber === 'SHARD_END' || (isSequenceNumber(stored.sequenceNumber) && compareExtended(mark, stored) <= 0))
      return;
    this.batchesPassed = 0;
    this.schedule?.checkpointed();
    try {
      await checkpointer.checkpoint(mark.sequenceNumber, mark.subSequenceNumber);
    } catch (error) {
      // A lost lease ends the consumer at its next step; anything else is tried again at the next due point.
      if (!(error instanceof LeaseLostError))
        options.logger.warn(
          `Checkpoint of ${where} at ${mark.sequenceNumber} failed; tried again when more records finish: ${describeError(error)}`,
        );
    }
  }

  private async finalCheckpoint(): Promise<void> {
    while (this.writing) await this.writing;
    await this.writeWatermark();
  }

  /** The records running, bounded by shutdownTimeoutMs: a hung handler must not hold a stop or a hand-over for ever. */
  private async waitForRunning(): Promise<void> {
    const { options, where } = this.deps;
    if (this.dispatcher.running === 0) return;
    const timeout = new AbortController();
    const idle = await Promise.race([
      this.dispatcher.whenIdle().then(() => true),
      sleep(options.shutdownTimeoutMs, timeout.signal).then(() => false),
    ]);
    timeout.abort();
    if (!idle)
      options.logger.warn(
        `${this.dispatcher.running} processRecord calls on ${where} did not finish within shutdownTimeoutMs (${options.shutdownTimeoutMs} ms); ` +
          'not waiting for them. The checkpoint stays below them, so they are delivered again to the next owner.',
      );
  }

  private nextProgress(): Promise<void> {
    return new Promise((resolve) => this.progressWaiters.push(resolve));
  }

  private notifyProgress(): void {
    const waiters = this.progressWaiters;
    this.progressWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
