import type { WorkerEvent } from '../../../core/worker';
import { WorkerMetrics } from '../../../core/metrics';
import { toLeaseStatus, type Lease } from '../../../leases/lease';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeError } from '../../../core/aws-errors';
import type { ResolvedWorkerOptions } from '../../../core/options';
import type { ProcessorFactory } from '../../../core/processor';
import { pause } from '../../../core/retry';
import type { KinesisWorker, WorkerStatus } from '../../../core/worker';
import { createClients } from '../../../core/aws-clients';
import type { HeldLease } from '../leases/held-lease';
import type { MonotonicClock } from '../leases/clock';
import { LeaseCoordinator } from '../leases/lease-coordinator';
import { LeaseTable } from '../../../leases/lease-table';
import { InFlightBudget } from '../concurrency/in-flight-budget';
import { ReadBuffer } from '../retrieval/read-buffer';
import { ShardConsumer } from '../lifecycle/shard-consumer';
import { useFastGetRecords } from '../retrieval/fast-get-records';
import { isShardSyncLeader } from '../../../leases/leader-decider';
import { findChildShards } from '../../../leases/shard-lister';
import { preflight, streamScopesOf } from '../../../leases/preflight';
import { ConsumedStreams } from './consumed-streams';
import { createSubscriberClient } from '../retrieval/fanout-client';
import type { FanoutChannel } from '../retrieval/record-reader';
import { ensureStreamConsumer } from '../retrieval/stream-consumer-registration';
import { Kcl3HeldLease } from '../kcl3/kcl3-held-lease';
import { Kcl3Membership } from '../kcl3/kcl3-membership';
import { DynamoDbAnswerClock } from './dynamodb-answer-clock';

/**
 * The native engine's worker (the KCL's Scheduler): shard sync, the lease coordinator, and one
 * ShardConsumer per held lease. One stream in the single-stream lease format, or several streams on
 * one multi-stream lease table: each stream is synced on its own, while the taker balances the leases
 * of all of them together, as the Java KCL does.
 */
export class NativeWorker implements KinesisWorker {
  private readonly kinesis: KinesisClient;
  private readonly dynamodb: DynamoDBClient;
  private readonly table: LeaseTable;
  private readonly coordinator: LeaseCoordinator;
  /** Known once preflight described the streams (the multi-stream lease keys are made of what it returned). */
  private streams: ConsumedStreams | undefined;
  /** By lease key. */
  private readonly kcl3: Kcl3Membership;
  private readonly dynamoDbAnswers: DynamoDbAnswerClock;
  private readonly consumers = new Map<string, ShardConsumer>();
  /** retrieval.mode 'fanout': the client that streams SubscribeToShard, and the consumer once it is ACTIVE. */
  private readonly subscriber: KinesisClient | undefined;
  /** By stream name: each stream has its own registered consumer. */
  private readonly fanout = new Map<string, FanoutChannel>();
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private running = false;

  private readonly options: ResolvedWorkerOptions;
  /** Records read but not finished across the shards of this worker (processRecord processors): concurrency.maxInFlightRecords/Bytes. */
  private readonly inFlight: InFlightBudget;
  /** Records fetched but not yet processed across the shards of this worker: retrieval.maxBufferedRecords/Bytes. */
  private readonly readBuffer: ReadBuffer;
  /** Per stream name: each stream's metrics carry its own messaging.destination.name. */
  private readonly metrics: ReadonlyMap<string, WorkerMetrics>;

