/**
 * What each require costs at start: run compiled with --expose-gc, argv = module ids in load order
 * (paths starting with lib/ are this package's compiled files). Prints one line per module and sends
 * the figures over IPC when forked. Usage: node --expose-gc bench/.build/bench/lib/require-cost.js lib/create-worker @aws-sdk/client-kinesis
 */
import { join } from 'node:path';

const gc = (global as { gc?: () => void }).gc ?? (() => undefined);
const costs: { module: string; rssMb: number; heapMb: number; ms: number }[] = [];
gc();
let before = process.memoryUsage();
let at = performance.now();
for (const id of process.argv.slice(2)) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- measures require() itself, module by module
  require(id.startsWith('lib/') ? join(__dirname, '..', '..', id) : id);
  gc();
  const now = process.memoryUsage();
  costs.push({
    module: id,
    rssMb: (now.rss - before.rss) / 1048576,
    heapMb: (now.heapUsed - before.heapUsed) / 1048576,
    ms: performance.now() - at,
  });
  before = now;
  at = performance.now();
}
if (process.send) process.send({ costs, rssMb: before.rss / 1048576 });
else
  for (const c of costs)
    console.log(`${c.module.padEnd(48)} +RSS ${c.rssMb.toFixed(1)} MB  +heap ${c.heapMb.toFixed(1)} MB  ${c.ms.toFixed(0)} ms`);
