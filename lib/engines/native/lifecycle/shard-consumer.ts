import type { WorkerMetrics } from '../../../core/metrics';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { describeError, errorTrace } from '../../../core/aws-errors';
import { LeaseLostError } from '../../../core/errors';
import { withLogFields } from '../../../core/logger';
import type { ResolvedWorkerOptions } from '../../../core/options';
import {
  isPerRecordProcessor,
  type AnyRecordProcessor,
  type KinesisPerRecordProcessor,
  type KinesisRecordProcessor,
  type ProcessorFactory,
  type ProcessorLifecycle,
  type ShutdownReason,
} from '../../../core/processor';
import type { ExtendedSequenceNumber } from '../../../core/record';
import { positionOf } from '../../../core/sequence-number';
import { callShutdown } from '../../../core/processor-calls';
import { callWithRetries, type Delivery, type ProcessorCall } from '../../../core/processing-retry';
import { reportProcessorFailures, type ProcessorCallName } from '../../../core/processor-failure';
import { pause } from '../../../core/retry';
import { ShardCheckpointer } from '../checkpoint/shard-checkpointer';
import type { HeldLease } from '../leases/held-lease';
import { isFinished, shardIdOf } from '../../../leases/lease';
import type { StreamLeaseScope } from '../../../leases/stream-lease-scope';
import type { LeaseTable } from '../../../leases/lease-table';
import type { ChildShard } from '../../../leases/shard-lister';
import { FetchAbortedError, type RecordBatch } from '../retrieval/shard-record-fetcher';
import { createRecordReader, type FanoutChannel, type RecordReader } from '../retrieval/record-reader';
import type { ReadBuffer } from '../retrieval/read-buffer';
import { assertProcessor } from '../../../core/assert-processor';
import type { EngineStepRetrying } from './engine-step';
import { waitForParents } from './parent-wait';
import { ProcessingTimeoutError, withProcessingTimeout } from './processing-timeout';
import { finishShard } from './shard-end';
import { BatchPolicies } from './batch-policies';
import { InFlightBudget } from '../concurrency/in-flight-budget';
import { PerRecordShard } from '../concurrency/per-record-shard';
import { runBatch, type BatchRunResult } from '../failures/batch-run';
import { LagShedder } from '../failures/lag-shedding';

export type ShardConsumerState = 'WAITING_ON_PARENTS' | 'INITIALIZING' | 'PROCESSING' | 'SHUTTING_DOWN' | 'SHUT_DOWN';

export interface ShardConsumerDeps {
  readonly held: HeldLease;
  readonly table: LeaseTable;
  readonly kinesis: KinesisClient;
  readonly options: ResolvedWorkerOptions;
  readonly factory: ProcessorFactory;
  readonly metrics: WorkerMetrics;
  /** Children of a shard, for when GetRecords did not name them at shard end. */
  readonly findChildShards: (shardId: string) => Promise<ChildShard[]>;
  /** Called once the shard is finished and its children's leases exist. */
  readonly onShardEnded: () => void;
  /** The shard's stream within the lease table: how parent and child leases are keyed. Default: single-stream keys. */
  readonly scope?: StreamLeaseScope;
  /** retrieval.mode 'fanout': the registered consumer and the streaming client. */
  readonly fanout?: FanoutChannel;
  /** The worker's bound on records fetched but not yet processed (retrieval.maxBufferedRecords/Bytes), shared by its shards. Default: this consumer's own. */
  readonly readBuffer?: ReadBuffer;
  /** The worker's bound on records read but not finished, shared by its shards (processRecord processors). Default: this consumer's own. */
  readonly inFlight?: InFlightBudget;
  /**
   * The lease was taken just now (the consumer did not wait behind an earlier one of this shard): a LATEST
   * start is fixed at once, at the server's LATEST (`startFixed`). Otherwise it starts from the take time
   * less the clock margin, which skips nothing put since the take.
   */
  readonly takenJustNow?: boolean;
}

