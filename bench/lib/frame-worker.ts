/**
 * One consumer process for the limited-endpoint scenarios (physical frame, soak, latency under load):
 * argv[2] = JSON of FrameWorkerConfig. Runs the native engine (a processor that counts, and optionally
 * checkpoints every batch) or the bare SDK loop, waits until every shard delivers, opens a measuring
 * window of measureMs (saying { window: 'open' | 'closed' } over IPC), and sends a FrameReport over IPC
 * ({ firstRecord: true } when the first record is delivered, for the start-up figure). Run compiled, with --expose-gc. It imports the
 * engine through the framework-free entry (lib/standalone, `nestjs-kinesis-worker/standalone`), not the
 * package root (which also loads Nest), so that its memory is the engine's.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createWorker, type KinesisRecordProcessor } from '../../lib/standalone';
import { pause } from '../../lib/core/retry';
import { bareLoop } from './bare-loop';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/testing/local-kinesis';

export interface FrameWorkerConfig {
  readonly mode: 'engine' | 'bare';
  readonly kinesisEndpoint: string;
  readonly dynamodbEndpoint: string;
  readonly streamName: string;
  readonly shards: number;
  readonly idleTimeBetweenReadsMs: number;
  /** Checkpoint after every batch (engine only). */
  readonly checkpoint: boolean;
  /** Keep put -> processRecords latencies (arrival timestamp to delivery). */
  readonly latencies: boolean;
  /** After every shard delivered, wait this long before the window opens. */
  readonly warmupMs: number;
  readonly measureMs: number;
  /** Start from the tip (LATEST), or from TRIM_HORIZON. */
  readonly initialPosition: 'LATEST' | 'TRIM_HORIZON';
  /** The engine's retrieval.wireFormat; default the engine's own. */
  readonly wireFormat?: 'json' | 'cbor';
  /** The engine's maxGetRecordsPerSecond; default the engine's own (5). */
  readonly maxGetRecordsPerSecond?: number;
  /** Take a memory sample (after a GC) this often during the window, for a trend (the soak); default none. */
  readonly sampleEveryMs?: number;
}

export interface MemorySample {
  readonly heapUsedMb: number;
  readonly rssMb: number;
  readonly pssMb: number;
}

export interface TimedMemorySample extends MemorySample {
  /** Since the window opened. */
  readonly atMs: number;
}

export interface FrameReport {
  readonly records: number;
  readonly bytes: number;
  readonly ms: number;
  /** User + system CPU of this process over the window, µs. */
  readonly cpuMicros: number;
  /** Highest millisBehindLatest over the shards, from each shard's last batch. */
  readonly millisBehindLatestAtEnd: number;
  readonly eventLoopDelayP99Ms: number;
  readonly eventLoopDelayMaxMs: number;
  readonly atStart: MemorySample;
  readonly atEnd: MemorySample;
  /** The window's samples (every sampleEveryMs, the first at the opening and the last at the close); empty without sampleEveryMs. */
  readonly samples: TimedMemorySample[];
  readonly latenciesMs: number[];
}

const config = JSON.parse(process.argv[2]) as FrameWorkerConfig;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let records = 0;
let bytes = 0;
const behind = new Map<string, number>();
const latencies: number[] = [];

function deliver(
  shardId: string,
  count: number,
  size: number,
  millisBehindLatest: number | undefined,
  arrivals: () => Iterable<number>,
): void {
  if (records === 0 && count > 0) process.send!({ firstRecord: true });
  records += count;
  bytes += size;
  behind.set(shardId, millisBehindLatest ?? 0);
  if (config.latencies) {
    const now = Date.now();
    for (const arrival of arrivals()) latencies.push(now - arrival);
  }
}

function memory(): MemorySample {
  (global as { gc?: () => void }).gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  const pss = Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1] ?? NaN);
  return { heapUsedMb: heapUsed / 1048576, rssMb: rss / 1048576, pssMb: pss / 1024 };
}

