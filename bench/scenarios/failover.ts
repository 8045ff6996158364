import { randomBytes } from 'node:crypto';
import { createStream, type LocalEmulators } from '../../lib/testing';
import { compiled } from '../lib/compiled';
import { kinesisClientFor } from '../lib/setup';
import { row, type BenchRow } from '../lib/stats';
import { BackgroundProducer } from '../../test/support/producer';
import { WorkerFleet } from '../../test/support/worker-fleet';
import type { WorkerFileEvent } from '../../test/support/worker-process';

const FAILOVER_MS = 3000;
const TAKER_MS = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('benchmark timed out');
    await sleep(50);
  }
}

/** From the end of worker-1 (kill -9 or SIGTERM) to the first record worker-2 delivers on one of its shards. */
async function takeoverMs(emulators: LocalEmulators, how: 'kill' | 'close', engine: 'native' | 'kcl' = 'native'): Promise<number> {
  process.env.TEST_KINESIS_ENDPOINT = emulators.kinesis.endpoint;
  process.env.TEST_DYNAMODB_ENDPOINT = emulators.dynamodb.endpoint;
  const stream = `bench-fo-${randomBytes(3).toString('hex')}`;
  const kinesis = kinesisClientFor(emulators.kinesis.endpoint);
  await createStream(kinesis, stream, 2);
  const producer = new BackgroundProducer(kinesis, stream, 4, 20);
  producer.start();
  const fleet = new WorkerFleet({
    engine,
    appName: `bench-${randomBytes(3).toString('hex')}`,
    streamName: stream,
    failoverTimeMs: FAILOVER_MS,
    // The Java KCL derives its taker interval from failoverTimeMillis: (failover + 25) x 2.
    ...(engine === 'native' ? { leaseTakerIntervalMs: TAKER_MS } : {}),
    idleTimeBetweenReadsMs: 50,
    ...emulators.workerOptions,
  }, 0, {}, compiled('test/support/worker-process.ts'));
  try {
    fleet.start('worker-1');
    await until(() => new Set(fleet.events().filter((e) => e.kind === 'batch' && e.worker === 'worker-1').map((e) => (e as { shardId: string }).shardId)).size === 2, 120_000);
    fleet.start('worker-2');
    await until(() => fleet.events().some((e) => e.kind === 'batch' && e.worker === 'worker-2'), 120_000);
    const victimShards = new Set(
      fleet.events().filter((e): e is Extract<WorkerFileEvent, { kind: 'batch' }> => e.kind === 'batch').filter((e) => e.worker === 'worker-1').map((e) => e.shardId),
    );
    for (const e of fleet.events()) if (e.kind === 'batch' && e.worker === 'worker-2') victimShards.delete(e.shardId);
    await sleep(1000);
    const endedAt = Date.now();
    if (how === 'kill') fleet.kill('worker-1');
    else await fleet.stop('worker-1');
    const first = () =>
      fleet.events().find((e) => e.kind === 'batch' && e.worker === 'worker-2' && victimShards.has(e.shardId) && e.start >= endedAt) as
        | Extract<WorkerFileEvent, { kind: 'batch' }>
        | undefined;
    await until(() => first() !== undefined);
    return first()!.start - endedAt;
  } finally {
    await producer.stop();
    await fleet.stopAll();
    kinesis.destroy();
  }
}

/** 5.: failover after kill -9 and handoff after a graceful close, in units of failoverTimeMs, native against kcl. */
export async function failoverBenchmarks(emulators: LocalEmulators): Promise<BenchRow[]> {
  const killed = await takeoverMs(emulators, 'kill');
  const closed = await takeoverMs(emulators, 'close');
  const kcl = process.env.BENCH_SKIP_KCL === '1' ? undefined : { killed: await takeoverMs(emulators, 'kill', 'kcl'), closed: await takeoverMs(emulators, 'close', 'kcl') };
  const javaTaker = (FAILOVER_MS + 25) * 2;
  const kclRows = kcl
    ? [
        row({
          group: 'failover',
          name: `kcl engine: kill -9 -> first record on the survivor (Java taker every ${javaTaker} ms)`,
          value: kcl.killed / FAILOVER_MS,
          unit: 'x failoverTimeMs',
          baseline: killed / FAILOVER_MS,
          baselineName: 'native',
          note: `${kcl.killed} ms`,
        }),
        row({
          group: 'failover',
          name: 'kcl engine: graceful close -> first record on the other worker',
          value: kcl.closed / FAILOVER_MS,
          unit: 'x failoverTimeMs',
          baseline: closed / FAILOVER_MS,
          baselineName: 'native',
          note: `${kcl.closed} ms`,
        }),
      ]
    : [];
  return [
    ...kclRows,
    row({
      group: 'failover',
      name: `kill -9 -> first record on the survivor (failoverTimeMs ${FAILOVER_MS}, taker ${TAKER_MS} ms)`,
      value: killed / FAILOVER_MS,
      unit: 'x failoverTimeMs',
      target: `< 2 x failoverTimeMs + taker = ${((2 * FAILOVER_MS + TAKER_MS) / FAILOVER_MS).toFixed(2)}`,
      met: killed < 2 * FAILOVER_MS + TAKER_MS,
      note: `${killed} ms`,
    }),
    row({
      group: 'failover',
      name: 'graceful close -> first record on the other worker',
      value: closed / FAILOVER_MS,
      unit: 'x failoverTimeMs',
      target: `< one taker interval = ${(TAKER_MS / FAILOVER_MS).toFixed(2)}`,
      met: closed < TAKER_MS,
      note: `${closed} ms`,
    }),
  ];
}