  constructor(
    private readonly resolved: ResolvedWorkerOptions,
    private readonly factory: ProcessorFactory,
  ) {
    this.metrics = new Map(
      resolved.streams.map((streamName) => [
        streamName,
        new WorkerMetrics({ ...resolved, streamName }, resolved.meterProvider, {
          leasesHeld: () =>
            this.coordinator.heldLeases().filter((held) => this.streams?.of(held.lease)?.scope.streamName === streamName).length,
          shards: () => [...this.consumers.values()].filter((consumer) => consumer.streamName === streamName),
        }),
      ]),
    );
    // Lease events of the coordinator name the lease key: reported as the shard and stream it stands for.
    const options = (this.options = {
      ...resolved,
      emit: (event: WorkerEvent) => (this.streams ? this.streams.emitLeaseEvent(event) : resolved.emit(event)),
    });
    this.inFlight = new InFlightBudget(options.concurrency.maxInFlightRecords, options.concurrency.maxInFlightBytes);
    this.readBuffer = new ReadBuffer(options.retrieval.maxBufferedRecords, options.retrieval.maxBufferedBytes);
    ({ kinesis: this.kinesis, dynamodb: this.dynamodb } = createClients(options));
    useFastGetRecords(this.kinesis, options.retrieval.wireFormat);
    this.dynamoDbAnswers = new DynamoDbAnswerClock(this.dynamodb);
    if (options.retrieval.mode === 'fanout') this.subscriber = createSubscriberClient(options);
    this.table = new LeaseTable(this.dynamodb, options.tableName, options.logger);
    this.coordinator = new LeaseCoordinator(
      this.table,
      {
        ...options,
        accepts: (lease) => this.streams?.of(lease) !== undefined,
        // Hand-over-aware from the take on (single-stream, the only 3.x membership): a lease taken under
        // the 2.x rules and handed over by a 3.x leader after a flip ends as a requested shutdown with a
        // final checkpoint, and the new owner starts at once, not as a lost lease (docs/kcl3-protocol.md, section 5).
        ...(options.multiStream
          ? {}
          : {
              hold: (lease: Lease, heldSince: number, clock: MonotonicClock) =>
                new Kcl3HeldLease(
                  lease,
                  this.table,
                  options.workerId,
                  options.failoverTimeMs,
                  clock,
                  heldSince,
                  () => this.kcl3.underThreeXRules,
                ),
            }),
      },
      options.logger,
      (held) => this.onLeaseTaken(held),
    );
    this.kcl3 = new Kcl3Membership(this.dynamodb, this.table, options, this.coordinator);
  }

  get workerId(): string {
    return this.options.workerId;
  }

  get streamName(): string {
    return this.options.streamName;
  }

  /** A failed start destroys the clients; a stop() called meanwhile stops whatever had started. */
  start(): Promise<void> {
    this.starting ??= this.startUp().catch((error) => {
      this.destroyClients();
      throw error;
    });
    return this.starting;
  }

  /** Every call returns the same stop: a second stop() waits for the first. */
  stop(): Promise<void> {
    if (!this.starting) return Promise.resolve();
    this.stopping ??= this.shutDown().finally(() => this.metrics.forEach((metrics) => metrics.close()));
    return this.stopping;
  }

  private get stopRequested(): boolean {
    return this.stopping !== undefined;
  }

  private async startUp(): Promise<void> {
    const { logger, streamName, tableName, workerId } = this.options;
    // The region first: not found, it is a config error before any call (and the clients use it).
    await this.options.region();
    const { streams: described, kcl3Mode } = await preflight(this.kinesis, this.table, this.options);
    const streams = (this.streams = new ConsumedStreams(
      streamScopesOf(described, this.options),
      this.resolved,
      this.kinesis,
      this.table,
      (name) => this.metrics.get(name)!,
    ));
    if (this.stopRequested) return;
    await this.registerFanoutConsumer();
    if (this.stopRequested) return;
    const leases = await this.table.listLeases();
    if (this.stopRequested) return;
    if (leases.length === 0 || isShardSyncLeader(leases, workerId)) await streams.syncShards(leases);
    if (this.stopRequested) return;
    // A Java KCL 3.x fleet's migration state decides whether leases are taken (2.x rules) or assigned by its leader.
    await this.kcl3.start(kcl3Mode);
    if (this.stopRequested) return;
    this.running = true;
    // A LATEST lease means "from when it was taken": taking the first leases before start() resolves
    // makes a record put right after start() part of what the worker delivers.
    await this.coordinator.start();
    this.syncTimer = setInterval(() => void this.periodicShardSync(), this.options.shardSyncIntervalMs);
    logger.log(`Worker ${workerId} consuming '${streamName}' with lease table '${tableName}'.`);
  }

  /**
   * Fan-out: register (or find) the stream consumer and wait until it is ACTIVE, before any lease is taken;
   * later, for a stream created again (whose consumer went with the old stream: registered by name then).
   */
  private async registerFanoutConsumer(which: (streamName: string) => boolean = () => true): Promise<void> {
    const { retrieval, logger } = this.options;
    if (retrieval.mode !== 'fanout' || !this.subscriber) return;
    for (const streamName of this.resolved.streams.filter(which)) {
      if (this.stopRequested) return;
      const consumerArn = await ensureStreamConsumer({
        kinesis: this.kinesis,
        streamName,
        consumerName: retrieval.consumerName,
        // A given consumerArn is of the stream as it was at start; a stream created again gets one by name.
        consumerArn: this.running ? undefined : retrieval.consumerArn,
        logger,
      });
      this.fanout.set(streamName, { consumerArn, subscriber: this.subscriber });
    }
  }

