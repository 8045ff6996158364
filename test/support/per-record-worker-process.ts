/**
 * A real worker process with a processRecord processor (concurrency e2e): random latency per record,
 * and a JSONL line per record started and finished, written synchronously so that a kill -9 loses
 * nothing it wrote. Order per key is watched in the process; each violation is a line too.
 * Configured by one JSON argument; SIGTERM stops it gracefully.
 */
import { appendFileSync } from 'node:fs';
import { createWorker, type StreamWorkerOptions } from '../../lib/standalone';
import { KeyOrderWatch } from './key-order';

export interface PerRecordWorkerConfig {
  readonly options: Omit<StreamWorkerOptions, 'logger' | 'onEvent'>;
  readonly eventsFile: string;
  /** Each record waits a random time up to this, to keep many in flight. */
  readonly maxLatencyMs: number;
}

export type PerRecordWorkerEvent =
  | { kind: 'start' | 'done'; worker: string; shardId: string; key: string; seq: string; sub: number }
  | { kind: 'violation'; worker: string; what: string }
  | { kind: 'log'; worker: string; level: string; message: string }
  | { kind: 'started' | 'stopped'; worker: string };

function main() {
  const config = JSON.parse(process.argv[2]) as PerRecordWorkerConfig;
  const worker = config.options.workerId!;
  const write = (event: PerRecordWorkerEvent) => appendFileSync(config.eventsFile, `${JSON.stringify(event)}\n`);
  const log = (level: string) => (message: string) => write({ kind: 'log', worker, level, message });
  const watch = new KeyOrderWatch();
  const kinesisWorker = createWorker(
    { ...config.options, logger: { log: log('log'), warn: log('warn'), error: log('error') } },
    ({ shardId }) => ({
      processRecord: async (record) => {
        const line = { worker, shardId, key: record.partitionKey, seq: record.sequenceNumber, sub: record.subSequenceNumber ?? 0 };
        const before = watch.violations.length;
        watch.started(record);
        for (const what of watch.violations.slice(before)) write({ kind: 'violation', worker, what });
        write({ kind: 'start', ...line });
        await new Promise((resolve) => setTimeout(resolve, Math.random() * config.maxLatencyMs));
        write({ kind: 'done', ...line });
        watch.finished(record);
      },
    }),
  );
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    void kinesisWorker.stop().then(() => {
      write({ kind: 'stopped', worker });
      process.exit(0);
    });
  });
  kinesisWorker.start().then(
    () => write({ kind: 'started', worker }),
    (error) => {
      write({ kind: 'log', worker, level: 'error', message: `start failed: ${error}` });
      process.exit(2);
    },
  );
}

main();
