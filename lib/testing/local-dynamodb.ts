import type { Server } from 'node:http';
import { freePort } from './free-port';
import { optionalResolve } from './optional-require';

export interface LocalDynamoDb {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts dynalite in this process, in memory, on a loopback port. Its conditional writes are atomic. `unref`: it does not keep the process alive. */
export async function startLocalDynamoDb(options: { port?: number; unref?: boolean } = {}): Promise<LocalDynamoDb> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require(optionalResolve('dynalite')) as (opts: object) => Server;
  const port = options.port ?? (await freePort());
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