/**
 * Drives one processor through one shard lease, as the KCL's ShardConsumer does:
 * wait for parents, initialize, deliver batches in order, then shut down with a reason.
 * Whatever fails, `done` resolves with the lease given up or lost, never held by a consumer that ended.
 */
export class ShardConsumer {
  state: ShardConsumerState = 'WAITING_ON_PARENTS';
  millisBehindLatest: number | undefined;
  private readonly reader: RecordReader;
  /** The checkpoint the lease had when this consumer got it: where reading starts. */
  private readonly start: ExtendedSequenceNumber;
  /** Resolves once the start position is fixed (a LATEST lease's first iterator or subscription); never rejects. */
  readonly startFixed: Promise<void>;
  readonly done: Promise<void>;
  private readonly abort = new AbortController();
  private stopRequested = false;
  private processor: AnyRecordProcessor | undefined;
  /** Set for a processRecord processor: its records, run side by side as `concurrency` allows. */
  private perRecord: PerRecordShard | undefined;
  /** Set once the processor has had its shutdown call (whatever the reason): it gets no second one. */
  private shutdownCalled = false;
  /** Set when processRecords overran processingTimeoutMs: the processor may still be busy. */
  private timedOut = false;
  private policies: BatchPolicies | undefined;

  private readonly deps: ShardConsumerDeps;
  /** failurePolicy.shedRecordsOlderThanMs for this shard (batches; processRecord shards have their own). */
  private readonly shedder: LagShedder;

  constructor(deps: ShardConsumerDeps) {
    // Every line of this consumer, and of the reader and policies it builds from its options, names the shard.
    const logger = withLogFields(deps.options.logger, { shard: shardIdOf(deps.held.lease) });
    this.deps = { ...deps, options: { ...deps.options, logger } };
    this.shedder = new LagShedder({ options: this.deps.options, metrics: deps.metrics, shardId: this.shardId, where: this.where });
    deps.held.onLost(() => this.abort.abort());
    this.start = deps.held.lease.checkpoint;
    // Made now, not after initialize: a LATEST start means the end of the shard when the lease was taken.
    this.reader = readerOrFailure(() =>
      createRecordReader({
        kinesis: deps.kinesis,
        options: this.deps.options,
        fanout: deps.fanout,
        buffer: deps.readBuffer,
        shardId: this.shardId,
        start: this.start,
        leaseTakenAt: deps.held.takenAt,
        onThrottled: () => deps.metrics.throttled(this.shardId),
        logger: this.logger,
        signal: this.abort.signal,
      }),
    );
    this.startFixed = deps.takenJustNow ? this.reader.prime() : Promise.resolve();
    this.done = this.run().catch((error) =>
      this.deps.options.logger.error(`Shard consumer for ${this.shardId} failed: ${describeError(error)}`, errorTrace(error)),
    );
  }

  get shardId(): string {
    return shardIdOf(this.deps.held.lease);
  }

  get streamName(): string {
    return this.deps.options.streamName;
  }

  /** The lease's key: the shard id, or in multi-stream mode the stream identifier and the shard id. */
  get leaseKey(): string {
    return this.deps.held.leaseKey;
  }

  /** The last checkpoint this consumer knows of (the lease's, kept current by its own writes). */
  get checkpoint(): ExtendedSequenceNumber {
    return this.deps.held.lease.checkpoint;
  }

  /** What keeps this shard from being read, when no retry will fix it by itself (for status()). */
  get problem(): string | undefined {
    return this.reader.problem;
  }

  /** Graceful stop: finish the batch in flight, shut the processor down with REQUESTED, release the lease. */
  requestStop(): Promise<void> {
    this.stopRequested = true;
    this.abort.abort();
    return this.done;
  }

  private get logger() {
    return this.deps.options.logger;
  }

  private get where(): string {
    return `${this.deps.options.streamName}/${this.shardId}`;
  }

  private async run(): Promise<void> {
    const { held } = this.deps;
    try {
      await this.consume();
    } catch (error) {
      // Records still running: this worker must not run the shard's records twice at once if it takes the lease again.
      await this.perRecord?.settle('ZOMBIE');
      await this.giveUpAfterFailure(error);
    } finally {
      this.reader.close();
      this.perRecord?.stop();
      // Whatever happened above, a consumer that ended must not leave its lease held and renewed.
      if (!held.lost) await held.release().catch(() => undefined);
      this.state = 'SHUT_DOWN';
    }
  }