  private async shutDown(): Promise<void> {
    const { logger, shutdownTimeoutMs } = this.options;
    // start() checks for the stop after each step; a step that hangs (an unreachable endpoint) ends
    // when the clients are destroyed below.
    const started = await this.within(
      shutdownTimeoutMs,
      this.starting!.then(
        () => true,
        () => false,
      ),
    );
    if (!started || !this.running) {
      await this.kcl3.stop();
      this.destroyClients();
      logger.log(`Worker ${this.workerId} stopped before it consumed '${this.streamName}'.`);
      return;
    }
    clearInterval(this.syncTimer);
    await this.coordinator.stopTaking();
    await this.kcl3.stop();
    await this.syncing;
    await this.stopConsumers(shutdownTimeoutMs);
    await this.coordinator.stop();
    this.running = false;
    this.destroyClients();
    logger.log(`Worker ${this.workerId} stopped; its leases on '${this.streamName}' are released.`);
  }

  /**
   * Graceful stop of every consumer, bounded by shutdownTimeoutMs: a consumer still busy then (a hung
   * processRecords or shutdown) is named in the log and its lease given up, so stop() resolves.
   */
  private async stopConsumers(timeoutMs: number): Promise<void> {
    const consumers = [...this.consumers.values()];
    const finished = new Set<ShardConsumer>();
    const all = Promise.all(consumers.map((consumer) => consumer.requestStop().then(() => void finished.add(consumer))));
    if (
      await this.within(
        timeoutMs,
        all.then(() => true),
      )
    )
      return;
    const late = consumers.filter((consumer) => !finished.has(consumer));
    this.options.logger.warn(
      `Worker ${this.workerId}: ${late.map((c) => `${c.shardId} (${c.state})`).join(', ')} did not finish within shutdownTimeoutMs ` +
        `(${timeoutMs} ms); giving their leases up without a final checkpoint. Their records since the last checkpoint ` +
        `will be delivered again to the next owner. Raise shutdownTimeoutMs if processRecords or shutdown needs longer.`,
    );
    const held = new Map(this.coordinator.heldLeases().map((lease) => [lease.leaseKey, lease]));
    await Promise.all(late.map((consumer) => this.abandon(held.get(consumer.leaseKey))));
  }

  private async abandon(held: HeldLease | undefined): Promise<void> {
    if (!held || held.lost) return;
    try {
      await held.abandon();
      this.options.emit({ type: 'leaseReleased', shardId: held.leaseKey, reason: 'GAVE_UP' });
    } catch (error) {
      this.options.logger.warn(`Giving up ${held.leaseKey} failed; it expires after failoverTimeMs instead: ${describeError(error)}`);
    }
  }

  /** True when `work` settles with true within timeoutMs; the timer does not outlive it. */
  private async within(timeoutMs: number, work: Promise<boolean>): Promise<boolean> {
    const timer = new AbortController();
    try {
      return await Promise.race([work, pause(timeoutMs, timer.signal).then(() => false)]);
    } finally {
      timer.abort();
    }
  }

  private destroyClients(): void {
    clearInterval(this.syncTimer);
    this.kinesis.destroy();
    this.subscriber?.destroy();
    this.dynamodb.destroy();
  }

  /** The longest time since one of the held leases was last proven ours (renewed, taken or checkpointed). */
  private msSinceLeaseRenewal(): number | undefined {
    const held = this.coordinator.heldLeases();
    if (held.length === 0) return undefined;
    return Math.max(...held.map((lease) => this.options.failoverTimeMs - lease.msUntilExpiry()));
  }

  describe(): WorkerStatus {
    // What this worker holds is newer than its last scan of the table.
    const held = new Map(this.coordinator.heldLeases().map((h) => [h.leaseKey, h.lease]));
    const scanned = this.coordinator.latestScan().map((lease) => held.get(lease.leaseKey) ?? lease);
    const leases = [...scanned, ...[...held.values()].filter((lease) => !scanned.some((s) => s.leaseKey === lease.leaseKey))];
    return {
      workerId: this.workerId,
      streamName: this.streamName,
      appName: this.options.appName,
      tableName: this.options.tableName,
      engine: 'native',
      running: this.running,
      msSinceLeaseRenewal: this.msSinceLeaseRenewal(),
      msSinceDynamoDbAnswer: this.dynamoDbAnswers.msSinceLastAnswer(),
      leaseTiming: {
        leaseRenewalIntervalMs: this.options.leaseRenewalIntervalMs,
        failoverTimeMs: this.options.failoverTimeMs,
        leaseTakerIntervalMs: this.options.leaseTakerIntervalMs,
      },
      leases: leases.map(toLeaseStatus),
      readBuffer: {
        records: this.readBuffer.bufferedRecords,
        bytes: this.readBuffer.bufferedBytes,
        peakRecords: this.readBuffer.peakRecords,
        peakBytes: this.readBuffer.peakBytes,
        maxRecords: this.readBuffer.maxRecords,
        maxBytes: this.readBuffer.maxBytes,
      },
      ...(this.kcl3.status() ? { kcl3: this.kcl3.status() } : {}),
      shards: [...this.consumers.values()].map((consumer) => ({
        shardId: consumer.shardId,
        ...(this.options.multiStream ? { streamName: consumer.streamName } : {}),
        state: consumer.state,
        checkpoint: consumer.checkpoint,
        millisBehindLatest: consumer.millisBehindLatest,
        ...(consumer.problem ? { error: consumer.problem } : {}),
      })),
    };
  }

