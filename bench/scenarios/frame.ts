import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { stopChild } from '../lib/child';
import { newestProfile, topFrames } from '../lib/cpu-profile-top';
import { READ_LIMITS } from '../lib/shard-model';
import { dynaliteChild, measureOnLimitedEndpoint, runFrameWorker } from '../lib/setup';
import { row, type BenchRow } from '../lib/stats';

const MB = 1048576;
const SHARD_COUNTS = (process.env.BENCH_FRAME_SHARDS ?? '16,32,64').split(',').map(Number);
const MEASURE_MS = Number(process.env.BENCH_FRAME_MS ?? 15_000);
const WARMUP_MS = Number(process.env.BENCH_FRAME_WARMUP_MS ?? 5_000);
/** The measuring window of every limited-endpoint row (frame, wire format, Java peer): warm-up, then measure. */
export const FRAME_WINDOW = { warmupMs: WARMUP_MS, measureMs: MEASURE_MS } as const;
const RECORD_SIZES = [1024, 25 * 1024];

/**
 * The physical frame: every shard fed at the read limit (2 MB/s), one consumer process that
 * checkpoints every batch against dynalite. The baselines are the limit itself and the bare SDK loop
 * against the same limited endpoint.
 */
export async function frameBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dynamo = await dynaliteChild();
  try {
    for (const recordBytes of RECORD_SIZES) {
      for (const shards of SHARD_COUNTS) {
        const size = recordBytes === 1024 ? '1 KB' : '25 KB';
        const engine = await measureFrame(shards, recordBytes, 'engine', dynamo.endpoint);
        const bare = await measureFrame(shards, recordBytes, 'bare', dynamo.endpoint);
        const limit = (shards * READ_LIMITS.bytesPerSecond) / MB;
        const label = `${shards} shards x 2 MB/s, ${size} records`;
        const fraction = engine.mbPerSec / limit;
        rows.push(
          row({
            group: 'frame',
            name: `${label}: delivered MB/s (native, checkpoint per batch)`,
            value: engine.mbPerSec,
            unit: 'MB/s',
            baseline: limit,
            baselineName: 'the read limit',
            target: '>= 0.95 x limit, millisBehindLatest bounded',
            met: fraction >= 0.95 && engine.lagMs <= 5000,
            note: `bare SDK loop ${(bare.mbPerSec / limit).toFixed(2)} x limit; CPU in cores: consumer ${engine.consumerCores.toFixed(2)}, endpoint ${engine.serverCores.toFixed(2)}${engine.profile ? `; top frames: ${engine.profile.join('; ')}` : ''}`,
          }),
          row({
            group: 'frame',
            name: `${label}: native / bare SDK loop, MB/s`,
            value: engine.mbPerSec,
            unit: 'MB/s',
            baseline: bare.mbPerSec,
            baselineName: 'bare SDK loop, same endpoint',
          }),
          row({
            group: 'frame',
            name: `${label}: millisBehindLatest at the end (slowest shard)`,
            value: engine.lagMs,
            unit: 'ms',
            baseline: bare.lagMs,
            baselineName: 'bare SDK loop',
            target: '<= 5000 ms',
            met: engine.lagMs <= 5000,
            note: `from the reader's position on the endpoint; last batch said ${engine.report.millisBehindLatestAtEnd} ms`,
          }),
          row({
            group: 'frame',
            name: `${label}: throttles per minute`,
            value: engine.throttlesPerMinute,
            unit: '/min',
            baseline: bare.throttlesPerMinute,
            baselineName: 'bare SDK loop',
            note: `of which a 6th call in a sliding second: native ${engine.callThrottlesPerMinute.toFixed(0)}/min, bare ${bare.callThrottlesPerMinute.toFixed(0)}/min; the rest over the 2 MB/s byte budget`,
          }),
          row({
            group: 'frame',
            name: `${label}: CPU per MB`,
            value: engine.cpuMsPerMb,
            unit: 'ms',
            baseline: bare.cpuMsPerMb,
            baselineName: 'bare SDK loop (no checkpoints)',
          }),
          row({
            group: 'frame',
            name: `${label}: PSS`,
            value: engine.report.atEnd.pssMb,
            unit: 'MB',
            baseline: bare.report.atEnd.pssMb,
            baselineName: 'bare SDK loop',
          }),
        );
      }
    }
  } finally {
    await stopChild(dynamo.child);
  }
  return rows;
}

const WIRE_SHARDS = Number(process.env.BENCH_WIRE_SHARDS ?? 16);

