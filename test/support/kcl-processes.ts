import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { TestingModule } from '@nestjs/testing';
import { KinesisWorkerService, type KinesisWorker } from '../../lib';
import { KclWorker } from '../../lib/engines/kcl/kcl-worker';
import { processGroupAlive } from '../../lib/engines/kcl/daemon';
import { KCL_DEFAULT_VERSION, isKcl3 } from '../../lib/engines/kcl/kcl-lines';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { tableActive } from './aws';

export interface ProcessInfo {
  readonly pid: number;
  readonly pgid: number;
  readonly rssKb: number;
  readonly args: string;
}

/** Every live process (zombies excepted) whose command line contains `text`. */
export function processesMentioning(text: string): ProcessInfo[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,rss=,args='], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return out
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && !m[3].startsWith('Z') && m[5].includes(text))
    .filter((m) => !m[5].startsWith('ps -eo'))
    .map((m) => ({ pid: Number(m[1]), pgid: Number(m[2]), rssKb: Number(m[4]), args: m[5] }));
}

/** Proportional set size in kB (shared pages split between the processes sharing them); Linux only. */
export function pssKb(pid: number): number | undefined {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const match = /^Pss:\s+(\d+) kB/m.exec(rollup);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function kclWorkers(app: TestingModule): KclWorker[] {
  return app
    .get(KinesisWorkerService)
    .workers()
    .filter((worker: KinesisWorker): worker is KclWorker => worker instanceof KclWorker);
}

export interface KclRunTrace {
  readonly runDirs: string[];
  readonly pgids: number[];
}

/**
 * What identifies the processes of one started kcl worker: its run directory and its JVM's process group.
 * A worker with neither has no JVM to check, and a trace of it would pass whatever survived, so that is an error.
 */
export function traceKclWorker(worker: KclWorker): KclRunTrace {
  const { runDirectory, daemonPid } = worker;
  if (runDirectory === undefined || daemonPid === undefined)
    throw new Error(
      `kcl worker ${worker.workerId} has no ${runDirectory === undefined ? 'run directory' : 'JVM'}: nothing to check for orphans (trace it after start(), before stop())`,
    );
  return { runDirs: [runDirectory], pgids: [daemonPid] };
}

/** The traces of every kcl worker of the app; an app without kcl workers (native engine) has an empty trace. */
export function traceKclRuns(app: TestingModule): KclRunTrace {
  const traces = kclWorkers(app).map(traceKclWorker);
  return { runDirs: traces.flatMap((t) => t.runDirs), pgids: traces.flatMap((t) => t.pgids) };
}

/** After stop: no JVM, relay or watchdog of those runs is left, and their run directories are gone. */
export function expectNoOrphans(trace: KclRunTrace): void {
  expect(trace.runDirs.length).toBe(trace.pgids.length);
  for (const dir of trace.runDirs) {
    expect(dir).toMatch(/\S/);
    expect(processesMentioning(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }
  for (const pgid of trace.pgids) {
    expect(Number.isInteger(pgid) && pgid > 0).toBe(true);
    expect(processGroupAlive(pgid)).toBe(false);
  }
}

/** app.close(), then the check that nothing of its kcl workers survived. */
export async function closeAndCheck(app: TestingModule): Promise<void> {
  const trace = traceKclRuns(app);
  await app.close();
  expectNoOrphans(trace);
}

/** The KCL line the kcl-engine tests run: KCL_VERSION (e.g. `KCL_VERSION=3.1.3 npx jest test/e2e/kcl-interop.e2e-spec.ts`), else the default. */
export function testedKclVersion(): string {
  return process.env.KCL_VERSION || KCL_DEFAULT_VERSION;
}

/**
 * For an application that a native worker may create first: on a 3.x line, the lease table is created
 * up front with the GSI 3.x needs. Work-around for dynalite only: a 2.x-schema table (what the native
 * engine creates) gets its GSI from the 3.x daemon by UpdateTable, which DynamoDB serves and dynalite
 * does not (docs/kcl-engine.md, "KCL 3.x"). On a 2.x line it does nothing.
 */
export async function prepareSharedLeaseTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  if (isKcl3(testedKclVersion())) await createKcl3LeaseTable(dynamo, tableName).then(() => tableActive(dynamo, tableName));
}
