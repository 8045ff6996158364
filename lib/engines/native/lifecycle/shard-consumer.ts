import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { describeError } from '../../../core/aws-errors';
import { LeaseLostError } from '../../../core/errors';
import type { ResolvedWorkerOptions } from '../../../core/options';
import type { KinesisRecordProcessor, ProcessorFactory, ShutdownReason } from '../../../core/processor';
import type { ExtendedSequenceNumber } from '../../../core/record';
import { positionOf } from '../../../core/sequence-number';
import { callShutdown } from '../../../core/processor-calls';
import { sleep } from '../../../core/sleep';
import { callWithRetries, type Delivery } from '../../../core/processing-retry';
import { ShardCheckpointer } from '../checkpoint/shard-checkpointer';
import type { HeldLease } from '../leases/held-lease';
import { isFinished } from '../../../leases/lease';
import type { LeaseTable } from '../../../leases/lease-table';
import { PrefetchingReader } from '../retrieval/prefetching-reader';
import type { ChildShard } from '../../../leases/shard-lister';
import { FetchAbortedError, ShardRecordFetcher, type RecordBatch } from '../retrieval/shard-record-fetcher';
import { assertProcessor } from '../../../core/assert-processor';

export type ShardConsumerState = 'WAITING_ON_PARENTS' | 'INITIALIZING' | 'PROCESSING' | 'SHUTTING_DOWN' | 'SHUT_DOWN';

export interface ShardConsumerDeps {
  readonly held: HeldLease;
  readonly table: LeaseTable;
  readonly kinesis: KinesisClient;
  readonly options: ResolvedWorkerOptions;
  readonly factory: ProcessorFactory;
  /** Children of a shard, for when GetRecords did not name them at shard end. */
  readonly findChildShards: (shardId: string) => Promise<ChildShard[]>;
  /** Called once the shard is finished and its children's leases exist. */
  readonly onShardEnded: () => void;
}

/**
 * Drives one processor through one shard lease, as the KCL's ShardConsumer does:
 * wait for parents, initialize, deliver batches in order, then shut down with a reason.
 */
export class ShardConsumer {
  state: ShardConsumerState = 'WAITING_ON_PARENTS';
  millisBehindLatest: number | undefined;
  private fetcher: ShardRecordFetcher | undefined;
  readonly done: Promise<void>;
  private readonly abort = new AbortController();
  private stopRequested = false;

  constructor(private readonly deps: ShardConsumerDeps) {
    deps.held.onLost(() => this.abort.abort());
    this.done = this.run().catch((error) =>
      this.deps.options.logger.error(`Shard consumer for ${this.shardId} failed: ${describeError(error)}`, (error as Error)?.stack),
    );
  }

  get shardId(): string {
    return this.deps.held.leaseKey;
  }

  /** The last checkpoint this consumer knows of (the lease's, kept current by its own writes). */
  get checkpoint(): ExtendedSequenceNumber {
    return this.deps.held.lease.checkpoint;
  }

  /** What keeps this shard from being read, when no retry will fix it by itself (for status()). */
  get problem(): string | undefined {
    return this.fetcher?.problem;
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

  private async run(): Promise<void> {
    const { held, options } = this.deps;
    try {
      if (isFinished(held.lease)) return await held.release();
      if (!(await this.waitForParents())) return await this.leave('REQUESTED');
      this.state = 'INITIALIZING';
      const processor = await this.deps.factory({ streamName: options.streamName, shardId: this.shardId, workerId: options.workerId });
      assertProcessor(processor, `the processor built for ${options.streamName}`);
      const checkpointer = new ShardCheckpointer(held, this.deps.table, options.checkpointRetry, this.logger);
      const start = held.lease.checkpoint;
      const initialized = await this.withRetries(`initialize at ${start.sequenceNumber}`, () =>
        processor.initialize?.({ shardId: this.shardId, streamName: options.streamName, checkpoint: start }),
      );
      if (initialized !== 'delivered') return await this.leave(initialized === 'gave-up' ? 'ZOMBIE' : this.exitReason(), processor);
      this.state = 'PROCESSING';
      const { reason, children } = await this.processUntilExit(processor, checkpointer, start);
      this.state = 'SHUTTING_DOWN';
      if (reason === 'TERMINATE') await this.finishShard(processor, checkpointer, children);
      else await this.leave(reason, processor, checkpointer);
    } finally {
      this.state = 'SHUT_DOWN';
    }
  }

  private async processUntilExit(
    processor: KinesisRecordProcessor,
    checkpointer: ShardCheckpointer,
    start: ExtendedSequenceNumber,
  ): Promise<{ reason: ShutdownReason; children?: readonly ChildShard[] }> {
    const { held, options } = this.deps;
    const fetcher = new ShardRecordFetcher({
      kinesis: this.deps.kinesis,
      streamName: options.streamName,
      shardId: this.shardId,
      start,
      leaseTakenAt: held.takenAt,
      maxRecords: options.maxRecords,
      maxCallsPerSecond: options.maxGetRecordsPerSecond,
      logger: this.logger,
      signal: this.abort.signal,
    });
    this.fetcher = fetcher;
    const reader = new PrefetchingReader(fetcher, options.idleTimeBetweenReadsMs, this.abort.signal);
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
      if (!held.isHeld()) {
        held.markLost(`not renewed within failoverTimeMs (${options.failoverTimeMs} ms)`);
        return { reason: 'ZOMBIE' };
      }
      this.millisBehindLatest = batch.millisBehindLatest;
      if (batch.records.length > 0) {
        const end = positionOf(batch.records.at(-1)!);
        checkpointer.markDelivered(end);
        const outcome = await this.deliver(processor, batch, checkpointer);
        if (outcome !== 'delivered') {
          // The batch did not succeed: a checkpoint() at shutdown must not cover it.
          checkpointer.rollBackDelivered(delivered);
          return { reason: outcome === 'gave-up' ? 'ZOMBIE' : this.exitReason() };
        }
        delivered = end;
      }
      if (batch.shardEnded) return { reason: 'TERMINATE', children: batch.childShards };
    }
  }

