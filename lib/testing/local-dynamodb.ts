import type { Server } from 'node:http';
import { freePort } from './free-port';
import { optionalResolve } from './optional-require';

export interface LocalDynamoDb {
  readonly endpoint: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts dynalite in this process, in memory, on a loopback port. Its conditional writes are atomic. */
export async function startLocalDynamoDb(options: { port?: number } = {}): Promise<LocalDynamoDb> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require(optionalResolve('dynalite')) as (opts: object) => Server;
  const port = options.port ?? (await freePort());
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
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
