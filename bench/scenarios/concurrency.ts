import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createWorker, type KinesisPerRecordProcessor } from '../../lib/standalone';
import type { LocalEmulators } from '../../lib/testing';
import { KeyOrderWatch } from '../../test/support/key-order';
import { stopChild } from '../lib/child';
import { limitedKinesis, quietLogger } from '../lib/setup';
import { row, type BenchRow } from '../lib/stats';

const SHARDS = 4;
const PARTITION_KEYS = 1_000;
const IO_MS = 20;
const LEVELS = [1, 8, 32, 128];
/** The measuring window per level, once every shard delivered a record; BENCH_CONCURRENCY_MS overrides it. */
const WINDOW_MS = Number(process.env.BENCH_CONCURRENCY_MS ?? 8_000);

interface Level {
  readonly concurrency: number;
  readonly recordsPerSecond: number;
  readonly delivered: number;
  readonly violations: readonly string[];
}

/**
 * processRecord awaiting 20 ms of simulated I/O per record, 4 shards, 1,000 partition keys, against a
 * backlog without end on the synthetic endpoint (no read limits: the handler is what is measured), at
 * concurrency.maxInFlightPerShard 1, 8, 32 and 128 one after the other in the same run. Order per key is
 * checked on every record delivered. Checkpoints go to dynalite, one per batch once all of it finished.
 */
export async function concurrencyBenchmarks(emulators: LocalEmulators): Promise<BenchRow[]> {
  const streamName = 'concurrency';
  const server = await limitedKinesis({
    streamName,
    shards: SHARDS,
    recordBytes: 100,
    producedBytesPerSecond: null,
    enforceLimits: false,
    partitionKeys: PARTITION_KEYS,
  });
  const levels: Level[] = [];
  try {
    for (const concurrency of LEVELS) levels.push(await measure(emulators, server.endpoint, streamName, concurrency));
  } finally {
    await stopChild(server.child);
  }
  const base = levels[0];
  return levels.map((level) =>
    row({
      group: 'concurrency',
      name: `processRecord, ${IO_MS} ms I/O, ${SHARDS} shards, ${PARTITION_KEYS} keys: maxInFlightPerShard ${level.concurrency}`,
      value: level.recordsPerSecond,
      unit: 'records/s',
      baseline: base.recordsPerSecond,
      baselineName: 'maxInFlightPerShard 1',
      ...(level.concurrency === 32 ? { target: '>= 20x', met: level.recordsPerSecond >= 20 * base.recordsPerSecond } : {}),
      note:
        `${level.delivered} records in ${WINDOW_MS} ms; order per key ` +
        (level.violations.length === 0 ? 'kept on every record' : `VIOLATED ${level.violations.length} times, e.g. ${level.violations[0]}`),
    }),
  );
}

async function measure(emulators: LocalEmulators, endpoint: string, streamName: string, concurrency: number): Promise<Level> {
  const watch = new KeyOrderWatch();
  const shardsSeen = new Set<string>();
  let finished = 0;
  let windowStart: { at: number; finished: number } | undefined;
  const processor = ({ shardId }: { shardId: string }): KinesisPerRecordProcessor => ({
    processRecord: async (record) => {
      watch.started(record);
      await new Promise((resolve) => setTimeout(resolve, IO_MS));
      watch.finished(record);
      finished++;
      if (!shardsSeen.has(shardId)) {
        shardsSeen.add(shardId);
        // The window opens once every shard delivered: lease taking is not what is measured.
        if (shardsSeen.size === SHARDS) windowStart = { at: performance.now(), finished };
      }
    },
  });
  const worker = createWorker(
    {
      ...emulators.workerOptions,
      kinesis: { ...emulators.workerOptions.kinesis, endpoint },
      appName: `bench-concurrency-${concurrency}-${randomBytes(3).toString('hex')}`,
      streamName,
      idleTimeBetweenReadsMs: 0,
      maxGetRecordsPerSecond: 1000,
      concurrency: { maxInFlightPerShard: concurrency, ordering: 'partitionKey' },
      logger: quietLogger,
    },
    processor,
  );
  await worker.start();
  try {
    while (!windowStart) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
    const delivered = finished - windowStart.finished;
    const seconds = (performance.now() - windowStart.at) / 1000;
    return { concurrency, recordsPerSecond: delivered / seconds, delivered, violations: [...watch.violations] };
  } finally {
    await worker.stop();
  }
}
