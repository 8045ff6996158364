import { randomBytes } from 'node:crypto';
import { createStream, type LocalEmulators } from '../../lib/testing';
import { compiled } from '../lib/compiled';
import { kinesisClientFor } from '../lib/setup';
import { kclJarsMissing } from '../lib/kcl-jars';
import { row, type BenchRow } from '../lib/stats';
import { BackgroundProducer } from '../../test/support/producer';
import { WorkerFleet } from '../../test/support/worker-fleet';
import type { WorkerFileEvent } from '../../test/support/worker-process';

const FAILOVER_MS = 3000;
/** The native engine's fast taker, reported apart from the same-timing comparison. */
const FAST_TAKER_MS = 500;
/** What both engines use when leaseTakerIntervalMs is unset: the Java KCL's (failover + 25) x 2. */
const DERIVED_TAKER_MS = (FAILOVER_MS + 25) * 2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('benchmark timed out');
    await sleep(50);
  }
}

/** From the end of worker-1 (kill -9 or SIGTERM) to the first record worker-2 delivers on one of its shards. */
async function takeoverMs(emulators: LocalEmulators, how: 'kill' | 'close', engine: 'native' | 'kcl', takerMs?: number): Promise<number> {
  process.env.TEST_KINESIS_ENDPOINT = emulators.kinesis.endpoint;
  process.env.TEST_DYNAMODB_ENDPOINT = emulators.dynamodb.endpoint;
  const stream = `bench-fo-${randomBytes(3).toString('hex')}`;
  const kinesis = kinesisClientFor(emulators.kinesis.endpoint);
  await createStream(kinesis, stream, 2);
  const producer = new BackgroundProducer(kinesis, stream, 4, 20);
  producer.start();
  const fleet = new WorkerFleet(
    {
      engine,
      appName: `bench-${randomBytes(3).toString('hex')}`,
      streamName: stream,
      failoverTimeMs: FAILOVER_MS,
      // Unset, the taker interval derives from failoverTimeMs as the Java KCL's does: (failover + 25) x 2.
      ...(takerMs !== undefined ? { leaseTakerIntervalMs: takerMs } : {}),
      idleTimeBetweenReadsMs: 50,
      ...emulators.workerOptions,
    },
    0,
    {},
    compiled('test/support/worker-process.ts'),
  );
  try {
    fleet.start('worker-1');
    await until(
      () =>
        new Set(
          fleet
            .events()
            .filter((e) => e.kind === 'batch' && e.worker === 'worker-1')
            .map((e) => (e as { shardId: string }).shardId),
        ).size === 2,
      120_000,
    );
    fleet.start('worker-2');
    await until(() => fleet.events().some((e) => e.kind === 'batch' && e.worker === 'worker-2'), 120_000);
    const victimShards = new Set(
      fleet
        .events()
        .filter((e): e is Extract<WorkerFileEvent, { kind: 'batch' }> => e.kind === 'batch')
        .filter((e) => e.worker === 'worker-1')
        .map((e) => e.shardId),
    );
    for (const e of fleet.events()) if (e.kind === 'batch' && e.worker === 'worker-2') victimShards.delete(e.shardId);
    await sleep(1000);
    const endedAt = Date.now();
    if (how === 'kill') fleet.kill('worker-1');
    else await fleet.stop('worker-1');
    const first = () =>
      fleet.events().find((e) => e.kind === 'batch' && e.worker === 'worker-2' && victimShards.has(e.shardId) && e.start >= endedAt) as
        Extract<WorkerFileEvent, { kind: 'batch' }> | undefined;
    await until(() => first() !== undefined);
    return first()!.start - endedAt;
  } finally {
    await producer.stop();
    await fleet.stopAll();
    kinesis.destroy();
  }
}

/**
 * Failover after kill -9 and handoff after a graceful close, in units of failoverTimeMs: both engines at
 * the same lease timing (failoverTimeMs 3000, taker derived from it), then the native engine with a
 * fast taker on its own.
 */
export async function failoverBenchmarks(emulators: LocalEmulators): Promise<BenchRow[]> {
  const missing = kclJarsMissing();
  if (missing) console.error(`failover: kcl rows skipped: ${missing}`);
  const native = { killed: await takeoverMs(emulators, 'kill', 'native'), closed: await takeoverMs(emulators, 'close', 'native') };
  const kcl = missing
    ? undefined
    : { killed: await takeoverMs(emulators, 'kill', 'kcl'), closed: await takeoverMs(emulators, 'close', 'kcl') };
  const fast = {
    killed: await takeoverMs(emulators, 'kill', 'native', FAST_TAKER_MS),
    closed: await takeoverMs(emulators, 'close', 'native', FAST_TAKER_MS),
  };
  const same = `failoverTimeMs ${FAILOVER_MS}, taker every ${DERIVED_TAKER_MS} ms on both`;
  const x = (ms: number) => ms / FAILOVER_MS;
  const rows: BenchRow[] = [
    row({
      group: 'failover',
      name: `native: kill -9 -> first record on the survivor (${same})`,
      value: x(native.killed),
      unit: 'x failoverTimeMs',
      ...(kcl ? { baseline: x(kcl.killed), baselineName: 'kcl engine (KCL 3.1.3, 2.x-compatible lease rules)' } : {}),
      target: `< 2 x failover + taker = ${x(2 * FAILOVER_MS + DERIVED_TAKER_MS).toFixed(2)}`,
      met: native.killed < 2 * FAILOVER_MS + DERIVED_TAKER_MS,
      note: `${native.killed} ms${kcl ? `, kcl ${kcl.killed} ms` : ''}`,
    }),
    row({
      group: 'failover',
      name: `native: graceful close -> first record on the other worker (${same})`,
      value: x(native.closed),
      unit: 'x failoverTimeMs',
      ...(kcl ? { baseline: x(kcl.closed), baselineName: 'kcl engine (the Java KCL does not release leases on shutdown)' } : {}),
      target: `< one taker interval = ${x(DERIVED_TAKER_MS).toFixed(2)}`,
      met: native.closed < DERIVED_TAKER_MS,
      note: `${native.closed} ms${kcl ? `, kcl ${kcl.closed} ms` : ''}`,
    }),
    row({
      group: 'failover',
      name: `native, fast taker: kill -9 -> first record on the survivor (failoverTimeMs ${FAILOVER_MS}, leaseTakerIntervalMs ${FAST_TAKER_MS})`,
      value: x(fast.killed),
      unit: 'x failoverTimeMs',
      baseline: x(native.killed),
      baselineName: 'native, derived taker',
      target: `< 2 x failover + taker = ${x(2 * FAILOVER_MS + FAST_TAKER_MS).toFixed(2)}`,
      met: fast.killed < 2 * FAILOVER_MS + FAST_TAKER_MS,
      note: `${fast.killed} ms`,
    }),
    row({
      group: 'failover',
      name: `native, fast taker: graceful close -> first record on the other worker (leaseTakerIntervalMs ${FAST_TAKER_MS})`,
      value: x(fast.closed),
      unit: 'x failoverTimeMs',
      baseline: x(native.closed),
      baselineName: 'native, derived taker',
      target: `< one taker interval = ${x(FAST_TAKER_MS).toFixed(2)}`,
      met: fast.closed < FAST_TAKER_MS,
      note: `${fast.closed} ms`,
    }),
  ];
  return rows;
}
