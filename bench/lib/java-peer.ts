/**
 * The Java KCL 3.5.1 consumer (test/java/kcl35-consumer, the application the KCL 3.5 e2e suites run) as the
 * bench's peer: a child JVM in its quiet mode (a ShardRecordProcessor that counts and checkpoints every
 * batch, polling retrieval, the lease table in dynalite, metrics to the NullMetricsFactory), measured over
 * the same window as the native engine's frame worker (frame-worker.ts): every shard delivering, a warm-up,
 * then measureMs between two of its progress lines, which carry its counts, its own CPU time and a
 * monotonic clock from one moment.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/testing/local-kinesis';
import { kcl35ConsumerBuild } from '../../test/support/kcl35-build';
import { KCL35_FAST } from '../../test/support/kcl35-consumer';
import type { ConsumerWindow, WindowCallback } from './setup';

/**
 * The JVM's options: none by default (the JVM's own defaults, ergonomics on this machine), or
 * BENCH_JAVA_OPTS split on spaces (e.g. "-Xmx256m -XX:+UseSerialGC", the e2e suites' settings).
 */
export const JAVA_OPTS = (process.env.BENCH_JAVA_OPTS ?? '').split(/\s+/).filter(Boolean);
/**
 * idleTimeBetweenReadsInMillis of the Java KCL and idleTimeBetweenReadsMs of the native engine in the peer
 * rows: both libraries' default, 1500, unless BENCH_JAVA_IDLE_MS says otherwise. The same on both sides,
 * so that both make about as many GetRecords calls, batches and checkpoints per second.
 */
export const PEER_IDLE_MS = Number(process.env.BENCH_JAVA_IDLE_MS ?? 1500);
/** The KCL's log level (slf4j-simple, to a file in the temporary folder): warn unless BENCH_JAVA_LOG_LEVEL says otherwise. */
const LOG_LEVEL = process.env.BENCH_JAVA_LOG_LEVEL ?? 'warn';

/**
 * The KCL's defaults (failover 10 s, as the native engine's; shard sync every 60 s; maxRecords 10,000...)
 * but for the two intervals that set how soon a new application's leases are handed out: the leader's
 * lease assignment (default every 20 s) and the worker metrics it waits for (default every 30 s), every
 * 1 s and 3 s as in the e2e suites (KCL35_FAST). Its shorter failover (6 s) is left out: with it the Java
 * worker lost 57 leases within a 64-shard run on this loaded 2-core machine (6 at 10 s).
 */
export const JAVA_SETTINGS: Readonly<Record<string, number>> = {
  leaseAssignmentIntervalMillis: KCL35_FAST.leaseAssignmentIntervalMillis,
  workerMetricsReporterFreqInMillis: KCL35_FAST.workerMetricsReporterFreqInMillis,
  idleTimeBetweenReadsInMillis: PEER_IDLE_MS,
};

/** Why the Java peer rows cannot run (no java, no mvn, a failed build), or undefined when they can; builds the app once. */
export async function javaPeerMissing(): Promise<string | undefined> {
  if (process.env.BENCH_SKIP_JAVA === '1') return 'BENCH_SKIP_JAVA=1';
  for (const [tool, args] of [
    ['java', ['-version']],
    ['mvn', ['-v']],
  ] as const) {
    try {
      execFileSync(tool, args, { stdio: 'ignore' });
    } catch {
      return `\`${tool}\` is not on the PATH (the Java peer needs JDK 17 and Maven to build test/java/kcl35-consumer).`;
    }
  }
  try {
    await kcl35ConsumerBuild();
    return undefined;
  } catch (error) {
    return String(error).split('\n')[0].slice(0, 300);
  }
}

export interface JavaPeerConfig {
  readonly kinesisEndpoint: string;
  readonly dynamodbEndpoint: string;
  readonly streamName: string;
  readonly shards: number;
  readonly initialPosition: 'LATEST' | 'TRIM_HORIZON';
  readonly warmupMs: number;
  readonly measureMs: number;
}

export interface JavaPeerReport extends ConsumerWindow {
  readonly records: number;
  readonly checkpoints: number;
  /** leaseLost calls and failed checkpoints from the spawn to the window's close (none expected). */
  readonly leasesLost: number;
  readonly failedCheckpoints: number;
  /** From the spawn of the JVM to its firstRecord line. */
  readonly startupMs: number;
}

interface Progress {
  readonly event: 'progress';
  readonly nanos: number;
  readonly records: number;
  readonly bytes: number;
  readonly checkpoints: number;
  readonly shards: number;
  readonly cpuNanos: number;
}

