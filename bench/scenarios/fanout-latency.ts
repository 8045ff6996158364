import { randomBytes } from 'node:crypto';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createWorker, type RetrievalOptions } from '../../lib';
import { createStream, putRecords, type LocalEmulators } from '../../lib/testing';
import { kinesisClientFor, quietLogger } from '../lib/setup';
import { percentile, row, type BenchRow } from '../lib/stats';

const PUT_INTERVAL_MS = 100;
const PER_PUT = 5;
const DURATION_MS = Number(process.env.BENCH_LATENCY_MS ?? 10_000);

interface Variant {
  readonly name: string;
  readonly idleMs: number;
  readonly retrieval: RetrievalOptions;
}

/** Polling at the KCL's default idle time and at none, and fan-out (kinesis-local serves SubscribeToShard over HTTP/1.1). */
const VARIANTS: readonly Variant[] = [
  { name: 'polling, idle 1500 ms', idleMs: 1500, retrieval: { mode: 'polling' } },
  { name: 'polling, idle 0 ms', idleMs: 0, retrieval: { mode: 'polling' } },
  { name: 'fan-out', idleMs: 1500, retrieval: { mode: 'fanout', requestHandler: new NodeHttpHandler() } },
];

/** Puts records stamped with the time PutRecords was called, at a fixed rate, for DURATION_MS; returns how many. */
async function produce(emulators: LocalEmulators, stream: string): Promise<number> {
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
  return n;
}

/** Every record put must reach processRecords: a latency figure over part of them would hide a loss. */
const DRAIN_TIMEOUT_MS = 20_000;

async function latencies(emulators: LocalEmulators, variant: Variant): Promise<number[]> {
  const stream = `bench-fo-${randomBytes(3).toString('hex')}`;
  const kinesis = kinesisClientFor(emulators.kinesis.endpoint);
  await createStream(kinesis, stream, 2);
  kinesis.destroy();
  const seen: number[] = [];
  let initialized = 0;
  const worker = createWorker(
    {
      appName: `bench-${randomBytes(3).toString('hex')}`,
      streamName: stream,
      ...emulators.workerOptions,
      idleTimeBetweenReadsMs: variant.idleMs,
      retrieval: variant.retrieval,
      initialPosition: 'LATEST',
      logger: quietLogger,
    },
    () => ({
      initialize: () => void initialized++,
      processRecords: ({ records }) => {
        const now = Date.now();
        for (const record of records) seen.push(now - Number(record.data.toString()));
      },
    }),
  );
  await worker.start();
  while (initialized < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, variant.idleMs + 1500)); // every reader is at its LATEST start, even on a busy machine
  const put = await produce(emulators, stream);
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (seen.length < put && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  await worker.stop();
  if (seen.length < put)
    throw new Error(`${variant.name}: ${seen.length} of ${put} records reached processRecords within ${DRAIN_TIMEOUT_MS} ms`);
  return seen;
}

/** put -> processRecords, fan-out beside polling in the same run, same put rate, same emulator. */
export async function fanoutLatencyBenchmarks(emulators: LocalEmulators): Promise<BenchRow[]> {
  const results = new Map<string, number[]>();
  for (const variant of VARIANTS) results.set(variant.name, await latencies(emulators, variant));
  const rows: BenchRow[] = [];
  const baseline = results.get('polling, idle 1500 ms')!;
  for (const variant of VARIANTS) {
    const values = results.get(variant.name)!;
    for (const p of [50, 99]) {
      rows.push(
        row({
          group: 'fanout-latency',
          name: `p${p} put -> processRecords, ${variant.name} (${values.length} records, ${(PER_PUT * 1000) / PUT_INTERVAL_MS}/s, kinesis-local)`,
          value: percentile(values, p),
          unit: 'ms',
          ...(variant.name === 'polling, idle 1500 ms' ? {} : { baseline: percentile(baseline, p), baselineName: 'polling, idle 1500 ms' }),
          note: variant.retrieval.mode === 'fanout' ? 'kinesis-local pushes subscription events once a second' : undefined,
        }),
      );
    }
  }
  return rows;
}
