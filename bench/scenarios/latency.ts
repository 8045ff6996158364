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
    await putRecords(kinesis, stream, Array.from({ length: PER_PUT }, () => ({ partitionKey: `pk-${n++}`, data: stamp })));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
  }
  kinesis.destroy();
}

async function engineLatencies(emulators: LocalEmulators, idleMs: number): Promise<number[]> {
  const stream = `bench-lat-${randomBytes(3).toString('hex')}`;
  const kinesis = kinesisClientFor(emulators.kinesis.endpoint);
  await createStream(kinesis, stream, 2);
  kinesis.destroy();
  const latencies: number[] = [];
  let initialized = 0;
  const worker = createWorker(
    { appName: `bench-${randomBytes(3).toString('hex')}`, streamName: stream, ...emulators.workerOptions, idleTimeBetweenReadsMs: idleMs, initialPosition: 'LATEST', logger: quietLogger },
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

async function bareLatencies(emulators: LocalEmulators, idleMs: number): Promise<number[]> {
  const stream = `bench-lat-${randomBytes(3).toString('hex')}`;
  const kinesis = kinesisClientFor(emulators.kinesis.endpoint);
  await createStream(kinesis, stream, 2);
  const latencies: number[] = [];
  let done = false;
  const loop = bareLoop(kinesis, stream, {
    maxRecords: 10_000,
    idleMs,
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

/** 3.: PutRecords to processRecords at a fixed put rate, at the KCL's default idle time and at the minimum. */
export async function latencyBenchmarks(emulators: LocalEmulators): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const idleMs of [1500, 0]) {
    const bare = await bareLatencies(emulators, idleMs);
    const engine = await engineLatencies(emulators, idleMs);
    for (const p of [50, 99]) {
      const value = percentile(engine, p);
      rows.push(
        row({
          group: 'latency',
          name: `p${p} put -> processRecords, idle ${idleMs} ms (${engine.length} records, ${(PER_PUT * 1000) / PUT_INTERVAL_MS}/s)`,
          value,
          unit: 'ms',
          baseline: percentile(bare, p),
          baselineName: 'bare SDK loop, same idle',
          target: p === 50 ? `<= ${idleMs + 50} ms` : undefined,
          met: p === 50 ? value <= idleMs + 50 : undefined,
        }),
      );
    }
  }
  return rows;
}
