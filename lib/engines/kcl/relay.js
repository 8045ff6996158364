/**
 * The executable the Java MultiLangDaemon starts for each shard it leases (`executableName`).
 *
 * It runs no processor: it connects to the worker's Unix socket (path in NESTJS_KINESIS_KCL_SOCKET,
 * inherited from the JVM's environment) and pipes the MultiLangDaemon protocol through, stdin to
 * socket and socket to stdout. It exits when either side closes. stdout is the protocol channel:
 * nothing else is ever written there; diagnostics go to stderr, which the daemon logs.
 *
 * Plain JavaScript with Node.js built-ins only, so that it runs as it is, with no build and no
 * node_modules. The worker copies it into its run directory at start.
 */
'use strict';

const net = require('node:net');

const socketPath = process.env.NESTJS_KINESIS_KCL_SOCKET;
const fail = (message, code) => {
  process.stderr.write(`nestjs-kinesis-worker relay (pid ${process.pid}): ${message}\n`);
  process.exit(code);
};
if (!socketPath) fail('NESTJS_KINESIS_KCL_SOCKET is not set; this relay is started by the kcl engine only.', 2);

// The daemon signals the JVM, not its children; a stray signal must not cut the protocol short either.
// The relay ends when stdin or the socket closes.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => undefined);

let exiting = false;
const exit = (code) => {
  if (exiting) return;
  exiting = true;
  // stdout is a pipe: flush what is queued before leaving.
  process.stdout.write('', () => process.exit(code));
};

const socket = net.createConnection(socketPath);
socket.on('error', (error) => {
  process.stderr.write(`nestjs-kinesis-worker relay (pid ${process.pid}): socket ${socketPath}: ${error.message}\n`);
  exit(1);
});
socket.on('close', () => exit(0));
socket.on('connect', () => {
  process.stdin.pipe(socket); // stdin EOF (the daemon is done with this shard) half-closes the socket
  socket.pipe(process.stdout, { end: false });
});
process.stdin.on('error', () => socket.destroy());
process.stdout.on('error', () => socket.destroy());
