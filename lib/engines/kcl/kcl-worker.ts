import { WorkerMetrics } from '../../core/metrics';
import type { WorkerEvent } from '../../core/worker';
import { delimiter, join } from 'node:path';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createClients } from '../../core/aws-clients';
import { describeError } from '../../core/aws-errors';
import { KinesisWorkerConfigError, KinesisWorkerError } from '../../core/errors';
import type { ResolvedKclEngineOptions, ResolvedWorkerOptions } from '../../core/options';
import type { ProcessorFactory } from '../../core/processor';
import type { KinesisWorker, WorkerStatus } from '../../core/worker';
import { toLeaseStatus, type Lease } from '../../leases/lease';
import { LeaseTable } from '../../leases/lease-table';
import { preflight } from '../../leases/preflight';
import { ShardSync } from '../../leases/shard-sync';
import { loadAwsKcl } from './aws-kcl-module';
import { DaemonSupervisor } from './daemon-supervisor';
import { checkJava, locateJars, type KclJars } from './jars';
import { createKcl3LeaseTable } from './kcl3-lease-table';
import { isKcl3 } from './kcl-lines';
import { logbackXml } from './jvm-log';
import { LeaseEviction } from './lease-eviction';
import { daemonConfig, formatProperties } from './properties';
import { RelayServer } from './relay-server';
import { RunDirectory, SOCKET_ENV } from './run-directory';

export { SOCKET_ENV } from './run-directory';

/**
 * The kcl engine's worker for one stream: the Java KCL MultiLangDaemon in a child JVM does the leasing,
 * reading and checkpointing; each shard it leases gets a relay process that connects back here, where a
 * processor built through the factory handles the records, as with the native engine.
 *
 * Start: the stream is checked, and the lease table and the first leases are created here with the
 * shared lease code (same KCL 2.x schema), which also spares the Java KCL its random 1-30 s wait on an
 * empty table. Stop: SIGTERM to the JVM (every processor gets shutdown(REQUESTED) and may checkpoint),
 * bounded by shutdownTimeoutMs; then, as the Java KCL 2.x does not release its leases, this worker
 * evicts the ones its workerId still owns, so that other workers and restarts take them at once.
 */
export class KclWorker implements KinesisWorker {
  private readonly kinesis: KinesisClient;
  private readonly dynamodb: DynamoDBClient;
  private readonly table: LeaseTable;
  private readonly eviction: LeaseEviction;
  private leases: readonly Lease[] = [];
  private run: RunDirectory | undefined;
  private relays: RelayServer | undefined;
  private supervisor: DaemonSupervisor | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private running = false;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private tornDown: Promise<void> | undefined;
  /** Aborted by stop(): a start() in progress gives up and cleans up what it started. */
  private readonly startAbort = new AbortController();

  private readonly options: ResolvedWorkerOptions;
  private readonly metrics: WorkerMetrics;

  constructor(
    resolved: ResolvedWorkerOptions,
    private readonly factory: ProcessorFactory,
    private readonly kcl: ResolvedKclEngineOptions,
  ) {
    // What this process sees: batches, checkpoints, lease events and each shard's lag (the Java KCL holds the leases).
    this.metrics = new WorkerMetrics(resolved, resolved.meterProvider, { shards: () => this.relays?.active ?? [] });
    const options = (this.options = { ...resolved, emit: (event: WorkerEvent) => (this.metrics.lease(event), resolved.emit(event)) });
    // At bootstrap, not at the first shard: aws-kcl is an optional peer dependency.
    loadAwsKcl();
    ({ kinesis: this.kinesis, dynamodb: this.dynamodb } = createClients(options));
    this.table = new LeaseTable(this.dynamodb, options.tableName, options.logger);
    this.eviction = new LeaseEviction(this.table, options.workerId, options.logger, options.emit);
  }

  get workerId(): string {
    return this.options.workerId;
  }

  get streamName(): string {
    return this.options.streamName;
  }

  /** Diagnostics: the directory of this run (properties file, logback.xml, relay, socket). Every process of the run names it. */
  get runDirectory(): string | undefined {
    return this.run?.path;
  }

  /** Diagnostics: the JVM's pid (also its process group id), while it runs. */
  get daemonPid(): number | undefined {
    return this.supervisor?.pid;
  }

