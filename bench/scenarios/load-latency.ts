import { stopChild } from '../lib/child';
import { dynaliteChild, limitedKinesis, runFrameWorker } from '../lib/setup';
import { percentile, row, type BenchRow } from '../lib/stats';

const SHARDS = 4;
const RECORDS_PER_SECOND = 1000;
const RECORD_BYTES = 100;
const MEASURE_MS = Number(process.env.BENCH_LOAD_LATENCY_MS ?? 15_000);

/**
 * Latency under load: from a record's arrival (the synthetic endpoint stamps the moment it materialises,
 * as Kinesis stamps ApproximateArrivalTimestamp at the put) to processRecords, at 1,000 records/s on 4
 * limited shards, with idle 0 and the default 1500 ms; baseline the bare SDK loop at the same idle.
 * kinesis-local takes only ~300-400 puts/s, hence the synthetic endpoint.
 */
export async function loadLatencyBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dynamo = await dynaliteChild();
  try {
    for (const idleMs of [0, 1500]) {
      const engine = await latencies('engine', idleMs, dynamo.endpoint);
      const bare = await latencies('bare', idleMs, dynamo.endpoint);
      for (const p of [50, 99]) {
        const value = percentile(engine.latencies, p);
        // One GetRecords per 200 ms at most (5 per second), then the idle time when caught up.
        const bound = idleMs + 200 + 50;
        rows.push(
          row({
            group: 'latency under load',
            name: `p${p} arrival -> processRecords, ${RECORDS_PER_SECOND} rec/s on ${SHARDS} shards, idle ${idleMs} ms (${engine.latencies.length} records)`,
            value,
            unit: 'ms',
            baseline: percentile(bare.latencies, p),
            baselineName: 'bare SDK loop, same idle and pacing',
            target: p === 50 ? `<= idle + 200 ms pacing + 50 = ${bound} ms` : undefined,
            met: p === 50 ? value <= bound : undefined,
            note:
              p === 99
                ? `throttled GetRecords over the whole run (6th call in a sliding second / all): native ${engine.callThrottles}/${engine.throttles} of ${engine.calls} calls, bare loop (200 ms from each send) ${bare.callThrottles}/${bare.throttles} of ${bare.calls}`
                : undefined,
          }),
        );
      }
    }
  } finally {
    await stopChild(dynamo.child);
  }
  return rows;
}

async function latencies(mode: 'engine' | 'bare', idleMs: number, dynamodbEndpoint: string) {
  const server = await limitedKinesis({
    streamName: 'latency',
    shards: SHARDS,
    recordBytes: RECORD_BYTES,
    producedBytesPerSecond: (RECORDS_PER_SECOND / SHARDS) * RECORD_BYTES,
    enforceLimits: true,
  });
  try {
    const report = await runFrameWorker({
      mode,
      kinesisEndpoint: server.endpoint,
      dynamodbEndpoint,
      streamName: 'latency',
      shards: SHARDS,
      idleTimeBetweenReadsMs: idleMs,
      checkpoint: false,
      latencies: true,
      warmupMs: 3000,
      measureMs: MEASURE_MS,
      initialPosition: 'LATEST',
    });
    const { throttles, callThrottles, getRecordsCalls } = await server.stats();
    return { latencies: report.latenciesMs, throttles, callThrottles, calls: getRecordsCalls };
  } finally {
    await stopChild(server.child);
  }
}
