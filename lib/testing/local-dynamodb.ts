import { spawn } from 'node:child_process';
import type { Server } from 'node:http';
import { freePort } from './free-port';
import { optionalResolve } from './optional-require';

export interface LocalDynamoDb {
  readonly endpoint: string;
  readonly port: number;
  /** The child process's id, when dynalite runs in one (exitWithParent). */
  readonly pid?: number;
  stop(): Promise<void>;
}

export interface LocalDynamoDbOptions {
  port?: number;
  /** In this process: dynalite does not keep the process alive. */
  unref?: boolean;
  /**
   * Run dynalite in a child process that ends with this one, however it ends (it watches its stdin), and
   * does not keep this one alive. For emulators shared by the spec files of a jest worker (sharedEmulators()):
   * a server started inside one spec file stops answering once jest tears that file's environment down.
   */
  exitWithParent?: boolean;
}

/** Starts dynalite, in memory, on a loopback port: in this process, or in a child process (exitWithParent). Its conditional writes are atomic. */
export async function startLocalDynamoDb(options: LocalDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const main = optionalResolve('dynalite');
  const port = options.port ?? (await freePort());
  if (options.exitWithParent) return startInChild(main, port);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require(main) as (opts: object) => Server;
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  // dynalite throws from its request 'error' listener: a client gone mid-request (a JVM that exits)
  // would crash this process. A dropped request is the client's business, not the emulator's.
  server.prependListener('request', (req) => {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with .call(this), this being the request
    const on = req.on;
    req.on = function (this: typeof req, event: string, listener: (...args: unknown[]) => void) {
      return on.call(this, event, event === 'error' ? () => undefined : listener);
    } as typeof req.on;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  // unref: the emulator does not keep this process alive by itself (shared emulators that no test stops).
  if (options.unref) server.unref();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/**
 * dynalite in a child node process: the same settings and the same guard against a client gone
 * mid-request as in-process, and it exits once its stdin closes, i.e. when this process is gone.
 */
const CHILD = `
process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume();
const server = require(process.argv[1])({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.prependListener('request', (req) => {
  const on = req.on;
  req.on = function (event, listener) { return on.call(this, event, event === 'error' ? () => undefined : listener); };
});
server.once('error', (error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });
server.listen(Number(process.argv[2]), '127.0.0.1', () => process.stdout.write('listening\\n'));
`;

async function startInChild(main: string, port: number): Promise<LocalDynamoDb> {
  const child = spawn(process.execPath, ['-e', CHILD, main, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dynalite exited with code ${code} before it listened on port ${port}: ${output}`)));
  });
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