  private async consume(): Promise<void> {
    const { held, options } = this.deps;
    if (isFinished(held.lease)) return await held.release();
    const parentsDone = await waitForParents({
      held,
      table: this.deps.table,
      pollIntervalMs: options.parentShardPollIntervalMs,
      retrying: this.engineRetrying(),
      stopped: () => this.stopRequested || held.lost,
      leaseKeyOf: this.deps.scope && ((shardId) => this.deps.scope!.identity(shardId).leaseKey),
    });
    if (!parentsDone) return await this.leave('REQUESTED');
    this.state = 'INITIALIZING';
    const built = await this.withRetries('factory', 'the processor factory', async () => {
      const processor = await this.deps.factory({ streamName: options.streamName, shardId: this.shardId, workerId: options.workerId });
      assertProcessor(processor, `the processor built for ${options.streamName}`);
      this.processor = processor;
    });
    if (built !== 'delivered' || !this.processor) return await this.leave(built === 'gave-up' ? 'ZOMBIE' : this.exitReason());
    const processor = this.processor;
    const checkpointer = new ShardCheckpointer(held, this.deps.table, options.checkpointRetry, this.logger, (seconds, stored) =>
      this.deps.metrics.checkpoint(this.shardId, seconds, stored),
    );
    const start = this.start;
    const initialized = await this.withRetries('initialize', `initialize at ${start.sequenceNumber}`, () =>
      processor.initialize?.({ shardId: this.shardId, streamName: options.streamName, checkpoint: start }),
    );
    if (initialized !== 'delivered') return await this.leave(initialized === 'gave-up' ? 'ZOMBIE' : this.exitReason(), processor);
    this.state = 'PROCESSING';
    const exit = await this.processUntilExit(processor, checkpointer);
    this.state = 'SHUTTING_DOWN';
    const { children } = exit;
    // Records still in flight: waited for (or not, ZOMBIE) before the final checkpoint and the shutdown call.
    const reason = this.perRecord ? await this.perRecord.settle(exit.reason) : exit.reason;
    if (reason === 'TERMINATE') await this.finishShard(processor, checkpointer, children);
    else await this.leave(reason, processor, checkpointer);
  }

  private async processUntilExit(
    processor: AnyRecordProcessor,
    checkpointer: ShardCheckpointer,
  ): Promise<{ reason: ShutdownReason; children?: readonly ChildShard[] }> {
    const { held, options } = this.deps;
    const reader = this.reader;
    const policies = (this.policies = new BatchPolicies(options, checkpointer, this.where));
    const perRecord = isPerRecordProcessor(processor) ? (this.perRecord = this.perRecordShard(processor, checkpointer)) : undefined;
    let delivered: ExtendedSequenceNumber | undefined;
    for (;;) {
      if (this.stopRequested || held.lost) return { reason: this.exitReason() };
      let batch: RecordBatch;
      try {
        batch = await reader.next();
      } catch (error) {
        if (error instanceof FetchAbortedError) continue;
        throw error;
      }
      try {
        const exit = await this.processBatch(batch, processor, checkpointer, policies, perRecord, delivered);
        if ('reason' in exit) return exit;
        delivered = exit.delivered;
      } finally {
        // Processed, handed to the concurrency budget, or abandoned: its room in the read buffer goes back.
        batch.release?.();
      }
    }
  }