  /**
   * Resolves once the daemon's scheduler is up. A failed start cleans up what it started (JVM, socket,
   * run directory, clients). A stop() during start() ends the start: it resolves, with nothing running.
   */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    if (this.stopping)
      return Promise.reject(new KinesisWorkerError(`Worker ${this.workerId} was stopped; create a new worker to consume again.`));
    this.starting ??= this.startUp();
    return this.starting;
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutDown().finally(() => this.metrics.close());
    return this.stopping;
  }

  describe(): WorkerStatus {
    return {
      workerId: this.workerId,
      streamName: this.streamName,
      appName: this.options.appName,
      tableName: this.options.tableName,
      engine: 'kcl',
      running: this.running,
      leases: this.leases.map(toLeaseStatus),
      shards: (this.relays?.active ?? [])
        .filter((session) => session.shardId !== undefined)
        .map((session) => ({
          shardId: session.shardId!,
          state: session.state,
          checkpoint: session.checkpoint,
          millisBehindLatest: session.millisBehindLatest,
        })),
    };
  }

  private async startUp(): Promise<void> {
    const { logger, streamName, tableName, workerId } = this.options;
    const signal = this.startAbort.signal;
    let jars: KclJars;
    let java: string;
    try {
      if (process.platform === 'win32') {
        throw new KinesisWorkerConfigError(
          'engine',
          "the 'kcl' engine needs a POSIX system (Unix sockets, /bin/sh); use the 'native' engine on Windows.",
        );
      }
      // The region first: not found, it is a config error before the JVM, the run directory or any call.
      await this.options.region();
      jars = locateJars(this.kcl.jarsDir, this.kcl.version);
      java = await checkJava(this.kcl.javaPath);
      // Before preflight, which would create a 2.x table (without the GSI 3.x needs). When this fails
      // (endpoint, permissions), preflight fails the same way and names the cause and the fix.
      if (isKcl3(this.kcl.version)) await createKcl3LeaseTable(this.dynamodb, tableName).catch(() => undefined);
      await preflight(this.kinesis, this.table, this.options);
      // With no lease in the table, the Java KCL waits a random 1-30 s before its first shard sync.
      const leases = await this.table.listLeases();
      if (leases.length === 0 && !signal.aborted) {
        await new ShardSync(
          this.kinesis,
          this.table,
          streamName,
          this.options.initialPosition,
          this.options.cleanupLeasesUponShardCompletion,
          logger,
        ).run(leases);
      }
      if (!signal.aborted) await this.launch(jars, signal);
    } catch (error) {
      await this.tearDown();
      if (signal.aborted) return this.logStoppedDuringStart();
      throw error;
    }
    if (signal.aborted) {
      await this.tearDown();
      return this.logStoppedDuringStart();
    }
    this.running = true;
    this.scanTimer = setInterval(() => void this.scanLeases(), Math.max(1_000, this.options.failoverTimeMs));
    void this.scanLeases();
    logger.log(
      `Worker ${workerId} consuming '${streamName}' with lease table '${tableName}' through the Java KCL ${jars.kclVersion ?? ''} MultiLangDaemon (JVM pid ${this.daemonPid}, ${java}).`,
    );
  }

  private logStoppedDuringStart(): void {
    this.options.logger.log(`Worker ${this.workerId} was stopped while it started; nothing of it runs.`);
  }

  /** The run directory, the socket for the relays, then the JVM; resolves once its scheduler is up. */
  private async launch(jars: KclJars, signal: AbortSignal): Promise<void> {
    const run = RunDirectory.create();
    this.run = run;
    const logbackFile = run.write('logback.xml', logbackXml(this.kcl.logLevel));
    const config = await daemonConfig(this.options, this.kcl, run.relayCommand);
    config.warnings.forEach((warning) => this.options.logger.warn(warning));
    const propertiesFile = run.write(
      'kcl.properties',
      formatProperties(config.properties, `MultiLangDaemon properties generated by nestjs-kinesis-worker for worker ${this.workerId}`),
      0o600,
    );
    const supervisor = new DaemonSupervisor({
      launch: {
        javaPath: this.kcl.javaPath,
        javaOptions: this.kcl.javaOptions,
        classpath: [...jars.jars.map((jar) => join(jars.dir, jar)), run.path].join(delimiter),
        propertiesFile,
        logbackFile,
        // The relays are plain scripts: none of the worker's node flags (ts-node, inspectors) for them.
        env: { ...config.env, [SOCKET_ENV]: run.socketPath, NODE_OPTIONS: '' },
        runDir: run.path,
        orphanGraceMs: this.kcl.shutdownGraceMs,
        logger: this.options.logger,
        logPrefix: `[kcl ${this.streamName}]`,
      },
      startTimeoutMs: this.kcl.startTimeoutMs,
      streamName: this.streamName,
      logger: this.options.logger,
      afterCrash: () => this.releaseOwnLeases('the daemon exited'),
    });
    this.relays = await RelayServer.listen(run.socketPath, {
      options: this.options,
      factory: this.factory,
      metrics: this.metrics,
      onConnection: () => this.supervisor?.notifyActive(),
      giveUpLease: (shardId) => this.eviction.evictOwnLease(shardId).then(() => undefined),
      childShards: async (shardId) => (await this.table.getLease(shardId))?.childShardIds ?? [],
    });
    this.supervisor = supervisor;
    await supervisor.start(signal);
  }

  /**
   * Graceful stop, bounded by shutdownTimeoutMs: every processor gets shutdown(REQUESTED) through the
   * daemon. A shard that has not finished by then (a hung processRecords) is logged and left behind:
   * the JVM and the relays are killed, and its lease is released with the others, without a
   * checkpoint past what the processor checkpointed.
   */
  private async shutDown(): Promise<void> {
    this.startAbort.abort();
    await this.starting?.catch(() => undefined);
    if (!this.running) return this.tearDown();
    const { logger, shutdownTimeoutMs } = this.options;
    const deadline = Date.now() + shutdownTimeoutMs;
    clearInterval(this.scanTimer);
    const relays = this.relays!;
    relays.requestStop();
    const graceMs = Math.min(this.kcl.stopTimeoutMs, shutdownTimeoutMs);
    const outcome = await this.supervisor!.stopGracefully(graceMs, (signal) => relays.idle(signal));
    if (outcome === 'idle')
      logger.debug?.('Every processor is shut down and every relay gone; ending the JVM instead of letting it wait out its timers.');
    if (outcome === 'timeout') {
      const option = graceMs === shutdownTimeoutMs ? 'shutdownTimeoutMs' : 'kcl.stopTimeoutMs';
      logger.warn(
        `The MultiLangDaemon did not finish within ${graceMs} ms (${option}) of SIGTERM; killed it.${describeUnfinished(relays)}`,
      );
    }
    // The relays are gone with the JVM: their connections close, and each processor gets its shutdown.
    if (!(await relays.allClosedWithin(Math.max(1_000, deadline - Date.now())))) {
      logger.error(
        `Stop gave up waiting for processors after shutdownTimeoutMs (${shutdownTimeoutMs} ms).${describeUnfinished(relays)} Their leases are released; records after their last checkpoint will be delivered again.`,
      );
    }
    await this.tearDown();
    logger.log(`Worker ${this.workerId} stopped; its leases on '${this.streamName}' are released.`);
  }

  /** Whatever of the worker exists goes: JVM and relays, socket, run directory, leases it still owns, clients. Once. */
  private tearDown(): Promise<void> {
    this.tornDown ??= (async () => {
      clearInterval(this.scanTimer);
      this.running = false;
      await this.supervisor
        ?.kill()
        .catch((error) => this.options.logger.error(`Could not end the MultiLangDaemon: ${describeError(error)}`));
      await this.relays?.close();
      this.run?.remove();
      if (this.supervisor?.launched) await this.releaseOwnLeases('REQUESTED');
      this.kinesis.destroy();
      this.dynamodb.destroy();
    })();
    return this.tornDown;
  }

  private async releaseOwnLeases(why: 'REQUESTED' | 'the daemon exited'): Promise<void> {
    this.leases = (await this.eviction.releaseOwnLeases(why)) ?? this.leases;
  }

  private async scanLeases(): Promise<void> {
    try {
      this.leases = await this.table.listLeases();
    } catch (error) {
      this.options.logger.debug?.(`Lease scan for describe() failed: ${describeError(error)}`);
    }
  }
}

/** " Unfinished: shardId-1 (processRecords), ..." for the shards whose relay is still connected. */
function describeUnfinished(relays: RelayServer): string {
  const open = relays.active.map(
    (session) => `${session.shardId ?? 'a shard not yet initialized'} (${session.currentAction ?? session.state})`,
  );
  return open.length > 0 ? ` Shards that did not finish: ${open.join(', ')}.` : '';
}
