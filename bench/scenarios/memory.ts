import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createStream, putRecords, type LocalEmulators } from '../../lib/testing';
import { compiled } from '../lib/compiled';
import { kinesisClientFor } from '../lib/setup';
import { treeMemoryMb } from '../lib/process-tree';

const SKIP_KCL = process.env.BENCH_SKIP_KCL === '1';
import { row, type BenchRow } from '../lib/stats';

/** RSS of the worker process and everything it started (for kcl: the JVM, its watchdog and relays). */
async function rssOf(args: object): Promise<{ rss: number; pss: number; processes: number }> {
  const child = fork(compiled('bench/lib/memory-worker.ts'), [JSON.stringify(args)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`memory worker exited with ${code}`)));
  });
  const memory = treeMemoryMb(child.pid!);
  // SIGTERM: the worker stops gracefully, which also ends a kcl engine's JVM and relays.
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
  if (child.exitCode === null) child.kill('SIGKILL');
  return memory;
}

/** 4.: RSS of one worker holding 1, 16 and 64 shards: native against an idle Node process, and native against the kcl engine. */
export async function memoryBenchmarks(emulators: LocalEmulators): Promise<BenchRow[]> {
  const kinesis = kinesisClientFor(emulators.kinesis.endpoint);
  const base = { appName: 'unused', streamName: 'unused', ...emulators.workerOptions };
  const bare = (await rssOf({ options: base, expectShards: 0, bare: true })).rss;
  const rows: BenchRow[] = [];
  for (const shards of [1, 16, 64]) {
    const stream = `bench-mem-${shards}-${randomBytes(3).toString('hex')}`;
    await createStream(kinesis, stream, shards);
    await putRecords(kinesis, stream, Array.from({ length: shards * 20 }, (_, i) => ({ partitionKey: `pk-${i}`, data: 'x'.repeat(1024) })));
    const measure = (engine: 'native' | 'kcl') =>
      rssOf({
        options: { ...base, engine, appName: `bench-${randomBytes(3).toString('hex')}`, streamName: stream, idleTimeBetweenReadsMs: 200 },
        expectShards: shards,
      });
    const native = await measure('native');
    const kcl = SKIP_KCL ? undefined : await measure('kcl');
    const label = `${shards} shard${shards > 1 ? 's' : ''} leased`;
    rows.push(
      row({ group: 'memory', name: `native engine RSS, ${label}`, value: native.rss, unit: 'MB', baseline: bare, baselineName: 'idle Node process with the SDK clients' }),
    );
    if (kcl) {
      rows.push(
        row({
          group: 'memory',
          name: `native / kcl engine RSS, ${label}`,
          value: native.rss,
          unit: 'MB',
          baseline: kcl.rss,
          baselineName: `kcl engine: worker, JVM and relays, ${kcl.processes} processes (PSS ${kcl.pss.toFixed(0)} MB)`,
          target: shards === 64 ? '<= 0.1 x kcl' : undefined,
          met: shards === 64 ? native.rss <= kcl.rss / 10 : undefined,
        }),
      );
    }
  }
  kinesis.destroy();
  return rows;
}