  /** One batch read: processed (or handed to processRecord's budget); an exit when the shard stops here. */
  private async processBatch(
    batch: RecordBatch,
    processor: AnyRecordProcessor,
    checkpointer: ShardCheckpointer,
    policies: BatchPolicies,
    perRecord: PerRecordShard | undefined,
    delivered: ExtendedSequenceNumber | undefined,
  ): Promise<{ reason: ShutdownReason; children?: readonly ChildShard[] } | { delivered: ExtendedSequenceNumber | undefined }> {
    const { held, options } = this.deps;
    if (!held.isHeld()) {
      held.markLost(`not renewed within failoverTimeMs (${options.failoverTimeMs} ms)`);
      return { reason: 'ZOMBIE' };
    }
    this.millisBehindLatest = batch.millisBehindLatest;
    if (perRecord) {
      // An empty batch too: a record whose retries ran out ends the shard even while nothing new arrives.
      const admitted = await perRecord.admit(batch);
      held.noteBytesRead(bytesOf(batch));
      if (admitted !== 'admitted') return { reason: admitted === 'gave-up' ? 'ZOMBIE' : this.exitReason() };
    } else if (batch.records.length > 0 && !isPerRecordProcessor(processor)) {
      const end = positionOf(batch.records.at(-1)!);
      checkpointer.markDelivered(end);
      const bytes = bytesOf(batch);
      // Lag shedding: the records at the head of the batch older than the limit are not processed.
      let shed = this.shedder.prefixToShed(batch.records);
      const shedding = shed > 0 ? await this.shedder.shedBatch(batch.records.slice(0, shed), checkpointer) : 'kept';
      if (shedding === 'failed') {
        checkpointer.rollBackDelivered(delivered);
        return { reason: 'ZOMBIE' };
      }
      if (shedding === 'kept') shed = 0;
      const toRun = shed > 0 ? { ...batch, records: batch.records.slice(shed) } : batch;
      const { outcome, done, deadLettered } =
        toRun.records.length > 0
          ? await this.deliver(processor, toRun, checkpointer, policies)
          : { outcome: 'delivered' as const, done: end, deadLettered: false };
      this.deps.metrics.batch(this.shardId, outcome === 'delivered' && !deadLettered);
      held.noteBytesRead(bytes);
      if (outcome !== 'delivered') {
        // The batch did not succeed: a checkpoint() at shutdown must not cover its records not stored as done.
        checkpointer.rollBackDelivered(done ?? delivered);
        return { reason: outcome === 'gave-up' ? 'ZOMBIE' : this.exitReason() };
      }
      // Dead-lettered after a timeout: the processor is still busy with that batch and gets no further one.
      // leave() gives the lease up first; its next owner starts after the checkpoint past the dead-lettered records.
      if (this.timedOut) return { reason: 'ZOMBIE' };
      await policies.afterSuccess(batch.records.length);
      delivered = end;
    }
    if (batch.shardEnded) return { reason: 'TERMINATE', children: batch.childShards };
    return { delivered };
  }

  private perRecordShard(processor: KinesisPerRecordProcessor, checkpointer: ShardCheckpointer): PerRecordShard {
    const { options } = this.deps;
    const { maxInFlightRecords, maxInFlightBytes } = options.concurrency;
    return new PerRecordShard({
      processor,
      held: this.deps.held,
      checkpointer,
      options,
      budget: this.deps.inFlight ?? new InFlightBudget(maxInFlightRecords, maxInFlightBytes),
      metrics: this.deps.metrics,
      shardId: this.shardId,
      where: this.where,
      signal: this.abort.signal,
      abandoned: () => this.stopRequested || this.deps.held.lost,
    });
  }

