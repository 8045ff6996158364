import { stopChild } from '../lib/child';
import type { FrameReport } from '../lib/frame-worker';
import { dynaliteChild, limitedKinesis, runFrameWorker } from '../lib/setup';
import { row, type BenchRow } from '../lib/stats';
import { leastSquares } from '../lib/trend';

const MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 5);
const SHARDS = 16;
const RECORD_BYTES = 1024;
/** Per shard: a steady quarter of the read limit, 4 MB/s over the 16 shards. */
const BYTES_PER_SECOND = 256 * 1024;
/** The baseline's window: long enough for a stable event-loop delay, short enough to keep the run reasonable. */
const BASELINE_MS = Math.min(30_000, MINUTES * 12_000);
/** Heap (after a GC) and RSS every this often over the window: 21 samples in 5 minutes. */
const SAMPLE_EVERY_MS = 15_000;
/**
 * A trend counts as growth when the slope adds more over the window than twice the samples' scatter
 * around it, or than this floor where the scatter is tiny (allocator and GC granularity).
 */
const GROWTH_FLOOR_MB = { heap: 1, rss: 5 };

/**
 * Soak: MINUTES at a steady rate on 16 shards with the default idle time, checkpointing every batch.
 * Heap (after a GC) and RSS every SAMPLE_EVERY_MS, and their least-squares slope in MB/min against the
 * noise of the same samples (no growth beyond noise), and the event-loop delay p99 while processing,
 * against the bare SDK loop at the same rate.
 */
export async function soakBenchmarks(): Promise<BenchRow[]> {
  const dynamo = await dynaliteChild();
  try {
    const engine = await soak('engine', dynamo.endpoint, MINUTES * 60_000);
    const bare = await soak('bare', dynamo.endpoint, BASELINE_MS);
    const label = `${SHARDS} shards, ${BYTES_PER_SECOND / 1024} KB/s each, ${MINUTES} min`;
    return [
      trendRow(engine, label, 'heap', 'heap used after GC'),
      trendRow(engine, label, 'rss', 'RSS'),
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
  const server = await limitedKinesis({
    streamName: 'soak',
    shards: SHARDS,
    recordBytes: RECORD_BYTES,
    producedBytesPerSecond: BYTES_PER_SECOND,
    enforceLimits: true,
    listShardsPageSize: 10,
  });
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
      ...(mode === 'engine' ? { sampleEveryMs: SAMPLE_EVERY_MS } : {}),
    });
  } finally {
    await stopChild(server.child);
  }
}

/** One memory measure's least-squares slope over the window, with the noise bound from the same samples as its baseline. */
function trendRow(report: FrameReport, label: string, measure: 'heap' | 'rss', what: string): BenchRow {
  const points = report.samples.map((sample) => ({ x: sample.atMs / 60_000, y: measure === 'heap' ? sample.heapUsedMb : sample.rssMb }));
  const trend = leastSquares(points);
  // The series itself, for reading its shape (a line, or a rise that levels off), on stderr.
  console.error(`soak ${measure} (MB at minute): ${points.map((p) => `${p.y.toFixed(1)}@${p.x.toFixed(1)}`).join(' ')}`);
  const minutes = report.ms / 60_000;
  const noiseMb = Math.max(GROWTH_FLOOR_MB[measure], 2 * trend.residualSd);
  const first = points[0].y;
  const last = points.at(-1)!.y;
  return row({
    group: 'soak',
    name: `${label}: ${what}, least-squares slope over ${points.length} samples`,
    value: trend.slope,
    unit: 'MB/min',
    baseline: noiseMb / minutes,
    baselineName: `noise: max(${GROWTH_FLOOR_MB[measure]} MB, 2 x residual SD ${trend.residualSd.toFixed(2)} MB) over ${minutes.toFixed(1)} min`,
    target: 'slope x window <= noise (no growth beyond noise)',
    met: trend.slope * minutes <= noiseMb,
    note: `first ${first.toFixed(1)} MB, last ${last.toFixed(1)} MB, min ${Math.min(...points.map((p) => p.y)).toFixed(1)}, max ${Math.max(...points.map((p) => p.y)).toFixed(1)}`,
  });
}
