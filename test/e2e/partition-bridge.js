// Runs inside a network namespace of the partition suite: forwards TCP on the namespace's own
// loopback aliases to Unix sockets, which the test process (in the host namespace) forwards on to the
// emulators. Unix sockets live in the file system, which namespaces share; no interface is added.
// Usage: node partition-bridge.js <host>:<port>=<unix socket> ...
const net = require('node:net');

for (const spec of process.argv.slice(2)) {
  const [address, socketPath] = spec.split('=');
  const [host, port] = address.split(':');
  net
    .createServer((client) => {
      const upstream = net.connect(socketPath);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    })
    .listen(Number(port), host, () => process.stdout.write(`bridge ${address} ready\n`));
}