  /** One batch through the failure policy (docs/failures.md): retries, partial failures, bisection, onFailedBatch. */
  private deliver(
    processor: KinesisRecordProcessor,
    batch: RecordBatch,
    checkpointer: ShardCheckpointer,
    policies: BatchPolicies,
  ): Promise<BatchRunResult> {
    const { processingTimeoutMs: timeoutMs, processingRetry, failurePolicy } = this.deps.options;
    const limited =
      Number.isFinite(processingRetry.maxAttempts) ||
      Number.isFinite(failurePolicy.maxRetryAttempts) ||
      Number.isFinite(failurePolicy.maxRecordAgeMs);
    const first = batch.records[0].sequenceNumber;
    const last = batch.records.at(-1)!.sequenceNumber;
    return runBatch({
      records: batch.records,
      checkpointer,
      options: this.deps.options,
      where: this.where,
      signal: this.abort.signal,
      abandoned: () => this.stopRequested || this.deps.held.lost,
      isFinal: (error) => error instanceof ProcessingTimeoutError,
      // A timeout ends the batch's attempts: the processor is still busy with it and cannot be given it again.
      // Under finite limits that makes it a failed batch, for onFailedBatch like any other.
      finalToDestination: limited,
      onFailure: reportProcessorFailures(
        this.deps.options.emit,
        this.shardId,
        'processRecords',
        `processRecords for ${batch.records.length} records ${first}..${last}`,
      ),
      deadLetter: (records, end, error, attempts) => policies.deadLetter(records, end, error, attempts),
      call: (records) =>
        // Measured around the timeout: a call that overran it counts as failed (ProcessingTimeoutError).
        this.deps.metrics.delivery(this.shardId, records.length, bytesOfRecords(records), () =>
          withProcessingTimeout(
            () =>
              processor.processRecords({
                shardId: this.shardId,
                records,
                checkpointer,
                millisBehindLatest: batch.millisBehindLatest,
                lease: this.deps.held.fencingToken(this.deps.options.workerId),
              }),
            timeoutMs,
            () => {
              // Before anything else: a late checkpoint of the abandoned call must not move past its records.
              this.timedOut = true;
              checkpointer.revoke(`processRecords did not return within processingTimeoutMs (${timeoutMs} ms)`);
            },
          ),
        ),
    });
  }

  private withRetries(
    name: ProcessorCallName,
    what: string,
    call: () => unknown,
    extra: Pick<ProcessorCall, 'isFinal' | 'onGaveUp' | 'afterGivingUp'> = {},
  ): Promise<Delivery> {
    return callWithRetries({
      what,
      onFailure: reportProcessorFailures(this.deps.options.emit, this.shardId, name, what),
      where: this.where,
      call,
      policy: this.deps.options.processingRetry,
      logger: this.logger,
      signal: this.abort.signal,
      abandoned: () => this.stopRequested || this.deps.held.lost,
      ...extra,
    });
  }

  private engineRetrying(): EngineStepRetrying {
    return { where: this.where, policy: this.deps.options.checkpointRetry, logger: this.logger, signal: this.abort.signal };
  }

  private exitReason(): ShutdownReason {
    return this.deps.held.lost ? 'ZOMBIE' : 'REQUESTED';
  }

  /** REQUESTED or ZOMBIE: tell the processor, then hand the lease over (a ZOMBIE has none to hand). */
  private async leave(reason: ShutdownReason, processor?: ProcessorLifecycle, checkpointer?: ShardCheckpointer): Promise<void> {
    const { held } = this.deps;
    // A processor still busy past processingTimeoutMs: the lease goes first, so the next owner need not wait for it.
    if (this.timedOut) await this.release('GAVE_UP');
    if (reason === 'REQUESTED' && !this.timedOut && !held.lost) await this.policies?.beforeGracefulStop();
    if (processor) {
      const withCheckpointer = reason !== 'ZOMBIE' && checkpointer && !held.lost;
      await this.callShutdown(processor, reason, withCheckpointer ? checkpointer : undefined);
    }
    await this.release(reason === 'REQUESTED' ? 'REQUESTED' : 'GAVE_UP');
  }

  private async release(reason: 'REQUESTED' | 'GAVE_UP'): Promise<void> {
    const { held } = this.deps;
    if (held.lost) return;
    await held
      .release()
      .catch((error) => this.logger.warn(`Releasing ${this.shardId} failed; it will expire instead: ${describeError(error)}`));
    this.logger.log(`Lease ${this.shardId} released (${reason === 'REQUESTED' ? 'REQUESTED' : 'gave up'}).`);
    this.deps.options.emit({ type: 'leaseReleased', shardId: this.shardId, reason });
  }

