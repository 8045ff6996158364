import { toLeaseStatus } from '../../leases/lease';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describeError } from '../../core/aws-errors';
import { KinesisWorkerConfigError, KinesisWorkerError } from '../../core/errors';
import type { ResolvedKclEngineOptions, ResolvedWorkerOptions } from '../../core/options';
import type { ProcessorFactory } from '../../core/processor';
import { sleep } from '../../core/sleep';
import type { KinesisWorker, WorkerStatus } from '../../core/worker';
import { createClients } from '../../core/aws-clients';
import { preflight } from '../../leases/preflight';
import { ShardSync } from '../../leases/shard-sync';
import type { Lease } from '../../leases/lease';
import { LeaseTable } from '../../leases/lease-table';
import { KclDaemon, describeExit } from './daemon';
import { checkJava, locateJars, type KclJars } from './jars';
import { logbackXml } from './jvm-log';
import { daemonConfig, formatProperties } from './properties';
import { loadAwsKcl } from './aws-kcl-module';
import { ShardSession } from './shard-session';

/** The environment variable that tells a relay where the worker's socket is. */
export const SOCKET_ENV = 'NESTJS_KINESIS_KCL_SOCKET';
const RELAY_SOURCE = join(__dirname, 'relay.js');
const RUN_DIR_PREFIX = 'nkw-kcl-';
const OWNER_FILE = 'owner.pid';

/**
 * The kcl engine's worker for one stream: the Java KCL MultiLangDaemon in a child JVM does the leasing,
 * reading and checkpointing; each shard it leases gets a relay process that connects back here, where a
 * processor built through the factory handles the records, as with the native engine.
 *
 * Start: the stream is checked, and the lease table and the first leases are created here with the
 * native engine's code (same KCL 2.x schema), which also spares the Java KCL its random 1-30 s wait
 * on an empty table. Stop: SIGTERM to the JVM (every processor gets shutdown(REQUESTED) and may
 * checkpoint), then, as the Java KCL 2.x does not release its leases, this worker evicts the ones its
 * workerId still owns, so that other workers and restarts take them at once.
 */
