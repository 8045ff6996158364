import { toLeaseStatus } from '../../../leases/lease';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeError } from '../../../core/aws-errors';
import type { ResolvedWorkerOptions } from '../../../core/options';
import type { ProcessorFactory } from '../../../core/processor';
import type { KinesisWorker, WorkerStatus } from '../../../core/worker';
import { createClients } from '../../../core/aws-clients';
import type { HeldLease } from '../leases/held-lease';
import { LeaseCoordinator } from '../leases/lease-coordinator';
import { LeaseTable } from '../../../leases/lease-table';
import { ShardConsumer } from '../lifecycle/shard-consumer';
import { useFastGetRecords } from '../retrieval/fast-get-records';
import { isShardSyncLeader } from '../../../leases/leader-decider';
import { findChildShards } from '../../../leases/shard-lister';
import { preflight } from '../../../leases/preflight';
import { ShardSync } from '../../../leases/shard-sync';

/**
 * The native engine's worker for one stream (the KCL's Scheduler): shard sync, the lease
 * coordinator, and one ShardConsumer per held lease.
 */
export class NativeWorker implements KinesisWorker {
  private readonly kinesis: KinesisClient;
  private readonly dynamodb: DynamoDBClient;
  private readonly table: LeaseTable;
  private readonly coordinator: LeaseCoordinator;
  private readonly shardSync: ShardSync;
  private readonly consumers = new Map<string, ShardConsumer>();
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private running = false;
  private stopping = false;

  constructor(
    private readonly options: ResolvedWorkerOptions,
    private readonly factory: ProcessorFactory,
  ) {
    ({ kinesis: this.kinesis, dynamodb: this.dynamodb } = createClients(options));
    useFastGetRecords(this.kinesis);
    this.table = new LeaseTable(this.dynamodb, options.tableName);
    this.coordinator = new LeaseCoordinator(this.table, options, options.logger, (held) => this.onLeaseTaken(held));
    this.shardSync = new ShardSync(this.kinesis, this.table, options.streamName, options.initialPosition, options.cleanupLeasesUponShardCompletion, options.logger);
  }

  get workerId(): string {
    return this.options.workerId;
  }

  get streamName(): string {
    return this.options.streamName;
  }

  async start(): Promise<void> {
    const { logger, streamName, tableName, workerId } = this.options;
    await preflight(this.kinesis, this.table, this.options);
    const leases = await this.table.listLeases();
    if (leases.length === 0 || isShardSyncLeader(leases, workerId)) await this.shardSync.run(leases);
    this.running = true;
    this.coordinator.start();
    this.syncTimer = setInterval(() => void this.periodicShardSync(), this.options.shardSyncIntervalMs);
    logger.log(`Worker ${workerId} consuming '${streamName}' with lease table '${tableName}'.`);
  }

  async stop(): Promise<void> {
    if (!this.running || this.stopping) return;
    this.stopping = true;
    clearInterval(this.syncTimer);
    await this.coordinator.stopTaking();
    await this.syncing;
    await Promise.all([...this.consumers.values()].map((consumer) => consumer.requestStop()));
    await this.coordinator.stop();
    this.running = false;
    this.kinesis.destroy();
    this.dynamodb.destroy();
    this.options.logger.log(`Worker ${this.workerId} stopped; its leases on '${this.streamName}' are released.`);
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
      leases: leases.map(toLeaseStatus),
      shards: [...this.consumers.values()].map((consumer) => ({
        shardId: consumer.shardId,
        state: consumer.state,
        checkpoint: consumer.checkpoint,
        millisBehindLatest: consumer.millisBehindLatest,
      })),
    };
  }

  private onLeaseTaken(held: HeldLease): void {
    const startConsumer = () => {
      if (this.stopping) return void held.release();
      const consumer = new ShardConsumer({
        held,
        table: this.table,
        kinesis: this.kinesis,
        options: this.options,
        factory: this.factory,
        findChildShards: (shardId) => findChildShards(this.kinesis, this.streamName, shardId),
        onShardEnded: () => void this.coordinator.runTaker(),
      });
      this.consumers.set(held.leaseKey, consumer);
      void consumer.done.finally(() => this.consumers.get(held.leaseKey) === consumer && this.consumers.delete(held.leaseKey));
    };
    // A consumer of an earlier lease on this shard may still be finishing its batch: never two at once.
    const previous = this.consumers.get(held.leaseKey);
    if (previous) void previous.done.then(startConsumer);
    else startConsumer();
  }

  private periodicShardSync(): void {
    if (this.syncing || this.stopping) return;
    this.syncing = (async () => {
      const leases = await this.table.listLeases();
      if (!isShardSyncLeader(leases, this.workerId)) return;
      const { created } = await this.shardSync.run(leases);
      if (created.length > 0) await this.coordinator.runTaker();
    })()
      .catch((error) => this.options.logger.warn(`Shard sync failed, will retry: ${describeError(error)}`))
      .finally(() => (this.syncing = undefined));
  }
}