  /** Every shutdown call of this consumer; a processor past processingTimeoutMs gets as long again for it. */
  private async callShutdown(processor: ProcessorLifecycle, reason: ShutdownReason, checkpointer?: ShardCheckpointer): Promise<void> {
    if (this.shutdownCalled) return;
    this.shutdownCalled = true;
    const what = `shutdown(${reason}) of the processor for ${this.shardId}`;
    const onFailure = reportProcessorFailures(this.deps.options.emit, this.shardId, 'shutdown', what);
    const call = callShutdown(processor, { shardId: this.shardId, reason, checkpointer }, this.logger, onFailure);
    if (!this.timedOut) return void (await call);
    const returned = await Promise.race([call.then(() => true), pause(this.deps.options.processingTimeoutMs).then(() => false)]);
    if (!returned)
      this.logger.warn(
        `shutdown(${reason}) of the processor for ${this.shardId} did not return within processingTimeoutMs either; not waiting for it.`,
      );
  }

  /** The shard ended: finish it (children, childShardIds, TERMINATE, SHARD_END), or give it to a next owner. */
  private async finishShard(processor: ProcessorLifecycle, checkpointer: ShardCheckpointer, named?: readonly ChildShard[]): Promise<void> {
    this.shutdownCalled = true;
    const outcome = await finishShard({
      held: this.deps.held,
      table: this.deps.table,
      options: this.deps.options,
      processor,
      checkpointer,
      namedChildren: named,
      findChildShards: this.deps.findChildShards,
      retrying: this.engineRetrying(),
      abandoned: () => this.stopRequested || this.deps.held.lost,
      leaseIdentity: this.deps.scope?.identity,
    });
    if (!outcome.finished) {
      // SHARD_END is not written for a processor whose TERMINATE failed: its next owner runs TERMINATE again.
      if (outcome.shutdown === 'gave-up') await this.release('GAVE_UP');
      else await this.release('REQUESTED');
      return;
    }
    const childShardIds = outcome.children.map((c) => c.shardId);
    await this.deps.held
      .release()
      .catch((error) => this.logger.warn(`Releasing the finished ${this.shardId} failed; it will expire instead: ${describeError(error)}`));
    this.logger.log(`Shard ${this.shardId} finished (SHARD_END); children: ${childShardIds.join(', ') || 'none'}.`);
    this.deps.options.emit({ type: 'shardEnded', shardId: this.shardId, childShardIds });
    this.deps.options.emit({ type: 'leaseReleased', shardId: this.shardId, reason: 'SHARD_END' });
    this.deps.onShardEnded();
  }

  /**
   * Something outside processRecords failed for good (the factory's lookup, a child lease, the
   * SHARD_END writes, reading records) or the lease was lost meanwhile. The processor, if any, is told
   * ZOMBIE (no checkpointer), and the lease is given up so that this or another worker tries again.
   */
  private async giveUpAfterFailure(error: unknown): Promise<void> {
    const { held } = this.deps;
    if (error instanceof LeaseLostError || held.lost) {
      this.logger.warn(
        `Lease ${this.shardId} was lost while ${this.state.toLowerCase().replace(/_/g, ' ')}; its next owner continues from checkpoint ${this.checkpoint.sequenceNumber}.`,
      );
    } else {
      this.logger.error(
        `Shard ${this.shardId} failed while ${this.state.toLowerCase().replace(/_/g, ' ')}: ${describeError(error)}. ` +
          `Giving the lease up without moving the checkpoint (${this.checkpoint.sequenceNumber}), so that this or another worker tries again.`,
        errorTrace(error),
      );
    }
    await this.release('GAVE_UP');
    if (this.processor) await this.callShutdown(this.processor, 'ZOMBIE');
  }
}

/** A reader that cannot be made fails the first read, so that the consumer gives its lease up as for any read failure. */
function readerOrFailure(make: () => RecordReader): RecordReader {
  try {
    return make();
  } catch (error) {
    return { prime: () => Promise.resolve(), next: () => Promise.reject(error), problem: undefined, close: () => undefined };
  }
}

function bytesOf(batch: RecordBatch): number {
  return bytesOfRecords(batch.records);
}

function bytesOfRecords(records: readonly { readonly data: Uint8Array }[]): number {
  let bytes = 0;
  for (const record of records) bytes += record.data.length;
  return bytes;
}