/**
 * GetRecords in JSON and in CBOR (retrieval.wireFormat), side by side in one run, against the same
 * synthetic endpoint answering each in its format as real Kinesis does (CBOR: Data a byte string,
 * timestamps tag 1): at the read limit (16 shards x 2 MB/s, 1 KB records, checkpoint per batch), where
 * both deliver the limit and the CPU per MB tells them apart, and unpaced (a backlog without limits),
 * where the delivered MB/s does. The two formats alternate, JSON first, each on a fresh endpoint.
 */
export async function wireFormatBenchmarks(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dynamo = await dynaliteChild();
  try {
    for (const paced of [true, false]) {
      const json = await measureFrame(WIRE_SHARDS, 1024, 'engine', dynamo.endpoint, { wireFormat: 'json', paced });
      const cbor = await measureFrame(WIRE_SHARDS, 1024, 'engine', dynamo.endpoint, { wireFormat: 'cbor', paced });
      const label = `${WIRE_SHARDS} shards, 1 KB records, ${paced ? 'at the read limit (2 MB/s per shard)' : 'unpaced backlog'}, checkpoint per batch`;
      const cores = (m: typeof json) => `consumer ${m.consumerCores.toFixed(2)}, endpoint ${m.serverCores.toFixed(2)}`;
      rows.push(
        row({
          group: 'wire format',
          name: `${label}: delivered MB/s, CBOR / JSON`,
          value: cbor.mbPerSec,
          unit: 'MB/s',
          baseline: json.mbPerSec,
          baselineName: 'JSON, same endpoint',
          note: `CPU in cores: CBOR ${cores(cbor)}; JSON ${cores(json)}`,
        }),
        row({
          group: 'wire format',
          name: `${label}: CPU per MB, CBOR / JSON`,
          value: cbor.cpuMsPerMb,
          unit: 'ms',
          baseline: json.cpuMsPerMb,
          baselineName: 'JSON',
        }),
        // Unpaced, the backlog has no end: every reader is minutes behind, by design.
        ...(paced
          ? [
              row({
                group: 'wire format',
                name: `${label}: millisBehindLatest at the end (slowest shard), CBOR / JSON`,
                value: cbor.lagMs,
                unit: 'ms',
                baseline: json.lagMs,
                baselineName: 'JSON',
              }),
            ]
          : []),
        row({
          group: 'wire format',
          name: `${label}: PSS, CBOR / JSON`,
          value: cbor.report.atEnd.pssMb,
          unit: 'MB',
          baseline: json.report.atEnd.pssMb,
          baselineName: 'JSON',
        }),
      );
    }
  } finally {
    await stopChild(dynamo.child);
  }
  return rows;
}

/**
 * One consumer (the native engine or the bare SDK loop, in bench/lib/frame-worker.ts) against a fresh
 * limited endpoint, through measureOnLimitedEndpoint (as the Java peer rows measure the Java KCL). With
 * BENCH_FRAME_PROFILE=1 the native engine's runs at the largest shard count write a CPU profile to
 * bench/results/profiles, and its top frames go in the note (`profile: false`: never). The frame reads with
 * idleTimeBetweenReadsMs 0 (the Java peer rows pass the Java KCL's).
 */
export async function measureFrame(
  shards: number,
  recordBytes: number,
  mode: 'engine' | 'bare',
  dynamodbEndpoint: string,
  {
    wireFormat,
    paced = true,
    profile = true,
    idleTimeBetweenReadsMs = 0,
  }: { wireFormat?: 'json' | 'cbor'; paced?: boolean; profile?: boolean; idleTimeBetweenReadsMs?: number } = {},
) {
  const profileDir =
    profile && process.env.BENCH_FRAME_PROFILE === '1' && mode === 'engine' && !wireFormat && shards === Math.max(...SHARD_COUNTS)
      ? join(__dirname, '..', 'results', 'profiles')
      : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const streamName = 'frame';
  const measured = await measureOnLimitedEndpoint(
    {
      streamName,
      shards,
      recordBytes,
      producedBytesPerSecond: paced ? READ_LIMITS.bytesPerSecond : null,
      enforceLimits: paced,
      listShardsPageSize: 10,
    },
    (kinesisEndpoint, onWindow) =>
      runFrameWorker(
        {
          mode,
          kinesisEndpoint,
          dynamodbEndpoint,
          streamName,
          shards,
          idleTimeBetweenReadsMs,
          checkpoint: true,
          latencies: false,
          warmupMs: WARMUP_MS,
          measureMs: MEASURE_MS,
          initialPosition: paced ? 'LATEST' : 'TRIM_HORIZON',
          ...(wireFormat ? { wireFormat } : {}),
        },
        onWindow,
        profileDir,
      ),
  );
  const newest = profileDir && newestProfile(profileDir);
  return { ...measured, profile: newest ? topFrames(newest, 5) : undefined };
}
