import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The relay as the daemon runs it: a real node process with pipes, against a real Unix socket. */
const RELAY = join(__dirname, '../../../../lib/engines/kcl/relay.js');

let dir: string;
let server: Server;
let socketPath: string;
let connections: Socket[] = [];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kcl-relay-'));
  socketPath = join(dir, 'relay.sock');
  server = createServer((socket) => connections.push(socket));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => (connections = []));

function relay(env: Record<string, string | undefined> = { NESTJS_KINESIS_KCL_SOCKET: socketPath }) {
  const child = spawn(process.execPath, [RELAY], { env: { PATH: process.env.PATH, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

async function connection(): Promise<Socket> {
  for (let i = 0; i < 200 && connections.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(connections).toHaveLength(1);
  return connections[0];
}

const received = (socket: Socket) => {
  let text = '';
  socket.on('data', (chunk) => (text += chunk.toString()));
  return () => text;
};

async function until(condition: () => boolean) {
  for (let i = 0; i < 300 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('the relay', () => {
  it('pipes stdin to the socket and the socket to stdout, and exits 0 once the daemon closes its stdin', async () => {
    const r = relay();
    const socket = await connection();
    const fromDaemon = received(socket);
    r.child.stdin.write('{"action":"initialize","shardId":"s"}\n');
    await until(() => fromDaemon().includes('initialize'));
    socket.write('\n{"action":"status","responseFor":"initialize"}\n');
    await until(() => r.out().includes('status'));
    r.child.stdin.end();
    expect(await r.exited).toBe(0);
    expect(fromDaemon()).toBe('{"action":"initialize","shardId":"s"}\n');
    expect(r.out()).toBe('\n{"action":"status","responseFor":"initialize"}\n');
    expect(r.err()).toBe('');
  });

  it('exits once the worker closes the connection', async () => {
    const r = relay();
    const socket = await connection();
    socket.end('{"action":"status","responseFor":"leaseLost"}\n');
    expect(await r.exited).toBe(0);
    expect(r.out()).toBe('{"action":"status","responseFor":"leaseLost"}\n');
  });

  it('ignores SIGTERM meant for a process group: only the end of a stream ends it', async () => {
    const r = relay();
    await connection();
    r.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(r.child.exitCode).toBeNull();
    r.child.stdin.end();
    expect(await r.exited).toBe(0);
  });

  it('fails with a message on stderr, never on stdout, without a socket', async () => {
    const missing = relay({ NESTJS_KINESIS_KCL_SOCKET: join(dir, 'nope.sock') });
    expect(await missing.exited).toBe(1);
    expect(missing.err()).toMatch(/socket .*nope.sock/);
    const unset = relay({});
    expect(await unset.exited).toBe(2);
    expect(unset.err()).toMatch(/NESTJS_KINESIS_KCL_SOCKET is not set/);
    expect(missing.out() + unset.out()).toBe('');
  });
});
