import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StreamWorkerOptions } from '../../lib';
import { workerClientOptions } from './aws';
import { nodeScriptArgs } from './compiled-scripts';
import type { WorkerFileEvent, WorkerProcessConfig } from './worker-process';

const SCRIPT = join(__dirname, 'worker-process.ts');

/** Short intervals, so that the multi-worker suites finish in seconds. */
export const FAST_INTERVALS = {
  failoverTimeMs: 3000,
  idleTimeBetweenReadsMs: 100,
  leaseTakerIntervalMs: 500,
  shardSyncIntervalMs: 1000,
  parentShardPollIntervalMs: 200,
};

/** Real worker processes sharing one application, each writing its events to one shared JSONL file. */
export class WorkerFleet {
  readonly dir = mkdtempSync(join(tmpdir(), 'kinesis-fleet-'));
  readonly eventsFile = join(this.dir, 'events.jsonl');
  private readonly processes = new Map<string, ChildProcess>();
  private started = 0;

  constructor(
    private readonly base: Omit<StreamWorkerOptions, 'workerId'>,
    private readonly batchDelayMs = 0,
    private readonly processOptions: Pick<WorkerProcessConfig, 'skipTerminateCheckpoint'> = {},
    /** A compiled worker-process.js to run (benchmarks); default: this repository's, compiled once per run (compiled-scripts.ts). */
    private readonly compiledScript?: string,
  ) {}

  start(name = `worker-${++this.started}`): string {
    const config: WorkerProcessConfig = {
      options: { ...workerClientOptions(), ...this.base, workerId: name },
      eventsFile: this.eventsFile,
      batchDelayMs: this.batchDelayMs,
      ...this.processOptions,
    };
    const args = this.compiledScript ? [this.compiledScript] : nodeScriptArgs(SCRIPT);
    const child = spawn(process.execPath, [...args, JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit'] });
    this.processes.set(name, child);
    child.once('exit', () => this.processes.get(name) === child && this.processes.delete(name));
    return name;
  }

  running(): string[] {
    return [...this.processes.keys()];
  }

  /** kill -9: no shutdown, no release; its leases expire after failoverTimeMs. */
  kill(name: string): void {
    this.processes.get(name)?.kill('SIGKILL');
    this.processes.delete(name);
  }

  /** SIGTERM: graceful stop; resolves when the process has exited. */
  async stop(name: string): Promise<number | null> {
    const child = this.processes.get(name);
    if (!child) return null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    return exited;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.running().map((name) => this.stop(name)));
  }

  killAll(): void {
    for (const name of this.running()) this.kill(name);
  }

  /** Sequence numbers of every record delivered by any worker so far. */
  deliveredSequenceNumbers(): Set<string> {
    return new Set(this.events().flatMap((e) => (e.kind === 'batch' ? e.records.map((r) => r.seq) : [])));
  }

  /** True once every record in `puts` has been delivered. */
  deliveredAll(puts: readonly { sequenceNumber: string }[]): boolean {
    const delivered = this.deliveredSequenceNumbers();
    return puts.every((p) => delivered.has(p.sequenceNumber));
  }

  events(): WorkerFileEvent[] {
    if (!existsSync(this.eventsFile)) return [];
    return readFileSync(this.eventsFile, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as WorkerFileEvent);
  }
}
