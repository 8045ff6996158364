import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { endpoints } from './aws';
import { kcl35ConsumerBuild } from './kcl35-build';
import { waitFor } from './wait-for';

/**
 * The Java KCL 3.5.1 test consumer (test/java/kcl35-consumer) as a child JVM: start, stop (SIGTERM, a
 * graceful KCL shutdown), kill (SIGKILL), and the JSON lines it writes on stdout, parsed. Its KCL log
 * (stderr) goes to a file in the jest worker's temporary folder, named in every failure message.
 */
/** Every line carries `at`: epoch ms on this host's clock, shared with the native workers' event files. */
export type Kcl35Event = { at: number } & (
  | { event: 'started' | 'stopped'; workerId: string }
  | { event: 'initialize'; workerId: string; shardId: string; sequenceNumber: string | null; subSequenceNumber: number | null }
  | {
      event: 'record';
      workerId: string;
      shardId: string;
      sequenceNumber: string;
      subSequenceNumber: number;
      partitionKey: string;
      data: string;
      dataBase64: string;
    }
  | { event: 'records'; workerId: string; shardId: string; count: number; millisBehindLatest: number }
  | { event: 'checkpoint'; workerId: string; shardId: string; sequenceNumber: string | null; subSequenceNumber: number }
  | { event: 'checkpointFailed'; workerId: string; shardId: string; sequenceNumber: string | null; error: string }
  | { event: 'leaseLost' | 'shardEnded' | 'shutdownRequested'; workerId: string; shardId: string }
  | { event: 'shutdownFailed'; workerId: string; error: string }
);

export type Kcl35Record = Extract<Kcl35Event, { event: 'record' }>;

export interface Kcl35ConsumerConfig {
  readonly stream: string;
  readonly applicationName: string;
  readonly workerId: string;
  /** CLIENT_VERSION_CONFIG_3X (the Java default) or CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X. */
  readonly clientVersionConfig?: 'CLIENT_VERSION_CONFIG_3X' | 'CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X';
  /** The 3.5 phase-2 switch: move the two legacy tables' entities into the lease table (default false). */
  readonly migrateAllEntitiesToLeaseTable?: boolean;
  readonly initialPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** Any other setting of the consumer (Kcl35Consumer.java): failoverTimeMillis, shardSyncIntervalMillis, ... */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
}

/** Settings that make a 3.5.1 worker act within seconds on the emulators (its defaults take ~90 s to a first record). */
export const KCL35_FAST: Readonly<Record<string, number>> = {
  failoverTimeMillis: 6000,
  shardSyncIntervalMillis: 3000,
  leaseAssignmentIntervalMillis: 1000,
  workerMetricsReporterFreqInMillis: 3000,
  idleTimeBetweenReadsInMillis: 250,
  parentShardPollIntervalMillis: 1000,
  gracefulLeaseHandoffTimeoutMillis: 10_000,
};

export class Kcl35Consumer {
  readonly events: Kcl35Event[] = [];
  /** Lines on stdout that are not JSON (none expected: the KCL logs on stderr). */
  readonly otherOutput: string[] = [];
  readonly logFile: string;
  /** The last lines of its KCL log, quoted in failures (the log file goes with the jest worker's temporary folder). */
  readonly logTail: string[] = [];
  private child?: ChildProcess;
  private log?: WriteStream;
  private exit?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly config: Kcl35ConsumerConfig) {
    this.logFile = join(tmpdir(), `kcl35-${config.workerId}-${process.pid}-${Date.now()}.log`);
  }

  get workerId(): string {
    return this.config.workerId;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Builds the consumer if needed, spawns the JVM and waits for its `started` line. */
  async start(): Promise<this> {
    const { classpath } = await kcl35ConsumerBuild();
    const { kinesis, dynamodb } = endpoints();
    const c = this.config;
    const settings: Record<string, string | number | boolean> = {
      stream: c.stream,
      applicationName: c.applicationName,
      workerId: c.workerId,
      region: process.env.AWS_REGION ?? 'us-east-1',
      kinesisEndpoint: kinesis,
      dynamoDbEndpoint: dynamodb,
      clientVersionConfig: c.clientVersionConfig ?? 'CLIENT_VERSION_CONFIG_3X',
      migrateAllEntitiesToLeaseTable: c.migrateAllEntitiesToLeaseTable ?? false,
      initialPosition: c.initialPosition ?? 'TRIM_HORIZON',
      ...c.settings,
    };
    const args = [
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=info',
      '-Dorg.slf4j.simpleLogger.showDateTime=true',
    ];
    args.push('-cp', classpath, 'kcl35.Kcl35Consumer', ...Object.entries(settings).map(([name, value]) => `--${name}=${String(value)}`));
    this.log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr.pipe(this.log);
    createInterface({ input: child.stderr }).on('line', (line) => {
      this.logTail.push(line);
      if (this.logTail.length > 200) this.logTail.shift();
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('{')) return void this.otherOutput.push(line);
      try {
        this.events.push(JSON.parse(line) as Kcl35Event);
      } catch {
        this.otherOutput.push(line);
      }
    });
    this.exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await this.waitFor(() => this.events.some((e) => e.event === 'started'), 'its started line', 60_000);
    return this;
  }

  /** Waits on a condition, failing early (with the log file's name) when the JVM has exited. */
  async waitFor(condition: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
    try {
      await this.waitForInner(condition, what, timeoutMs);
    } catch (error) {
      (error as Error).message += `\n--- last lines of its KCL log ---\n${this.logTail.slice(-40).join('\n')}`;
      throw error;
    }
  }

  private async waitForInner(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
    await waitFor(
      () => {
        if (condition()) return true;
        if (!this.running)
          throw new Error(
            `Java KCL 3.5.1 worker ${this.workerId} exited (code ${this.child?.exitCode}, signal ${this.child?.signalCode}) before ${what}; its log: ${this.logFile}`,
          );
        return false;
      },
      `Java KCL 3.5.1 worker ${this.workerId}: ${what} (its log: ${this.logFile})`,
      timeoutMs,
    );
  }

  /** Whether its KCL log (the whole file, not only the tail) has a line matching `pattern`. */
  logged(pattern: RegExp): boolean {
    try {
      return pattern.test(readFileSync(this.logFile, 'utf8'));
    } catch {
      return false;
    }
  }

  records(): Kcl35Record[] {
    return this.events.filter((e): e is Kcl35Record => e.event === 'record');
  }

  /** SIGTERM: the KCL's graceful shutdown (shutdownRequested, checkpoint); SIGKILL if it has not exited within the timeout. */
  async stop(timeoutMs = 60_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.child || !this.exit) throw new Error('not started');
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exit;
    } finally {
      clearTimeout(timer);
      this.log?.end();
    }
  }

  /** kill -9: no shutdown, no release, no checkpoint. */
  async kill(): Promise<void> {
    if (!this.child || !this.exit) return;
    if (this.running) this.child.kill('SIGKILL');
    await this.exit;
    this.log?.end();
  }
}

/** Kills every consumer still running (for afterEach/afterAll); never throws. */
export async function killAll(consumers: Iterable<Kcl35Consumer | undefined>): Promise<void> {
  await Promise.all(
    [...consumers].map(async (consumer) => {
      if (consumer) await consumer.kill().catch(() => undefined);
    }),
  );
}
