import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createStream, putRecords, type LocalEmulators } from '../../lib/testing';
import { compiled } from '../lib/compiled';
import { kinesisClientFor } from '../lib/setup';
import { row, type BenchRow } from '../lib/stats';

async function rssOf(args: object): Promise<number> {
  const child = fork(compiled('bench/lib/memory-worker.ts'), [JSON.stringify(args)], {
    execArgv: ['--expose-gc'],
    stdio: 'inherit',
  });
  const rss = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { rss: number }) => resolve(m.rss));
    child.once('exit', (code) => reject(new Error(`memory worker exited with ${code}`)));
  });
  child.kill('SIGKILL');
  return rss / 1048576;
}

/** 4. (native side): RSS of one worker process holding 1, 16 and 64 shards, against an idle Node process with the SDK clients. */
export async function memoryBenchmarks(emulators: LocalEmulators): Promise<BenchRow[]> {
  const kinesis = kinesisClientFor(emulators.kinesis.endpoint);
  const base = { appName: 'unused', streamName: 'unused', ...emulators.workerOptions };
  const bare = await rssOf({ options: base, expectShards: 0, bare: true });
  const rows: BenchRow[] = [];
  for (const shards of [1, 16, 64]) {
    const stream = `bench-mem-${shards}-${randomBytes(3).toString('hex')}`;
    await createStream(kinesis, stream, shards);
    await putRecords(kinesis, stream, Array.from({ length: shards * 20 }, (_, i) => ({ partitionKey: `pk-${i}`, data: 'x'.repeat(1024) })));
    const rss = await rssOf({
      options: { ...base, appName: `bench-${randomBytes(3).toString('hex')}`, streamName: stream, idleTimeBetweenReadsMs: 200 },
      expectShards: shards,
    });
    rows.push(
      row({
        group: 'memory',
        name: `native engine RSS, ${shards} shard${shards > 1 ? 's' : ''} leased`,
        value: rss,
        unit: 'MB',
        baseline: bare,
        baselineName: 'idle Node process with the SDK clients',
        note: 'kcl engine comparison: see the kcl rows',
      }),
    );
  }
  kinesis.destroy();
  return rows;
}
