import { fork } from 'node:child_process';
import { join } from 'node:path';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createWorker, type KinesisRecordProcessor, type StreamWorkerOptions } from '../../lib';
import { freePort, LOCAL_CREDENTIALS, LOCAL_REGION } from '../../lib/testing';
import { startChild } from './child';
import { compiled } from './compiled';
import type { FrameReport, FrameWorkerConfig } from './frame-worker';
import type { LimitedKinesisConfig, LimitedKinesisStats } from './limited-kinesis-server';

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

/** Runs bench/lib/frame-worker.ts (compiled, its own process) and returns its report. */
export async function runFrameWorker(
  config: FrameWorkerConfig,
  onWindow?: (state: 'open' | 'closed') => void,
  cpuProfileDir?: string,
): Promise<FrameReport> {
  const child = fork(compiled('bench/lib/frame-worker.ts'), [JSON.stringify(config)], {
    execArgv: ['--expose-gc', ...(cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfileDir}`] : [])],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // Resolves once the process has exited, so that its CPU profile (written at exit) is there.
  let report: FrameReport | undefined;
  return new Promise<FrameReport>((resolve, reject) => {
    child.on('message', (message: { report?: FrameReport; window?: 'open' | 'closed' }) => {
      if (message.window) onWindow?.(message.window);
      if (message.report) report = message.report;
    });
    child.once('exit', (code) => (report ? resolve(report) : reject(new Error(`frame worker exited with ${code} before its report`))));
  });
}