  private deliver(processor: KinesisRecordProcessor, batch: RecordBatch, checkpointer: ShardCheckpointer): Promise<Delivery> {
    const first = batch.records[0]!.sequenceNumber;
    const last = batch.records.at(-1)!.sequenceNumber;
    return this.withRetries(`processRecords for ${batch.records.length} records ${first}..${last}`, () =>
      processor.processRecords({ shardId: this.shardId, records: batch.records, checkpointer, millisBehindLatest: batch.millisBehindLatest }),
    );
  }

  private withRetries(what: string, call: () => unknown): Promise<Delivery> {
    return callWithRetries({
      what,
      where: `${this.deps.options.streamName}/${this.shardId}`,
      call,
      policy: this.deps.options.processingRetry,
      logger: this.logger,
      signal: this.abort.signal,
      abandoned: () => this.stopRequested || this.deps.held.lost,
    });
  }

  private exitReason(): ShutdownReason {
    return this.deps.held.lost ? 'ZOMBIE' : 'REQUESTED';
  }

  /** REQUESTED or ZOMBIE: tell the processor, then hand the lease over (a ZOMBIE has none to hand). */
  private async leave(reason: ShutdownReason, processor?: KinesisRecordProcessor, checkpointer?: ShardCheckpointer): Promise<void> {
    const { held } = this.deps;
    if (processor) {
      const withCheckpointer = reason !== 'ZOMBIE' && checkpointer && !held.lost;
      await this.callShutdown(processor, reason, withCheckpointer ? checkpointer : undefined);
    }
    if (!held.lost) {
      await held.release().catch((error) => this.logger.warn(`Releasing ${this.shardId} failed; it will expire instead: ${describeError(error)}`));
      this.logger.log(`Lease ${this.shardId} released (${reason === 'REQUESTED' ? 'REQUESTED' : 'gave up'}).`);
      this.deps.options.emit({ type: 'leaseReleased', shardId: this.shardId, reason: reason === 'REQUESTED' ? 'REQUESTED' : 'GAVE_UP' });
    }
  }

  private callShutdown(processor: KinesisRecordProcessor, reason: ShutdownReason, checkpointer?: ShardCheckpointer): Promise<boolean> {
    return callShutdown(processor, { shardId: this.shardId, reason, checkpointer }, this.logger);
  }

  /** SHARD_END: children's leases first, then the processor's TERMINATE, then the SHARD_END checkpoint. */
  private async finishShard(processor: KinesisRecordProcessor, checkpointer: ShardCheckpointer, named?: readonly ChildShard[]): Promise<void> {
    const { held, table } = this.deps;
    const children = named && named.length > 0 ? named : await this.deps.findChildShards(this.shardId);
    for (const child of children) {
      await table.createLeaseIfNotExists({
        leaseKey: child.shardId,
        checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
        parentShardIds: child.parentShardIds,
        hashKeyRange: child.hashKeyRange,
      });
    }
    checkpointer.markShardEnded();
    await this.callShutdown(processor, 'TERMINATE', checkpointer);
    try {
      if (!isFinished(held.lease)) await checkpointer.checkpoint();
      if (children.length > 0) {
        await held.update((lease) => table.updateChildShards(lease, children.map((c) => c.shardId)), 'child shards', () => true);
      }
      await held.release();
      this.logger.log(`Shard ${this.shardId} finished (SHARD_END); children: ${children.map((c) => c.shardId).join(', ') || 'none'}.`);
      this.deps.options.emit({ type: 'shardEnded', shardId: this.shardId, childShardIds: children.map((c) => c.shardId) });
      this.deps.options.emit({ type: 'leaseReleased', shardId: this.shardId, reason: 'SHARD_END' });
      this.deps.onShardEnded();
    } catch (error) {
      if (!(error instanceof LeaseLostError)) throw error;
      this.logger.warn(`Lease ${this.shardId} was lost before SHARD_END was recorded; its new owner will finish it.`);
      await this.callShutdown(processor, 'ZOMBIE');
    }
  }

  private async waitForParents(): Promise<boolean> {
    const parents = this.deps.held.lease.parentShardIds;
    while (parents.length > 0) {
      if (this.stopRequested || this.deps.held.lost) return false;
      const pending: string[] = [];
      for (const parent of parents) {
        const lease = await this.deps.table.getLease(parent);
        if (lease && !isFinished(lease)) pending.push(parent);
      }
      if (pending.length === 0) return true;
      this.logger.debug?.(`Shard ${this.shardId} waits for its parents ${pending.join(', ')} to reach SHARD_END.`);
      await sleep(this.deps.options.parentShardPollIntervalMs, this.abort.signal);
    }
    return true;
  }
}
