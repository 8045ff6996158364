import { stopChild } from '../lib/child';
import type { FrameReport } from '../lib/frame-worker';
import { dynaliteChild, limitedKinesis, runFrameWorker } from '../lib/setup';
import { row, type BenchRow } from '../lib/stats';

const MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 5);
const SHARDS = 16;
const RECORD_BYTES = 1024;
/** Per shard: a steady quarter of the read limit, 4 MB/s over the 16 shards. */
const BYTES_PER_SECOND = 256 * 1024;
/** The baseline's window: long enough for a stable event-loop delay, short enough to keep the run reasonable. */
const BASELINE_MS = Math.min(30_000, MINUTES * 12_000);

/**
 * Soak: MINUTES at a steady rate on 16 shards with the default idle time, checkpointing every batch.
 * Heap and RSS after a GC at the start and at the end of the window (no growth beyond noise), and the
 * event-loop delay p99 while processing, against the bare SDK loop at the same rate.
 */
export async function soakBenchmarks(): Promise<BenchRow[]> {
  const dynamo = await dynaliteChild();
  try {
    const engine = await soak('engine', dynamo.endpoint, MINUTES * 60_000);
    const bare = await soak('bare', dynamo.endpoint, BASELINE_MS);
    const label = `${SHARDS} shards, ${BYTES_PER_SECOND / 1024} KB/s each, ${MINUTES} min`;
    const heapGrowth = engine.atEnd.heapUsedMb - engine.atStart.heapUsedMb;
    const rssGrowth = engine.atEnd.rssMb - engine.atStart.rssMb;
    return [
      row({
        group: 'soak',
        name: `${label}: heap used at the end (after GC)`,
        value: engine.atEnd.heapUsedMb,
        unit: 'MB',
        baseline: engine.atStart.heapUsedMb,
        baselineName: 'heap used at the start of the window',
        target: 'growth <= 10% or 5 MB',
        met: heapGrowth <= Math.max(5, engine.atStart.heapUsedMb * 0.1),
      }),
      row({
        group: 'soak',
        name: `${label}: RSS at the end`,
        value: engine.atEnd.rssMb,
        unit: 'MB',
        baseline: engine.atStart.rssMb,
        baselineName: 'RSS at the start of the window',
        target: 'growth <= 10% or 10 MB',
        met: rssGrowth <= Math.max(10, engine.atStart.rssMb * 0.1),
      }),
      row({
        group: 'soak',
        name: `${label}: event-loop delay p99`,
        value: engine.eventLoopDelayP99Ms,
        unit: 'ms',
        baseline: bare.eventLoopDelayP99Ms,
        baselineName: `bare SDK loop, same rate, ${BASELINE_MS / 1000} s`,
        target: '<= 50 ms',
        met: engine.eventLoopDelayP99Ms <= 50,
        note: `max ${engine.eventLoopDelayMaxMs.toFixed(0)} ms`,
      }),
      row({
        group: 'soak',
        name: `${label}: delivered MB/s`,
        value: engine.bytes / 1048576 / (engine.ms / 1000),
        unit: 'MB/s',
        baseline: (SHARDS * BYTES_PER_SECOND) / 1048576,
        baselineName: 'produced',
        target: '>= 0.95 x produced',
        met: engine.bytes / 1048576 / (engine.ms / 1000) >= (0.95 * SHARDS * BYTES_PER_SECOND) / 1048576,
      }),
    ];
  } finally {
    await stopChild(dynamo.child);
  }
}

async function soak(mode: 'engine' | 'bare', dynamodbEndpoint: string, measureMs: number): Promise<FrameReport> {
  const server = await limitedKinesis({ streamName: 'soak', shards: SHARDS, recordBytes: RECORD_BYTES, producedBytesPerSecond: BYTES_PER_SECOND, enforceLimits: true, listShardsPageSize: 10 });
  try {
    return await runFrameWorker({
      mode,
      kinesisEndpoint: server.endpoint,
      dynamodbEndpoint,
      streamName: 'soak',
      shards: SHARDS,
      idleTimeBetweenReadsMs: 1500,
      checkpoint: true,
      latencies: false,
      warmupMs: 10_000,
      measureMs,
      initialPosition: 'LATEST',
    });
  } finally {
    await stopChild(server.child);
  }
}