  /** Starts the lease's consumer; resolves once its start position is fixed (a LATEST lease's first iterator). */
  private onLeaseTaken(held: HeldLease): Promise<void> {
    const stream = this.streams?.of(held.lease);
    if (!stream) {
      // The taker takes only the leases of consumed streams; this is a guard, not a path.
      void held.release().catch(() => undefined);
      return Promise.resolve();
    }
    const startConsumer = (takenJustNow: boolean): Promise<void> => {
      if (this.stopRequested) {
        void held
          .release()
          .catch((error) => this.options.logger.warn(`Releasing ${held.leaseKey} failed; it will expire instead: ${describeError(error)}`));
        return Promise.resolve();
      }
      const consumer = new ShardConsumer({
        held,
        table: this.table,
        kinesis: this.kinesis,
        options: stream.options,
        metrics: stream.metrics,
        factory: this.factory,
        findChildShards: (shardId) => findChildShards(this.kinesis, stream.scope.streamName, shardId),
        onShardEnded: () => void this.coordinator.runTaker(),
        scope: stream.scope,
        fanout: this.fanout.get(stream.scope.streamName),
        inFlight: this.inFlight,
        readBuffer: this.readBuffer,
        takenJustNow,
      });
      this.consumers.set(held.leaseKey, consumer);
      // KCL 3.x graceful hand-over: the processor is shut down as at a requested stop (it may checkpoint), then checkpointOwner is cleared.
      if (held instanceof Kcl3HeldLease) {
        held.onHandoff((newOwner) => {
          this.options.logger.log(`Lease ${held.leaseKey} is handed over to ${newOwner}: shutting its processor down (REQUESTED).`);
          void consumer.requestStop();
        });
      }
      void consumer.done.finally(() => this.consumers.get(held.leaseKey) === consumer && this.consumers.delete(held.leaseKey));
      return consumer.startFixed;
    };
    // A consumer of an earlier lease on this shard may still be finishing its batch: never two at once. Its
    // successor's LATEST start is then the take time less the clock margin: the server's LATEST would be later than the take.
    const previous = this.consumers.get(held.leaseKey);
    if (previous) {
      void previous.done.then(() => startConsumer(false));
      return Promise.resolve();
    }
    return startConsumer(true);
  }

  /**
   * Multi-stream: a stream deleted and created again under its name is consumed as the new stream it is,
   * under its own lease keys (a new creation epoch), from initialPosition; the old stream's consumers stop
   * (gracefully: a final checkpoint lands on the old keys, which nothing reads) and its leases are no longer
   * taken. Checked by every worker at each shard-sync interval, before the leader's sync makes the new leases.
   */
  private async followRecreatedStreams(): Promise<void> {
    for (const { previous, current } of await this.streams!.followRecreatedStreams()) {
      const { streamName } = current.scope;
      this.options.logger.warn(
        `'${streamName}' was deleted and created again (${previous.scope.streamIdentifier} -> ${current.scope.streamIdentifier}): ` +
          `consuming the new stream from initialPosition under its own lease keys. The old stream's leases are no longer taken and stay in the ` +
          `table as they are (their checkpoints are positions in a stream that is gone); delete them with the CLI when no worker of the old stream runs.`,
      );
      // The stream consumer (fan-out) went with the old stream: the new stream gets its own, below.
      this.fanout.delete(streamName);
      for (const consumer of this.consumers.values())
        if (previous.scope.shardIdOfKey(consumer.leaseKey) !== undefined) void consumer.requestStop();
    }
    await this.registerFanoutConsumer((streamName) => !this.fanout.has(streamName));
  }

  private periodicShardSync(): void {
    if (this.syncing || this.stopRequested) return;
    this.syncing = (async () => {
      if (this.options.multiStream) await this.followRecreatedStreams();
      const leases = await this.table.listLeases();
      if (!isShardSyncLeader(leases, this.workerId)) return;
      const created = await this.streams!.syncShards(leases);
      if (created > 0) await this.coordinator.runTaker();
    })()
      .catch((error) => this.options.logger.warn(`Shard sync failed, will retry: ${describeError(error)}`))
      .finally(() => (this.syncing = undefined));
  }
}
