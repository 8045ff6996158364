import { randomBytes } from 'node:crypto';
import { createWorker } from '../../lib';
import { createStream, putRecords, type LocalEmulators } from '../../lib/testing';
import { bareLoop } from '../lib/bare-loop';
import { kinesisClientFor, quietLogger } from '../lib/setup';
import { percentile, row, type BenchRow } from '../lib/stats';

const PUT_INTERVAL_MS = 100;
const PER_PUT = 5;
const DURATION_MS = Number(process.env.BENCH_LATENCY_MS ?? 10_000);

/** Puts records stamped with the time PutRecords was called, at a fixed rate, for DURATION_MS. */
async function produce(emulators: LocalEmulators, stream: string): Promise<void> {
  const kinesis = kinesisClientFor(emulators.kinesis.endpoint);
  const end = Date.now() + DURATION_MS;
  let n = 0;
  while (Date.now() < end) {
    const next = Date.now() + PUT_INTERVAL_MS;
    const stamp = String(Date.now());
    await putRecords(
      kinesis,
      stream,
      Array.from({ length: PER_PUT }, () => ({ partitionKey: `pk-${n++}`, data: stamp })),
    );
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
  }
  kinesis.destroy();
}

/** Kinesis allows 5 GetRecords per second per shard: both consumers keep to it unless a row says unpaced. */
const PACED_PER_SECOND = 5;
/** What the unpaced rows set (kinesis-local does not limit calls; real Kinesis would throttle this). */
const UNPACED_PER_SECOND = 1000;

interface Setting {
  readonly idleMs: number;
  readonly paced: boolean;
}

async function engineLatencies(emulators: LocalEmulators, { idleMs, paced }: Setting): Promise<number[]> {
  const stream = `bench-lat-${randomBytes(3).toString('hex')}`;
  const kinesis = kinesisClientFor(emulators.kinesis.endpoint);
  await createStream(kinesis, stream, 2);
  kinesis.destroy();
  const latencies: number[] = [];
  let initialized = 0;
  const worker = createWorker(
    {
      appName: `bench-${randomBytes(3).toString('hex')}`,
      streamName: stream,
      ...emulators.workerOptions,
      idleTimeBetweenReadsMs: idleMs,
      maxGetRecordsPerSecond: paced ? PACED_PER_SECOND : UNPACED_PER_SECOND,
      initialPosition: 'LATEST',
      logger: quietLogger,
    },
    () => ({
      initialize: () => void initialized++,
      processRecords: ({ records }) => {
        const now = Date.now();
        for (const record of records) latencies.push(now - Number(record.data.toString()));
      },
    }),
  );
  await worker.start();
  while (initialized < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, idleMs + 1500)); // both readers hold a LATEST iterator, even on a busy machine
  await produce(emulators, stream);
  await new Promise((resolve) => setTimeout(resolve, idleMs + 1000));
  await worker.stop();
  return latencies;
}

async function bareLatencies(emulators: LocalEmulators, { idleMs, paced }: Setting): Promise<number[]> {
  const stream = `bench-lat-${randomBytes(3).toString('hex')}`;
  const kinesis = kinesisClientFor(emulators.kinesis.endpoint);
  await createStream(kinesis, stream, 2);
  const latencies: number[] = [];
  let done = false;
  const loop = bareLoop(kinesis, stream, {
    maxRecords: 10_000,
    idleMs,
    // Paced as the engine paces: one interval from each answer.
    ...(paced ? { minIntervalMs: 1000 / PACED_PER_SECOND, spaceFrom: 'answer' as const } : {}),
    onRecords: (records) => {
      const now = Date.now();
      for (const record of records) latencies.push(now - Number(Buffer.from(record.Data!).toString()));
    },
    until: () => done,
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await produce(emulators, stream);
  await new Promise((resolve) => setTimeout(resolve, idleMs + 1000));
  done = true;
  await loop;
  kinesis.destroy();
  return latencies;
}

/** The margin over the bare loop's p50: the engine's own hop (processor call, bookkeeping) on a loaded machine. */
const MARGIN_MS = 50;

/**
 * 3.: PutRecords to processRecords at a fixed put rate, at the KCL's default idle time and at the
 * minimum, both consumers paced at Kinesis' 5 GetRecords per second per shard (counted from each answer,
 * the engine's rule); and idle 0 unpaced, both consumers, labelled as such (real Kinesis would throttle it).
 * At idle 0 the target is relative: the engine's p50 within MARGIN_MS of the bare loop's at the same
 * setting. At idle 1500 it is one idle time + MARGIN_MS (the phase of the few read cycles dominates).
 */
export async function latencyBenchmarks(emulators: LocalEmulators): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const settings: Setting[] = [
    { idleMs: 1500, paced: true },
    { idleMs: 0, paced: true },
    { idleMs: 0, paced: false },
  ];
  for (const setting of settings) {
    const bare = await bareLatencies(emulators, setting);
    const engine = await engineLatencies(emulators, setting);
    const pacing = setting.paced ? `paced ${PACED_PER_SECOND}/s per shard` : `unpaced, maxGetRecordsPerSecond ${UNPACED_PER_SECOND}`;
    for (const p of [50, 99]) {
      const value = percentile(engine, p);
      const baseline = percentile(bare, p);
      // At idle 1500 a record waits for the next read cycle, and where the puts fall in those few cycles
      // of a 10 s window moves p50 by +-100 ms from run to run: there the bound is one idle time + 50 ms.
      const relative = setting.idleMs === 0;
      const bound = relative ? baseline + MARGIN_MS : setting.idleMs + MARGIN_MS;
      rows.push(
        row({
          group: 'latency',
          name: `p${p} put -> processRecords, idle ${setting.idleMs} ms, ${pacing} (${engine.length} records, ${(PER_PUT * 1000) / PUT_INTERVAL_MS}/s)`,
          value,
          unit: 'ms',
          baseline,
          baselineName: `bare SDK loop, same idle, ${setting.paced ? 'same pacing' : 'unpaced'}`,
          target: p === 50 ? (relative ? `<= bare p50 + ${MARGIN_MS} = ${bound} ms` : `<= idle + ${MARGIN_MS} = ${bound} ms`) : undefined,
          met: p === 50 ? value <= bound : undefined,
        }),
      );
    }
  }
  return rows;
}