type Line = Progress | { event: 'firstRecord' | 'started' | 'checkpointFailed' | 'leaseLost' | 'initialize'; error?: string };

/** Runs the Java consumer once against `config.kinesisEndpoint` and returns its window; the JVM is stopped by pid. */
export async function runJavaPeer(config: JavaPeerConfig, onWindow?: WindowCallback): Promise<JavaPeerReport> {
  const { classpath } = await kcl35ConsumerBuild();
  const applicationName = `javapeer-${config.shards}-${process.pid}-${Date.now()}`;
  const dynamo = new DynamoDBClient({ region: LOCAL_REGION, endpoint: config.dynamodbEndpoint, credentials: LOCAL_CREDENTIALS });
  try {
    // dynalite cannot add the lease-owner GSI afterwards as KCL 3.x does: the table comes with it (as in the e2e suites).
    await createKcl3LeaseTable(dynamo, applicationName);
    await waitUntilTableExists({ client: dynamo, maxWaitTime: 30, minDelay: 0.1 }, { TableName: applicationName });
  } finally {
    dynamo.destroy();
  }
  const settings: Record<string, string | number | boolean> = {
    stream: config.streamName,
    applicationName,
    workerId: 'java-peer',
    region: LOCAL_REGION,
    accessKeyId: LOCAL_CREDENTIALS.accessKeyId,
    secretAccessKey: LOCAL_CREDENTIALS.secretAccessKey,
    kinesisEndpoint: config.kinesisEndpoint,
    dynamoDbEndpoint: config.dynamodbEndpoint,
    initialPosition: config.initialPosition,
    quiet: true,
    progressIntervalMillis: 200,
    ...JAVA_SETTINGS,
  };
  const logFile = join(tmpdir(), `bench-java-peer-${process.pid}-${Date.now()}.log`);
  const log = createWriteStream(logFile);
  const args = [
    ...JAVA_OPTS,
    `-Dorg.slf4j.simpleLogger.defaultLogLevel=${LOG_LEVEL}`,
    '-Dorg.slf4j.simpleLogger.showDateTime=true',
    '-cp',
    classpath,
    'kcl35.Kcl35Consumer',
    ...Object.entries(settings).map(([name, value]) => `--${name}=${String(value)}`),
  ];
  const spawnedAt = performance.now();
  const child = spawn('java', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let startupMs = NaN;
  let allDeliveringAt: number | undefined;
  let open: Progress | undefined;
  let closed = false;
  const failures: string[] = [];
  let failedCheckpoints = 0;
  let leasesLost = 0;
  try {
    return await new Promise<JavaPeerReport>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`the Java peer did not deliver on all ${config.shards} shards within 180 s; its log: ${logFile}`)),
        180_000 + config.warmupMs + config.measureMs,
      );
      child.once('exit', (code, signal) => {
        clearTimeout(deadline);
        reject(new Error(`the Java peer exited (code ${code}, signal ${signal}) before its window closed; its log: ${logFile}`));
      });
      createInterface({ input: child.stdout }).on('line', (text) => {
        if (!text.startsWith('{')) return;
        const line = JSON.parse(text) as Line;
        if (line.event === 'firstRecord') startupMs = performance.now() - spawnedAt;
        if (line.event === 'leaseLost') leasesLost++;
        if (line.event === 'checkpointFailed' && ++failedCheckpoints <= 3) failures.push(line.error ?? '');
        if (line.event !== 'progress' || closed) return;
        if (allDeliveringAt === undefined) {
          if (line.shards >= config.shards) allDeliveringAt = performance.now();
          return;
        }
        if (!open) {
          if (performance.now() - allDeliveringAt < config.warmupMs) return;
          open = line;
          onWindow?.('open', child.pid!);
          return;
        }
        if ((line.nanos - open.nanos) / 1e6 < config.measureMs) return;
        closed = true;
        onWindow?.('closed', child.pid!);
        clearTimeout(deadline);
        if (failures.length > 0) console.error(`[java-peer] ${failedCheckpoints} failed checkpoints, the first: ${failures.join('; ')}`);
        resolve({
          records: line.records - open.records,
          bytes: line.bytes - open.bytes,
          checkpoints: line.checkpoints - open.checkpoints,
          leasesLost,
          failedCheckpoints,
          ms: (line.nanos - open.nanos) / 1e6,
          cpuMicros: (line.cpuNanos - open.cpuNanos) / 1000,
          startupMs,
        });
      });
    });
  } finally {
    // SIGTERM: the KCL's graceful shutdown (the app's own timeout is 20 s); SIGKILL if it hangs past 30 s.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
    log.end();
  }
}
