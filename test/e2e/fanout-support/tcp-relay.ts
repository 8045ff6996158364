import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A loopback TCP relay in front of kinesis-local that can cut every open connection at once. The fault
 * proxy decides per request, before forwarding; a SubscribeToShard stream already flowing can only be
 * dropped below HTTP, which is what a load balancer or a network blip does to a real subscription.
 */
export class TcpRelay {
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  /** Connections that carried a SubscribeToShard request. */
  private readonly subscribing = new WeakSet<Socket>();
  private constructor(private readonly targetPort: number) {
    this.server = createServer((client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: this.targetPort });
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      const end = () => {
        this.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      client.on('data', (chunk: Buffer) => {
        if (chunk.includes('Kinesis_20131202.SubscribeToShard')) this.subscribing.add(client);
      });
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  static async start(target: string): Promise<TcpRelay> {
    const relay = new TcpRelay(Number(new URL(target).port));
    await new Promise<void>((resolve) => relay.server.listen(0, '127.0.0.1', resolve));
    return relay;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Connections open now (each SubscribeToShard over HTTP/1.1 holds one). */
  get open(): number {
    return this.pairs.size;
  }

  /** Open connections that carried a SubscribeToShard: a subscription not cancelled keeps one open. */
  get openSubscriptions(): number {
    return [...this.pairs].filter(([client]) => this.subscribing.has(client)).length;
  }

  /** Resets every open connection, mid-stream ones included. */
  dropAll(): number {
    const count = this.pairs.size;
    for (const [client, upstream] of this.pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    return count;
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
