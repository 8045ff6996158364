import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createStream, putRecords, type LocalEmulators } from '../../lib/testing';
import { compiled } from '../lib/compiled';
import { kinesisClientFor } from '../lib/setup';
import { treeMemoryMb } from '../lib/process-tree';
import { row, type BenchRow } from '../lib/stats';
import { kclJarsMissing } from '../lib/kcl-jars';

const SHARD_COUNTS = [1, 16, 64];

/**
 * Memory of the worker process and everything it started (for kcl: the JVM, its watchdog and relays),
 * as PSS: a page shared between processes (the relays' Node binary and libraries, say) is counted once,
 * split between its sharers, where summed RSS would count it once per process.
 */
async function memoryOf(args: object): Promise<{ rss: number; pss: number; processes: number }> {
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

/**
 * PSS of one worker holding 1, 16 and 64 shards: native against an idle Node process with the SDK
 * clients, native against the kcl engine (total at 64 shards), and the memory each further leased shard
 * costs (1 -> 64 shards) for either engine.
 */
export async function memoryBenchmarks(emulators: LocalEmulators): Promise<BenchRow[]> {
  const kinesis = kinesisClientFor(emulators.kinesis.endpoint);
  const base = { appName: 'unused', streamName: 'unused', ...emulators.workerOptions };
  const bare = await memoryOf({ options: base, expectShards: 0, bare: true });
  const missing = kclJarsMissing();
  if (missing) console.error(`memory: kcl rows skipped: ${missing}`);
  const rows: BenchRow[] = [];
  const measured = new Map<number, { native: { pss: number }; kcl?: { pss: number; rss: number; processes: number } }>();
  for (const shards of SHARD_COUNTS) {
    const stream = `bench-mem-${shards}-${randomBytes(3).toString('hex')}`;
    await createStream(kinesis, stream, shards);
    await putRecords(
      kinesis,
      stream,
      Array.from({ length: shards * 20 }, (_, i) => ({ partitionKey: `pk-${i}`, data: 'x'.repeat(1024) })),
    );
    const measure = (engine: 'native' | 'kcl') =>
      memoryOf({
        options: { ...base, engine, appName: `bench-${randomBytes(3).toString('hex')}`, streamName: stream, idleTimeBetweenReadsMs: 200 },
        expectShards: shards,
      });
    const native = await measure('native');
    const kcl = missing ? undefined : await measure('kcl');
    measured.set(shards, { native, kcl });
    const label = `${shards} shard${shards > 1 ? 's' : ''} leased`;
    rows.push(
      row({
        group: 'memory',
        name: `native engine PSS, ${label}`,
        value: native.pss,
        unit: 'MB',
        baseline: bare.pss,
        baselineName: 'idle Node process with the SDK clients',
      }),
    );
    if (kcl) {
      rows.push(
        row({
          group: 'memory',
          name: `native / kcl engine PSS, ${label}`,
          value: native.pss,
          unit: 'MB',
          baseline: kcl.pss,
          baselineName: `kcl engine: worker, JVM and relays, ${kcl.processes} processes (summed RSS ${kcl.rss.toFixed(0)} MB)`,
          target: shards === 64 ? '<= 0.10 x kcl' : undefined,
          met: shards === 64 ? native.pss <= kcl.pss * 0.1 : undefined,
        }),
      );
    }
  }
  const [first, last] = [SHARD_COUNTS[0], SHARD_COUNTS.at(-1)!];
  const perShard = (pick: (m: { native: { pss: number }; kcl?: { pss: number } }) => number | undefined) => {
    const a = pick(measured.get(first)!);
    const b = pick(measured.get(last)!);
    return a === undefined || b === undefined ? undefined : (b - a) / (last - first);
  };
  const nativePerShard = perShard((m) => m.native.pss)!;
  const kclPerShard = perShard((m) => m.kcl?.pss);
  rows.push(
    row({
      group: 'memory',
      name: `PSS per further leased shard (${first} -> ${last} shards), native${kclPerShard === undefined ? '' : ' / kcl'}`,
      value: nativePerShard,
      unit: 'MB',
      ...(kclPerShard === undefined
        ? {}
        : { baseline: kclPerShard, baselineName: 'kcl engine', target: '<= 0.10 x kcl', met: nativePerShard <= kclPerShard * 0.1 }),
    }),
  );
  kinesis.destroy();
  return rows;
}