export class KclWorker implements KinesisWorker {
  private readonly kinesis: KinesisClient;
  private readonly dynamodb: DynamoDBClient;
  private readonly table: LeaseTable;
  private readonly kcl: ResolvedKclEngineOptions;
  private readonly sessions = new Set<ShardSession>();
  private leases: readonly Lease[] = [];
  private server: Server | undefined;
  private daemon: KclDaemon | undefined;
  private runDir: string | undefined;
  private launchSettings: { classpath: string; propertiesFile: string; logbackFile: string; env: Record<string, string> } | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restarts = 0;
  private running = false;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly options: ResolvedWorkerOptions,
    private readonly factory: ProcessorFactory,
  ) {
    if (!options.kcl) throw new KinesisWorkerConfigError('kcl', 'the options were not resolved with resolveWorkerOptions.');
    this.kcl = options.kcl;
    ({ kinesis: this.kinesis, dynamodb: this.dynamodb } = createClients(options));
    this.table = new LeaseTable(this.dynamodb, options.tableName);
  }

  get workerId(): string {
    return this.options.workerId;
  }

  get streamName(): string {
    return this.options.streamName;
  }

  /** Diagnostics: the directory of this run (properties file, logback.xml, relay, socket). Every process of the run names it. */
  get runDirectory(): string | undefined {
    return this.runDir;
  }

  /** Diagnostics: the JVM's pid (also its process group id), while it runs. */
  get daemonPid(): number | undefined {
    return this.daemon?.running ? this.daemon.pid : undefined;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { logger, streamName, tableName, workerId } = this.options;
    if (process.platform === 'win32') {
      throw new KinesisWorkerConfigError('engine', "the 'kcl' engine needs a POSIX system (Unix sockets, /bin/sh); use the 'native' engine on Windows.");
    }
    loadAwsKcl();
    const jars = locateJars(this.kcl.jarsDir);
    const java = await checkJava(this.kcl.javaPath);
    await preflight(this.kinesis, this.table, this.options);
    // With no lease in the table, the Java KCL waits a random 1-30 s before its first shard sync.
    const leases = await this.table.listLeases();
    if (leases.length === 0) {
      await new ShardSync(this.kinesis, this.table, streamName, this.options.initialPosition, this.options.cleanupLeasesUponShardCompletion, logger).run(leases);
    }
    try {
      await this.prepareRun(jars);
      await this.launch();
    } catch (error) {
      this.stopping = this.shutDown(false);
      await this.stopping;
      throw error;
    }
    this.running = true;
    this.scanTimer = setInterval(() => void this.scanLeases(), Math.max(1_000, this.options.failoverTimeMs));
    void this.scanLeases();
    logger.log(
      `Worker ${workerId} consuming '${streamName}' with lease table '${tableName}' through the Java KCL ${jars.kclVersion ?? ''} MultiLangDaemon (JVM pid ${this.daemon?.pid}, ${java}).`,
    );
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutDown(true);
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
      shards: [...this.sessions]
        .filter((session) => session.shardId !== undefined)
        .map((session) => ({
          shardId: session.shardId!,
          state: session.state,
          checkpoint: session.checkpoint,
          millisBehindLatest: session.millisBehindLatest,
        })),
    };
  }

  /** The run directory: the socket the relays connect to, the relay itself, logback.xml and the properties file. */
  private async prepareRun(jars: KclJars): Promise<void> {
    removeStaleRunDirs();
    const runDir = mkdtempSync(join(tmpdir(), RUN_DIR_PREFIX));
    this.runDir = runDir;
    writeFileSync(join(runDir, OWNER_FILE), String(process.pid));
    const socketPath = join(runDir, 'relay.sock');
    if (Buffer.byteLength(socketPath) > 100) {
      throw new KinesisWorkerConfigError('kcl', `the socket path ${socketPath} is too long for a Unix socket; set TMPDIR to a shorter directory.`);
    }
    // The daemon splits executableName on spaces and runs it without a shell: no path in it may have one.
    const relay = join(runDir, 'relay.js');
    if (!existsSync(RELAY_SOURCE)) {
      throw new KinesisWorkerError(`${RELAY_SOURCE} is missing: the package build must ship lib/engines/kcl/relay.js next to kcl-worker.js (allowJs in tsconfig.build.json).`);
    }
    copyFileSync(RELAY_SOURCE, relay);
    let node = process.execPath;
    if (/\s/.test(node)) {
      node = join(runDir, 'node');
      symlinkSync(process.execPath, node);
    }
    if (/\s/.test(runDir)) throw new KinesisWorkerConfigError('kcl', `the temporary directory ${runDir} contains a space; set TMPDIR to one without.`);
    const logbackFile = join(runDir, 'logback.xml');
    writeFileSync(logbackFile, logbackXml(this.kcl.logLevel));
    const config = await daemonConfig(this.options, this.kcl, `${node} ${relay}`);
    config.warnings.forEach((warning) => this.options.logger.warn(warning));
    const propertiesFile = join(runDir, 'kcl.properties');
    writeFileSync(
      propertiesFile,
      formatProperties(config.properties, `MultiLangDaemon properties generated by nestjs-kinesis-worker for worker ${this.workerId}`),
      { mode: 0o600 },
    );
    this.server = await this.listen(socketPath);
    this.launchSettings = {
      classpath: [...jars.jars.map((jar) => join(jars.dir, jar)), runDir].join(delimiter),
      propertiesFile,
      logbackFile,
      // The relays are plain scripts: none of the worker's node flags (ts-node, inspectors) for them.
      env: { ...config.env, [SOCKET_ENV]: socketPath, NODE_OPTIONS: '' },
    };
  }

  private listen(socketPath: string): Promise<Server> {
    const server = createServer((socket) => this.onConnection(socket));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        server.on('error', (error) => this.options.logger.error(`The kcl engine's socket ${socketPath} failed: ${describeError(error)}`));
        resolve(server);
      });
    });
  }

  private onConnection(socket: Socket): void {
    this.daemon?.notifyActive();
    const session = new ShardSession({
      socket,
      options: this.options,
      factory: this.factory,
      giveUpLease: (shardId) => this.evictOwnLease(shardId).then(() => undefined),
      childShards: async (shardId) => (await this.table.getLease(shardId))?.childShardIds ?? [],
    });
    if (this.stopping) session.requestStop();
    this.sessions.add(session);
    void session.closed.then(() => this.sessions.delete(session));
  }

  private async launch(): Promise<void> {
    const settings = this.launchSettings!;
    const daemon = KclDaemon.start({
      javaPath: this.kcl.javaPath,
      javaOptions: this.kcl.javaOptions,
      ...settings,
      runDir: this.runDir!,
      orphanGraceMs: this.kcl.shutdownGraceMs,
      logger: this.options.logger,
      logPrefix: `[kcl ${this.streamName}]`,
    });
    this.daemon = daemon;
    const launchedAt = Date.now();
    void daemon.exited.then((exit) => this.onDaemonExit(daemon, exit, launchedAt));
    await daemon.waitUntilReady(this.kcl.startTimeoutMs);
  }

  /** The JVM died on its own (a child that failed makes the daemon exit): start a new one, with backoff. */
  private async onDaemonExit(daemon: KclDaemon, exit: { code: number | null; signal: NodeJS.Signals | null }, launchedAt: number): Promise<void> {
    if (this.daemon !== daemon || this.stopping || !this.running) return;
    if (Date.now() - launchedAt > 5 * 60_000) this.restarts = 0;
    const delay = Math.min(30_000, 1_000 * 2 ** this.restarts++);
    this.options.logger.error(
      `The Java KCL MultiLangDaemon for '${this.streamName}' exited unexpectedly (${describeExit(exit)}); restarting it in ${delay} ms. Its last log lines:\n  ${daemon.tail().join('\n  ')}`,
    );
    await daemon.reap();
    await this.releaseOwnLeases('the daemon exited');
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.launch().catch((error) => {
        if (this.stopping) return;
        // Its exit schedules the next attempt, with a longer backoff.
        this.options.logger.error(`Restarting the MultiLangDaemon failed: ${describeError(error)}`);
        this.daemon?.killGroup();
      });
    }, delay);
  }

  private async shutDown(graceful: boolean): Promise<void> {
    const { logger } = this.options;
    clearInterval(this.scanTimer);
    clearTimeout(this.restartTimer);
    for (const session of this.sessions) session.requestStop();
    const daemon = this.daemon;
    if (daemon) {
      if (daemon.running && graceful) {
        daemon.terminate();
        const idle = new AbortController();
        const outcome = await within(
          this.kcl.stopTimeoutMs,
          Promise.race([daemon.exited.then(() => 'exited' as const), this.idleAfterShutdown(idle.signal)]),
          'timeout' as const,
        ).finally(() => idle.abort());
        if (outcome === 'idle' && daemon.running) {
          logger.debug?.('Every processor is shut down and every relay gone; ending the JVM instead of letting it wait out its timers.');
        } else if (outcome === 'timeout') {
          logger.warn(`The MultiLangDaemon did not exit within ${this.kcl.stopTimeoutMs} ms (kcl.stopTimeoutMs) of SIGTERM; killing it.`);
        }
      }
      if (daemon.running) {
        daemon.killGroup();
        await within(5_000, daemon.exited, undefined);
      }
      await daemon.reap();
    }
    // The relays are gone with the JVM: their connections close, and each processor has had its shutdown.
    const closing = [...this.sessions].map((session) => session.closed);
    await within(10_000, Promise.all(closing), undefined);
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
    if (this.runDir) rmSync(this.runDir, { recursive: true, force: true });
    if (daemon) await this.releaseOwnLeases('REQUESTED');
    const wasRunning = this.running;
    this.running = false;
    this.kinesis.destroy();
    this.dynamodb.destroy();
    if (wasRunning) logger.log(`Worker ${this.workerId} stopped; its leases on '${this.streamName}' are released.`);
  }

  /**
   * Resolves once a daemon that was sent SIGTERM has nothing left to do for this worker: no relay has
   * been connected for a second. Every processor has had its shutdown by then (the daemon closes a
   * relay only after shutdownRequested and leaseLost, or shardEnded), and every checkpoint it wrote
   * was acknowledged by the daemon, hence stored. The Java KCL 2.x would still wait out
   * failoverTimeMillis, or its whole shutdownGraceMillis when a shard that ended earlier is still
   * counted as a processor to wait for. What it still owns is evicted right after.
   */
  private async idleAfterShutdown(signal: AbortSignal): Promise<'idle' | 'aborted'> {
    while (!signal.aborted) {
      while (this.sessions.size > 0 && !signal.aborted) await sleep(50, signal);
      await sleep(1_000, signal);
      if (this.sessions.size === 0 && !signal.aborted) return 'idle';
    }
    return 'aborted';
  }

  /** The Java KCL 2.x leaves its leases owned when it stops: evict what this workerId still owns. */
  private async releaseOwnLeases(why: 'REQUESTED' | 'the daemon exited'): Promise<void> {
    let leases: Lease[];
    try {
      leases = await this.table.listLeases();
    } catch (error) {
      this.options.logger.warn(`Could not list the leases to release them; they will expire instead: ${describeError(error)}`);
      return;
    }
    this.leases = leases;
    for (const lease of leases.filter((l) => l.leaseOwner === this.workerId)) {
      try {
        if (!(await this.table.evictLease(lease))) continue;
        this.options.logger.log(`Lease ${lease.leaseKey} released (${why}).`);
        if (why === 'REQUESTED') this.options.emit({ type: 'leaseReleased', shardId: lease.leaseKey, reason: 'REQUESTED' });
      } catch (error) {
        this.options.logger.warn(`Releasing ${lease.leaseKey} failed; it will expire instead: ${describeError(error)}`);
      }
    }
  }

  private async evictOwnLease(shardId: string): Promise<boolean> {
    const lease = await this.table.getLease(shardId);
    return lease?.leaseOwner === this.workerId ? this.table.evictLease(lease) : false;
  }

  private async scanLeases(): Promise<void> {
    try {
      this.leases = await this.table.listLeases();
    } catch (error) {
      this.options.logger.debug?.(`Lease scan for describe() failed: ${describeError(error)}`);
    }
  }
}

/** The promise's value, or `fallback` once ms have passed; the timer never outlives the wait. */
async function within<T, F>(ms: number, promise: Promise<T>, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Run directories of workers whose process is gone (killed: it could not clean up; its watchdog has
 * ended the JVM). A directory whose owner pid is alive, or unknown, is left alone.
 */
function removeStaleRunDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir()).filter((name) => name.startsWith(RUN_DIR_PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = join(tmpdir(), name);
    try {
      const owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
      if (!Number.isInteger(owner) || owner <= 0 || processAlive(owner)) continue;
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // not ours to judge
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
