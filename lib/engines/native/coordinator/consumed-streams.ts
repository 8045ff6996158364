import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { describeError } from '../../../core/aws-errors';
import { withLogFields } from '../../../core/logger';
import type { WorkerMetrics } from '../../../core/metrics';
import type { ResolvedWorkerOptions } from '../../../core/options';
import type { WorkerEvent } from '../../../core/worker';
import type { Lease } from '../../../leases/lease';
import type { LeaseTable } from '../../../leases/lease-table';
import { ShardSync } from '../../../leases/shard-sync';
import { recreatedScope, type StreamLeaseScope } from '../../../leases/stream-lease-scope';
import { classifyReadError } from '../retrieval/read-errors';

/** One stream of the worker: its leases in the table, its shard sync, and options and metrics that name it. */
export interface ConsumedStream {
  readonly scope: StreamLeaseScope;
  /** The worker's options with streamName set to this stream, and events counted and reported as this stream's. */
  readonly options: ResolvedWorkerOptions;
  readonly metrics: WorkerMetrics;
  readonly shardSync: ShardSync;
}

/**
 * The streams a native worker consumes, one or several on one lease table: which stream a lease is
 * of, each lease event reported as its stream's, and a shard sync that runs per stream.
 */
export class ConsumedStreams {
  private streams: ConsumedStream[];

  constructor(
    scopes: readonly StreamLeaseScope[],
    private readonly resolved: ResolvedWorkerOptions,
    private readonly kinesis: KinesisClient,
    private readonly table: LeaseTable,
    private readonly metricsOf: (streamName: string) => WorkerMetrics,
  ) {
    this.streams = scopes.map((scope) => this.consumed(scope));
  }

  get all(): readonly ConsumedStream[] {
    return this.streams;
  }

  private consumed(scope: StreamLeaseScope): ConsumedStream {
    const { resolved } = this;
    const metrics = this.metricsOf(scope.streamName);
    const options: ResolvedWorkerOptions = {
      ...resolved,
      streamName: scope.streamName,
      logger: withLogFields(resolved.logger, { stream: scope.streamName }),
      // Every lease event is counted, wherever in the engine it is emitted.
      emit: (event: WorkerEvent) => (metrics.lease(event), resolved.emit(event, scope.streamName)),
    };
    const shardSync = new ShardSync(
      this.kinesis,
      this.table,
      scope,
      resolved.initialPosition,
      resolved.cleanupLeasesUponShardCompletion,
      options.logger,
    );
    return { scope, options, metrics, shardSync };
  }

  /**
   * Multi-stream format: a stream deleted and created again under its name is a new stream, with a new
   * creation epoch and so new lease keys (account:stream:epoch:shardId, as the Java KCL keys them); the
   * old keys' checkpoints are positions in a stream that is gone. Asks DescribeStreamSummary of each
   * stream and, for one created since this worker described it, consumes the new stream in its place
   * (its leases are made by the next shard sync, at initialPosition) and returns what was replaced: the
   * old stream's leases are no longer taken, and the caller stops the consumers that hold them. A stream
   * that is missing (deleted, not created again yet) or cannot be described now is left as it is.
   */
  async followRecreatedStreams(): Promise<{ previous: ConsumedStream; current: ConsumedStream }[]> {
    const replaced: { previous: ConsumedStream; current: ConsumedStream }[] = [];
    for (const [index, previous] of this.streams.entries()) {
      const { streamName, streamIdentifier } = previous.scope;
      if (streamIdentifier === undefined) continue;
      let scope: StreamLeaseScope | undefined;
      try {
        const { StreamDescriptionSummary: summary } = await this.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }));
        scope = recreatedScope(streamIdentifier, streamName, summary?.StreamARN, summary?.StreamCreationTimestamp);
      } catch (error) {
        if (classifyReadError(error) !== 'not-found')
          this.resolved.logger.warn(
            `Checking whether '${streamName}' was created again failed; checked again at the next shard sync: ${describeError(error)}`,
          );
        continue;
      }
      if (!scope) continue;
      const current = this.consumed(scope);
      this.streams[index] = current;
      replaced.push({ previous, current });
    }
    return replaced;
  }

  /** The stream a lease belongs to; undefined for a stream this worker does not consume. */
  of(lease: Pick<Lease, 'streamIdentifier'>): ConsumedStream | undefined {
    return this.all.find((stream) => stream.scope.owns(lease));
  }

  /** The lease engine names a lease by its key: reported as the shard and stream it stands for. */
  emitLeaseEvent(event: WorkerEvent): void {
    for (const stream of this.all) {
      const shardId = stream.scope.shardIdOfKey(event.shardId);
      if (shardId !== undefined) return stream.options.emit({ ...event, shardId });
    }
    // Not a lease of a consumed stream (the taker takes none): reported as it is.
    this.resolved.emit(event);
  }

  /**
   * Syncs each stream on its own: with several, a stream that cannot be listed (throttled, deleted) is
   * reported and retried at the next sync without holding back the others; a lone stream's failure is
   * thrown as before. Returns how many leases were created.
   */
  async syncShards(leases: readonly Lease[]): Promise<number> {
    let created = 0;
    const failures: string[] = [];
    for (const stream of [...this.streams]) {
      try {
        created += (await stream.shardSync.run(leases)).created.length;
      } catch (error) {
        if (this.all.length === 1) throw error;
        failures.push(`'${stream.scope.streamName}': ${describeError(error)}`);
      }
    }
    if (failures.length > 0) this.resolved.logger.warn(`Shard sync failed for ${failures.join('; ')}; will retry.`);
    return created;
  }
}
