import { describeError } from '../../core/aws-errors';
import type { WorkerLogger } from '../../core/logger';
import { pause } from '../../core/retry';
import { backoffDelay, type RetryPolicy } from '../../core/retry-policy';
import { KclDaemon, describeExit, type DaemonExit, type DaemonLaunch } from './daemon';

/** How a daemon that died on its own is restarted: 1 s, doubling up to 30 s. */
const RESTART_BACKOFF: RetryPolicy = { maxAttempts: Infinity, baseDelayMs: 1_000, maxDelayMs: 30_000 };
/** A daemon that ran this long before it died starts the backoff over. */
const STABLE_RUN_MS = 5 * 60_000;
/** How long a killed JVM gets to be reported gone. */
const KILL_WAIT_MS = 5_000;

export interface SupervisorSettings {
  readonly launch: DaemonLaunch;
  /** kcl.startTimeoutMs: how long the scheduler may take to come up. */
  readonly startTimeoutMs: number;
  readonly streamName: string;
  readonly logger: WorkerLogger;
  /** After a daemon died on its own and its processes are gone, before the restart: release what it held. */
  readonly afterCrash: () => Promise<void>;
}

export type StopOutcome = 'exited' | 'idle' | 'timeout' | 'not-running';

/**
 * Keeps one MultiLangDaemon JVM running for the worker: starts it and waits for its scheduler, restarts
 * it with backoff when it dies on its own (a child that failed makes the daemon exit), and stops it:
 * gracefully (SIGTERM, bounded), or by killing its whole process group.
 */
export class DaemonSupervisor {
  private daemon: KclDaemon | undefined;
  private restarts = 0;
  private readonly stopped = new AbortController();

  constructor(private readonly settings: SupervisorSettings) {}

  /** The JVM's pid (also its process group id), while it runs. */
  get pid(): number | undefined {
    return this.daemon?.running ? this.daemon.pid : undefined;
  }

  get launched(): boolean {
    return this.daemon !== undefined;
  }

  /** A relay connected: the scheduler is surely up, even if its log line was missed. */
  notifyActive(): void {
    this.daemon?.notifyActive();
  }

  /** Starts the JVM and resolves once its scheduler is up; rejects (JVM killed) when it exits, takes too long, or the signal aborts. */
  async start(signal?: AbortSignal): Promise<void> {
    const daemon = this.launch();
    const aborted = new AbortController();
    const onAbort = () => aborted.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await daemon.waitUntilReady(this.settings.startTimeoutMs, aborted.signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Graceful stop: SIGTERM to the JVM (every processor gets shutdown(REQUESTED) and may checkpoint),
   * until it exits, `done` resolves (nothing left to wait for), or timeoutMs pass. Then whatever is
   * left of its process group is killed. No restart follows.
   */
  async stopGracefully(timeoutMs: number, done: (signal: AbortSignal) => Promise<unknown>): Promise<StopOutcome> {
    this.stopped.abort();
    const daemon = this.daemon;
    if (!daemon?.running) {
      await this.kill();
      return 'not-running';
    }
    daemon.terminate();
    const waiting = new AbortController();
    const outcome = await Promise.race([
      daemon.exited.then(() => 'exited' as const),
      done(waiting.signal).then(() => 'idle' as const),
      pause(timeoutMs, waiting.signal).then(() => 'timeout' as const),
    ]).finally(() => waiting.abort());
    await this.kill();
    return outcome;
  }

  /** Kills the JVM's whole process group (JVM, relays, watchdog) and waits until it is gone. No restart follows. */
  async kill(): Promise<void> {
    this.stopped.abort();
    const daemon = this.daemon;
    if (!daemon) return;
    if (daemon.running) {
      daemon.killGroup();
      const waiting = new AbortController();
      await Promise.race([daemon.exited, pause(KILL_WAIT_MS, waiting.signal)]).finally(() => waiting.abort());
    }
    await daemon.reap();
  }

  private launch(): KclDaemon {
    const daemon = KclDaemon.start(this.settings.launch);
    this.daemon = daemon;
    const launchedAt = Date.now();
    void daemon.exited
      .then((exit) => this.onExit(daemon, exit, launchedAt))
      .catch((error) =>
        this.settings.logger.error(`Restarting the MultiLangDaemon for '${this.settings.streamName}' failed: ${describeError(error)}`),
      );
    return daemon;
  }

  /** The JVM died on its own: start a new one, with backoff. */
  private async onExit(daemon: KclDaemon, exit: DaemonExit, launchedAt: number): Promise<void> {
    if (this.daemon !== daemon || this.stopped.signal.aborted) return;
    if (Date.now() - launchedAt > STABLE_RUN_MS) this.restarts = 0;
    const delay = backoffDelay(RESTART_BACKOFF, ++this.restarts);
    const { logger, streamName } = this.settings;
    logger.error(
      `The Java KCL MultiLangDaemon for '${streamName}' exited unexpectedly (${describeExit(exit)}); restarting it in ${delay} ms. Its last log lines:\n  ${daemon.tail().join('\n  ')}`,
    );
    await daemon.reap();
    await this.settings.afterCrash();
    if (!(await pause(delay, this.stopped.signal))) return;
    const next = this.launch();
    try {
      await next.waitUntilReady(this.settings.startTimeoutMs, this.stopped.signal);
    } catch (error) {
      if (this.stopped.signal.aborted) return;
      // Its exit schedules the next attempt, with a longer backoff.
      logger.error(`Restarting the MultiLangDaemon for '${streamName}' failed: ${describeError(error)}`);
      next.killGroup();
    }
  }
}
