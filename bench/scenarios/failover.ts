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
async function takeoverMs(emulators: LocalEmulators, how: 'kill' | 'close'): Promise<number> {
  process.env.TEST_KINESIS_ENDPOINT = emulators.kinesis.endpoint;
  process.env.TEST_DYNAMODB_ENDPOINT = emulators.dynamodb.endpoint;
  const stream = `bench-fo-${randomBytes(3).toString('hex')}`;
  const kinesis = kinesisClientFor(emulators.kinesis.endpoint);
  await createStream(kinesis, stream, 2);
  const producer = new BackgroundProducer(kinesis, stream, 4, 20);
  producer.start();
  const fleet = new WorkerFleet({
    appName: `bench-${randomBytes(3).toString('hex')}`,
    streamName: stream,
    failoverTimeMs: FAILOVER_MS,
    leaseTakerIntervalMs: TAKER_MS,
    idleTimeBetweenReadsMs: 50,
    ...emulators.workerOptions,
  }, 0, {}, compiled('test/support/worker-process.ts'));
  try {
    fleet.start('worker-1');
    await until(() => new Set(fleet.events().filter((e) => e.kind === 'batch' && e.worker === 'worker-1').map((e) => (e as { shardId: string }).shardId)).size === 2);
    fleet.start('worker-2');
    await until(() => fleet.events().some((e) => e.kind === 'batch' && e.worker === 'worker-2'));
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
    fleet.killAll();
    kinesis.destroy();
  }
}

/** 5. (native side): failover after kill -9 and handoff after a graceful close, in units of failoverTimeMs. */
export async function failoverBenchmarks(emulators: LocalEmulators): Promise<BenchRow[]> {
  const killed = await takeoverMs(emulators, 'kill');
  const closed = await takeoverMs(emulators, 'close');
  return [
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
