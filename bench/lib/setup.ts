import { fork } from 'node:child_process';
import { join } from 'node:path';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createWorker, type KinesisRecordProcessor, type StreamWorkerOptions } from '../../lib';
import { freePort, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/testing';
import { startChild, stopChild } from './child';
import { compiled } from './compiled';
import type { FrameReport, FrameWorkerConfig } from './frame-worker';
import type { LimitedKinesisConfig, LimitedKinesisStats } from './limited-kinesis-server';
import { TreeMemorySampler } from './process-tree';

const MB = 1048576;

export const quietLogger = { log() {}, warn() {}, error: (m: string) => console.error(`[engine] ${m}`) };

export async function dynaliteChild() {
  const port = await freePort();
  const child = await startChild(join(__dirname, 'dynalite-server.ts'), [String(port)]);
  return { child, endpoint: `http://127.0.0.1:${port}` };
}

export async function syntheticKinesis(shards: number, recordBytes: number, perResponse: number) {
  const port = await freePort();
  const child = await startChild(join(__dirname, 'synthetic-kinesis-server.ts'), [port, shards, recordBytes, perResponse].map(String));
  return { child, endpoint: `http://127.0.0.1:${port}` };
}

export function kinesisClientFor(endpoint: string): KinesisClient {
  return new KinesisClient({ region: LOCAL_REGION, endpoint, credentials: LOCAL_CREDENTIALS, requestHandler: new NodeHttpHandler() });
}

export interface Window {
  readonly records: number;
  readonly bytes: number;
  readonly ms: number;
  /** Process CPU time, user + system, in microseconds. */
  readonly cpuMicros: number;
}

/**
 * Counts delivered records until `target` have arrived. On an endless stream the window opens at the
 * first delivery (steady state); on a finite, pre-filled one it opens at start() and counts everything.
 * Either way the engine and the baseline get the same window.
 */
export class Meter {
  private startedAt = 0;
  private cpuAtStart = process.cpuUsage();
  private records = 0;
  private bytes = 0;
  private finish!: (window: Window) => void;
  readonly done = new Promise<Window>((resolve) => (this.finish = resolve));
  private ended = false;

  constructor(
    private readonly target: number,
    private readonly openAtFirstDelivery = true,
  ) {}

  /** Opens the window now (finite streams). */
  start(): void {
    this.startedAt = performance.now();
    this.cpuAtStart = process.cpuUsage();
  }

  add(count: number, bytes: number): void {
    if (this.ended) return;
    if (this.startedAt === 0 && this.openAtFirstDelivery) {
      this.startedAt = performance.now();
      this.cpuAtStart = process.cpuUsage();
      return; // the first batch only opens the window
    }
    this.records += count;
    this.bytes += bytes;
    if (this.records >= this.target) {
      this.ended = true;
      const cpu = process.cpuUsage(this.cpuAtStart);
      this.finish({ records: this.records, bytes: this.bytes, ms: performance.now() - this.startedAt, cpuMicros: cpu.user + cpu.system });
    }
  }

  get finished(): boolean {
    return this.ended;
  }
}

/** The native engine with a processor that counts, and with `checkpoint` also checkpoints every batch. */
export async function measureEngine(
  options: Omit<StreamWorkerOptions, 'logger'>,
  target: number,
  finite = false,
  checkpoint = false,
): Promise<Window> {
  const meter = new Meter(target, !finite);
  const noop: KinesisRecordProcessor = {
    processRecords: async ({ records, checkpointer }) => {
      let bytes = 0;
      for (const record of records) bytes += record.data.length;
      meter.add(records.length, bytes);
      if (checkpoint && records.length > 0 && !meter.finished) await checkpointer.checkpoint();
    },
  };
  const worker = createWorker({ ...options, logger: quietLogger }, () => noop);
  if (finite) meter.start();
  await worker.start();
  const window = await meter.done;
  await worker.stop();
  return window;
}

/** The limited synthetic Kinesis (limited-kinesis-server.ts) in a child process, with its counters. */
export async function limitedKinesis(config: Omit<LimitedKinesisConfig, 'port'>) {
  const port = await freePort();
  const child = await startChild(join(__dirname, 'limited-kinesis-server.ts'), [JSON.stringify({ ...config, port })]);
  const stats = () =>
    new Promise<LimitedKinesisStats>((resolve) => {
      const onMessage = (message: { stats?: LimitedKinesisStats }) => {
        if (!message.stats) return;
        child.off('message', onMessage);
        resolve(message.stats);
      };
      child.on('message', onMessage);
      child.send('stats');
    });
  return { child, endpoint: `http://127.0.0.1:${port}`, stats };
}

/** Told when a consumer's measuring window opens and closes, with the consumer process's pid. */
export type WindowCallback = (state: 'open' | 'closed', pid: number) => void;

/**
 * Runs bench/lib/frame-worker.ts (compiled, its own process) and returns its report, with its start-up:
 * from the fork to the first record delivered, as the bench sees the worker's message.
 */
export async function runFrameWorker(
  config: FrameWorkerConfig,
  onWindow?: WindowCallback,
  cpuProfileDir?: string,
): Promise<FrameReport & { startupMs: number }> {
  const script = compiled('bench/lib/frame-worker.ts');
  const spawnedAt = performance.now();
  const child = fork(script, [JSON.stringify(config)], {
    execArgv: ['--expose-gc', ...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // Resolves once the process has exited, so that its CPU profile (written at exit) is there.
  let report: FrameReport | undefined;
  let startupMs = NaN;
  return new Promise((resolve, reject) => {
    child.on('message', (message: { report?: FrameReport; window?: 'open' | 'closed'; firstRecord?: true }) => {
      if (message.firstRecord) startupMs = performance.now() - spawnedAt;
      if (message.window) onWindow?.(message.window, child.pid!);
      if (message.report) report = message.report;
    });
    child.once('exit', (code) =>
      report ? resolve({ ...report, startupMs }) : reject(new Error(`frame worker exited with ${code} before its report`)),
    );
  });
}

/** What any consumer's run reports over its measuring window. */
export interface ConsumerWindow {
  readonly bytes: number;
  readonly ms: number;
  /** The consumer process's CPU (user + system) over the window, µs. */
  readonly cpuMicros: number;
}

/**
 * One consumer against a fresh limited endpoint (limited-kinesis-server.ts), measured the same way
 * whatever it is: `run` starts it against the endpoint and calls onWindow as its window opens and closes;
 * the endpoint's counters (throttles, its CPU, the readers' lag) are read at those two moments, and the
 * consumer process tree's peak RSS and PSS are sampled from outside in between.
 */
export async function measureOnLimitedEndpoint<R extends ConsumerWindow>(
  endpoint: Omit<LimitedKinesisConfig, 'port'>,
  run: (kinesisEndpoint: string, onWindow: WindowCallback) => Promise<R>,
) {
  const server = await limitedKinesis(endpoint);
  try {
    // Throttles and bytes served inside the consumer's measuring window, from the server's counters.
    const counters: Partial<Record<'open' | 'closed', Promise<LimitedKinesisStats>>> = {};
    let sampler: TreeMemorySampler | undefined;
    let memory: ReturnType<TreeMemorySampler['stop']> | undefined;
    const report = await run(server.endpoint, (state, pid) => {
      counters[state] = server.stats(); // awaited once the run is done
      if (state === 'open') sampler = new TreeMemorySampler(pid);
      else memory = sampler?.stop();
    });
    const [open, closed] = await Promise.all([counters.open!, counters.closed!]);
    return {
      report,
      mbPerSec: report.bytes / MB / (report.ms / 1000),
      cpuMsPerMb: report.cpuMicros / 1000 / (report.bytes / MB),
      throttlesPerMinute: (closed.throttles - open.throttles) / (report.ms / 60_000),
      callThrottlesPerMinute: (closed.callThrottles - open.callThrottles) / (report.ms / 60_000),
      lagMs: closed.maxLagMs,
      consumerCores: report.cpuMicros / 1000 / report.ms,
      serverCores: (closed.cpuMicros - open.cpuMicros) / 1000 / report.ms,
      /** Peak RSS and PSS of the consumer's process tree over the window, sampled every second from outside. */
      memory: memory ?? { rssMb: NaN, pssMb: NaN, samples: 0 },
      /** Requests the endpoint received by operation, up to the window's close. */
      operations: closed.operations,
      /** How many of those came in CBOR. */
      cborRequests: closed.cborRequests,
    };
  } finally {
    await stopChild(server.child);
  }
}
