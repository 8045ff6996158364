/**
 * A worker process for the memory benchmark: argv = JSON options. Reports its RSS over IPC once it
 * holds `expectShards` leases and every shard has delivered records.
 * With options.bare it only loads the SDK and builds the clients: the baseline.
 * It imports the framework-free entry (lib/standalone) rather than the package root, which also loads Nest (~27 MB).
 */
import { createWorker, type StreamWorkerOptions } from '../../lib/standalone';
import { createClients } from '../../lib/core/aws-clients';
import { resolveWorkerOptions } from '../../lib/core/resolve-options';

const { options, expectShards, bare } = JSON.parse(process.argv[2]) as {
  options: StreamWorkerOptions;
  expectShards: number;
  bare?: boolean;
};
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

async function settle() {
  await new Promise((resolve) => setTimeout(resolve, 3000));
  global.gc?.();
  process.send?.({ rss: process.memoryUsage().rss });
}

if (bare) {
  createClients(resolveWorkerOptions(options));
  // Nothing else keeps this process alive until it has been measured.
  const alive = setInterval(() => undefined, 1000);
  process.once('SIGTERM', () => (clearInterval(alive), process.exit(0)));
  void settle();
} else {
  const reads = new Map<string, number>();
  const worker = createWorker({ ...options, logger: { log() {}, warn() {}, error: console.error } }, ({ shardId }) => ({
    processRecords: () => void reads.set(shardId, (reads.get(shardId) ?? 0) + 1),
  }));
  process.once('SIGTERM', () => void worker.stop().then(() => process.exit(0)));
  void worker.start().then(async () => {
    while (reads.size < expectShards) await new Promise((resolve) => setTimeout(resolve, 100));
    await settle();
  });
}