async function startEngine(): Promise<() => Promise<void>> {
  const processor = (shardId: string): KinesisRecordProcessor => ({
    processRecords: async ({ records: batch, millisBehindLatest, checkpointer }) => {
      let size = 0;
      for (const record of batch) size += record.data.length;
      deliver(shardId, batch.length, size, millisBehindLatest, () => batch.map((r) => r.approximateArrivalTimestamp.getTime()));
      if (config.checkpoint && batch.length > 0) await checkpointer.checkpoint();
    },
  });
  const worker = createWorker(
    {
      appName: `frame-${process.pid}-${Date.now()}`,
      streamName: config.streamName,
      region: LOCAL_REGION,
      initialPosition: config.initialPosition,
      idleTimeBetweenReadsMs: config.idleTimeBetweenReadsMs,
      ...(config.maxGetRecordsPerSecond ? { maxGetRecordsPerSecond: config.maxGetRecordsPerSecond } : {}),
      ...(config.wireFormat ? { retrieval: { wireFormat: config.wireFormat } } : {}),
      kinesis: { endpoint: config.kinesisEndpoint, credentials: LOCAL_CREDENTIALS },
      dynamodb: { endpoint: config.dynamodbEndpoint, credentials: LOCAL_CREDENTIALS },
      logger: { log() {}, warn() {}, error: (m: string) => console.error(`[frame-worker] ${m}`) },
    },
    ({ shardId }) => processor(shardId),
  );
  await worker.start();
  return () => worker.stop();
}

function startBare(): () => Promise<void> {
  const kinesis = new KinesisClient({
    region: LOCAL_REGION,
    endpoint: config.kinesisEndpoint,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: new NodeHttpHandler(),
  });
  let done = false;
  const loop = bareLoop(kinesis, config.streamName, {
    maxRecords: 10_000,
    idleMs: config.idleTimeBetweenReadsMs,
    minIntervalMs: 200,
    startAt: config.initialPosition === 'LATEST' ? new Date(Date.now() - 1000) : undefined,
    onRecords: (batch, shardId, millisBehindLatest) => {
      let size = 0;
      for (const record of batch) size += record.Data!.byteLength;
      deliver(shardId, batch.length, size, millisBehindLatest, () => batch.map((r) => r.ApproximateArrivalTimestamp!.getTime()));
    },
    until: () => done,
  });
  return async () => {
    done = true;
    await loop;
    kinesis.destroy();
  };
}

// A rejection nobody awaits yet (the bare loop's, before stop()) would end the process without saying whose it was.
process.on('unhandledRejection', (error) => {
  console.error(`[frame-worker, ${config.mode}] unhandled rejection:`, error);
  process.exit(1);
});

async function main() {
  const stop = config.mode === 'engine' ? await startEngine() : startBare();
  while (behind.size < config.shards) await pause(100);
  await pause(config.warmupMs);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  const atStart = memory();
  latencies.length = 0;
  const from = { records, bytes, at: performance.now(), cpu: process.cpuUsage() };
  const samples: TimedMemorySample[] = config.sampleEveryMs ? [{ atMs: 0, ...atStart }] : [];
  delay.enable();
  process.send!({ window: 'open' });
  for (let left = config.measureMs; left > 0;) {
    const step = config.sampleEveryMs ? Math.min(config.sampleEveryMs, left) : left;
    await pause(step);
    left -= step;
    if (config.sampleEveryMs && left > 0) samples.push({ atMs: performance.now() - from.at, ...memory() });
  }
  process.send!({ window: 'closed' });
  delay.disable();
  const cpu = process.cpuUsage(from.cpu);
  const report: FrameReport = {
    records: records - from.records,
    bytes: bytes - from.bytes,
    ms: performance.now() - from.at,
    cpuMicros: cpu.user + cpu.system,
    millisBehindLatestAtEnd: Math.max(...behind.values()),
    eventLoopDelayP99Ms: delay.percentile(99) / 1e6,
    eventLoopDelayMaxMs: delay.max / 1e6,
    atStart,
    atEnd: memory(),
    samples,
    latenciesMs: latencies,
  };
  if (config.sampleEveryMs) report.samples.push({ atMs: report.ms, ...report.atEnd });
  await stop();
  process.send!({ report }, () => process.exit(0));
}

void main().catch((error) => {
  console.error(`[frame-worker, ${config.mode}]`, error);
  process.exit(1);
});
