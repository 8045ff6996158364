import { createServer, type Server, type Socket } from 'node:net';
import { describeError } from '../../core/aws-errors';
import { pause } from '../../core/retry';
import { ShardSession, type ShardSessionDeps } from './shard-session';

export type RelayServerDeps = Omit<ShardSessionDeps, 'socket'> & {
  /** A relay connected: the daemon is up and leasing. */
  readonly onConnection: () => void;
};

/** How long no relay may be connected before a daemon that was told to stop counts as done for this worker. */
const IDLE_AFTER_STOP_MS = 1_000;

/**
 * The Unix socket the relays connect to. Each connection is one shard the daemon leased: it gets a
 * ShardSession, which builds the processor and speaks the protocol with the daemon through the relay.
 */
export class RelayServer {
  private readonly sessions = new Set<ShardSession>();
  private stopping = false;
  private emptied: (() => void) | undefined;

  private constructor(
    private readonly server: Server,
    private readonly deps: RelayServerDeps,
  ) {}

  static listen(socketPath: string, deps: RelayServerDeps): Promise<RelayServer> {
    const server = createServer();
    const relays = new RelayServer(server, deps);
    server.on('connection', (socket) => relays.accept(socket));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        server.on('error', (error) => deps.options.logger.error(`The kcl engine's socket ${socketPath} failed: ${describeError(error)}`));
        resolve(relays);
      });
    });
  }

  /** The shards whose relay is connected, with what their session is doing. */
  get active(): readonly ShardSession[] {
    return [...this.sessions];
  }

  /** Graceful stop: every session, present and future, stops delivering new batches and retrying. */
  requestStop(): void {
    this.stopping = true;
    for (const session of this.sessions) session.requestStop();
  }

  /**
   * Resolves 'idle' once no relay has been connected for a second after a stop was requested. Every
   * processor has had its shutdown by then (the daemon closes a relay only after shutdownRequested and
   * leaseLost, or shardEnded), and every checkpoint it wrote was acknowledged by the daemon, hence
   * stored. 'aborted' when the signal aborts first.
   */
  async idle(signal: AbortSignal): Promise<'idle' | 'aborted'> {
    for (;;) {
      if (this.sessions.size > 0) {
        const empty = new Promise<void>((resolve) => (this.emptied = resolve));
        const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        await Promise.race([empty, aborted]);
      }
      if (!(await pause(IDLE_AFTER_STOP_MS, signal))) return 'aborted';
      if (this.sessions.size === 0) return 'idle';
    }
  }

  /** True once every session has closed (its processor shut down), false if that takes longer than ms. */
  async allClosedWithin(ms: number): Promise<boolean> {
    const closing = Promise.all([...this.sessions].map((session) => session.closed)).then(() => true);
    const abort = new AbortController();
    const late = pause(ms, abort.signal).then(() => false);
    try {
      return await Promise.race([closing, late]);
    } finally {
      abort.abort();
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    this.deps.onConnection();
    let session: ShardSession;
    try {
      session = new ShardSession({ ...this.deps, socket });
    } catch (error) {
      // The relay exits when its socket closes, and the daemon then restarts (a child that died takes it down).
      this.deps.options.logger.error(`The kcl engine could not serve a relay connection: ${describeError(error)}`);
      socket.destroy();
      return;
    }
    if (this.stopping) session.requestStop();
    this.sessions.add(session);
    void session.closed.then(() => {
      this.sessions.delete(session);
      if (this.sessions.size === 0) this.emptied?.();
    });
  }
}
