import { Transform, Writable, type TransformCallback } from 'node:stream';
import type { Socket } from 'node:net';
import type { WorkerLogger } from '../../core/logger';

/**
 * What aws-kcl reads from: the daemon's lines, with anything that is not a JSON action dropped (and
 * logged). aws-kcl parses each line without a try/catch, inside an event handler: one bad line would
 * be an uncaught exception in the worker's process.
 */
export class ActionLineFilter extends Transform {
  private partial = '';

  constructor(
    private readonly logger: WorkerLogger,
    private readonly describe: () => string,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const lines = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.forward(line);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.partial) this.forward(this.partial);
    this.partial = '';
    callback();
  }

  private forward(line: string): void {
    const trimmed = line.trim();
    if (trimmed === '') return;
    try {
      const action = JSON.parse(trimmed) as { action?: unknown };
      if (action && typeof action === 'object' && typeof action.action === 'string') {
        this.push(`${trimmed}\n`);
        return;
      }
    } catch {
      // not JSON: dropped below
    }
    this.logger.warn(
      `Ignored a line from the MultiLangDaemon that is not a protocol action (${this.describe()}): ${trimmed.slice(0, 200)}`,
    );
  }
}

/**
 * What aws-kcl writes to: the socket, without ever reporting a failed write. aws-kcl throws from a
 * write callback that gets an error (a socket closed under it would crash the worker's process), and
 * treats a full buffer as fatal. A closed connection is noticed and handled by the session instead.
 */
export class ProtocolOutput extends Writable {
  constructor(private readonly socket: Socket) {
    super({ highWaterMark: 1 << 30, decodeStrings: false });
  }

  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.socket.destroyed || !this.socket.writable) return callback();
    this.socket.write(chunk, typeof chunk === 'string' ? encoding : undefined, () => callback());
  }
}

/** aws-kcl's error channel: lines to the logger. */
export function errorChannel(logger: WorkerLogger, describe: () => string): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const text = chunk.toString().trim();
      if (text) logger.error(`aws-kcl (${describe()}): ${text}`);
      callback();
    },
  });
}
