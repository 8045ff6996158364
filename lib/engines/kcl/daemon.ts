import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { KinesisWorkerError } from '../../core/errors';
import type { WorkerLogger } from '../../core/logger';
import { sleep } from '../../core/sleep';
import { JvmLogRouter } from './jvm-log';

export const MULTI_LANG_DAEMON_CLASS = 'software.amazon.kinesis.multilang.MultiLangDaemon';
/** What the Java KCL's Scheduler logs once it is initialized (KCL 2.x). */
const READY_LINE = 'Initialization complete. Starting worker loop.';

export interface DaemonLaunch {
  readonly javaPath: string;
  readonly javaOptions: readonly string[];
  readonly classpath: string;
  readonly propertiesFile: string;
  readonly logbackFile: string;
  /** Added to the worker's environment for the JVM (and so for the relays it starts). */
  readonly env: Readonly<Record<string, string>>;
  /** Named in the watchdog's command line, so that every process of a run can be found by it. */
  readonly runDir: string;
  /** How long the watchdog lets the JVM shut down after the worker's process is gone, in ms. */
  readonly orphanGraceMs: number;
  readonly logger: WorkerLogger;
  readonly logPrefix: string;
}

export interface DaemonExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * The MultiLangDaemon's JVM, started in its own process group (setsid) so that a signal meant for the
 * worker's process group never reaches the JVM's children, the relays: the JVM alone gets SIGTERM,
 * and its graceful shutdown then talks to its children.
 *
 * It is started through `sh`, which leaves a tiny watchdog behind and then becomes the JVM itself
 * (exec: the JVM keeps the pid the worker knows). The watchdog reads the worker's end of a pipe: when
 * the worker's process dies without stopping the JVM (kill -9, a crash, process.exit without
 * shutdown hooks), the pipe closes, and the watchdog sends SIGTERM to the JVM, then SIGKILL to the
 * whole group after a grace period. No JVM outlives its worker. The watchdog lives in the JVM's
 * process group, so the JVM's pid cannot be reused while the watchdog may still signal it.
 */
export class KclDaemon {
  readonly exited: Promise<DaemonExit>;
  readonly ready: Promise<void>;
  private readonly child: ChildProcess;
  private readonly log: JvmLogRouter;
  private exit: DaemonExit | undefined;
  private markReady!: () => void;

  private constructor(launch: DaemonLaunch) {
    let becameReady = false;
    this.ready = new Promise<void>((resolve) => (this.markReady = resolve)).then(() => void (becameReady = true));
    this.log = new JvmLogRouter(launch.logger, launch.logPrefix, 40, (message) => {
      if (!becameReady && message.includes(READY_LINE)) this.markReady();
    });
    const watchdog = [
      // fd 3: the worker's end of the pipe, for the watchdog only.
      'exec 3<&0',
      `sh -c 'while read -r _; do :; done; if kill -0 "$1" 2>/dev/null; then kill -TERM "$1"; i=0; while kill -0 "$1" 2>/dev/null && [ "$i" -lt "$2" ]; do sleep 1; i=$((i+1)); done; kill -s KILL -- -"$1" 2>/dev/null; fi' nestjs-kinesis-kcl-watchdog "$$" "${Math.ceil(launch.orphanGraceMs / 1000)}" "$0" <&3 >/dev/null 2>&1 &`,
      'exec 3<&-',
      'exec "$@" </dev/null',
    ].join('\n');
    const args = [
      ...launch.javaOptions,
      // Our logback configuration from the first line on: the jar's own logs to STDOUT.
      `-Dlogback.configurationFile=${launch.logbackFile}`,
      '-cp',
      launch.classpath,
      MULTI_LANG_DAEMON_CLASS,
      '--properties-file',
      launch.propertiesFile,
      '--log-configuration',
      launch.logbackFile,
    ];
    this.child = spawn('/bin/sh', ['-c', watchdog, launch.runDir, launch.javaPath, ...args], {
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...launch.env },
    });
    this.child.stdin!.on('error', () => undefined);
    this.child.stdout!.on('data', (chunk: Buffer) => this.log.write(chunk));
    this.child.stderr!.on('data', (chunk: Buffer) => this.log.write(chunk));
    this.exited = new Promise((resolve) => {
      const done = (exit: DaemonExit) => {
        if (this.exit) return;
        this.exit = exit;
        this.log.end();
        resolve(exit);
      };
      this.child.once('exit', (code, signal) => done({ code, signal }));
      this.child.once('error', (error) => {
        launch.logger.error(`${launch.logPrefix} could not start the JVM: ${error.message}`);
        done({ code: null, signal: null });
      });
    });
  }

  static start(launch: DaemonLaunch): KclDaemon {
    return new KclDaemon(launch);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** The last log events of the JVM, for error messages. */
  tail(count?: number): string[] {
    return this.log.tail(count);
  }

  /** Readiness from elsewhere (a relay connected: the scheduler is surely up). */
  notifyActive(): void {
    this.markReady();
  }

  /** Resolves once the scheduler is up; rejects if the JVM exits first, takes longer than timeoutMs, or the signal aborts. */
  async waitUntilReady(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await Promise.race([
        this.ready,
        new Promise<never>((_, reject) => {
          onAbort = () => reject(new KinesisWorkerError('The worker was stopped before the Java KCL MultiLangDaemon came up.'));
          if (signal?.aborted) onAbort();
          else signal?.addEventListener('abort', onAbort, { once: true });
        }),
        this.exited.then((exit) => {
          throw new KinesisWorkerError(
            `The Java KCL MultiLangDaemon exited during start-up (${describeExit(exit)}). Its last log lines:\n  ${this.tail().join('\n  ')}`,
          );
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new KinesisWorkerError(
                  `The Java KCL MultiLangDaemon did not come up within ${timeoutMs} ms (kcl.startTimeoutMs). Its last log lines:\n  ${this.tail().join('\n  ')}`,
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Graceful: SIGTERM to the JVM only. Its shutdown hook asks every child for a final checkpoint. */
  terminate(): void {
    if (this.running && this.child.pid) signal(this.child.pid, 'SIGTERM');
  }

  /** Last resort: SIGKILL to the JVM's whole process group (JVM, relays, watchdog). */
  killGroup(): void {
    if (this.child.pid) signal(-this.child.pid, 'SIGKILL');
  }

  /** Whether any process of the JVM's group (JVM, relays, watchdog) is still alive. */
  groupAlive(): boolean {
    return this.child.pid !== undefined && processGroupAlive(this.child.pid);
  }

  /**
   * After the JVM has exited: close the watchdog's pipe, and make sure nothing of the group is left,
   * killing what is after graceMs.
   */
  async reap(graceMs = 3_000): Promise<void> {
    this.child.stdin!.end();
    const deadline = Date.now() + graceMs;
    while (this.groupAlive() && Date.now() < deadline) await sleep(50);
    if (this.groupAlive()) {
      this.killGroup();
      await sleep(100);
    }
  }
}

/**
 * Whether a process group has a live member. On Linux, zombies do not count: an exited watchdog waits
 * there for the init process to reap it, which some container inits do late.
 */
export function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...: comm may contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
  }
  return false;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export function describeExit(exit: DaemonExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}
