/**
 * A real worker process for the multi-worker suites: the framework-free createWorker with a processor
 * that appends what it sees to a JSONL file, synchronously, so a kill -9 loses nothing it wrote.
 * Configured by one JSON argument; SIGTERM stops it gracefully.
 */
import { appendFileSync } from 'node:fs';
// The framework-free entry: a worker process loads nothing from Nest (as a user's would).
import { createWorker, type KinesisRecordProcessor, type KinesisWorkerOptions, type StreamWorkerOptions } from '../../lib/standalone';

export interface WorkerProcessConfig {
  readonly options: Omit<StreamWorkerOptions, 'logger' | 'onEvent'>;
  readonly eventsFile: string;
  /** Milliseconds each batch takes, to widen the window in which a batch is in flight. */
  readonly batchDelayMs?: number;
  /** Leave the SHARD_END checkpoint at TERMINATE to the engine. */
  readonly skipTerminateCheckpoint?: boolean;
}

export type WorkerFileEvent =
  | {
      kind: 'batch';
      worker: string;
      shardId: string;
      stream?: string;
      start: number;
      end: number;
      records: { seq: string; data: string }[];
    }
  | { kind: 'checkpointed'; worker: string; shardId: string; seq: string; at: number }
  | { kind: 'checkpointFailed'; worker: string; shardId: string; error: string; at: number }
  | { kind: 'initialize'; worker: string; shardId: string; stream?: string; checkpoint: string; at: number }
  | { kind: 'shutdown'; worker: string; shardId: string; stream?: string; reason: string; at: number }
  | { kind: 'event'; worker: string; at: number; event: Record<string, unknown> }
  | { kind: 'log'; worker: string; at: number; level: string; message: string }
  | { kind: 'started' | 'stopped'; worker: string; at: number };

function main() {
  const config = JSON.parse(process.argv[2]) as WorkerProcessConfig;
  const worker = config.options.workerId!;
  const write = (event: WorkerFileEvent) => appendFileSync(config.eventsFile, `${JSON.stringify(event)}\n`);
  const log = (level: string) => (message: string) => write({ kind: 'log', worker, at: Date.now(), level, message });
  const options: KinesisWorkerOptions & StreamWorkerOptions = {
    ...config.options,
    logger: { log: log('log'), warn: log('warn'), error: log('error') },
    onEvent: (event) => write({ kind: 'event', worker, at: Date.now(), event: { ...event } }),
  };
  // `stream` tells the shards of a worker of several streams apart (their shard ids repeat).
  const kinesisWorker = createWorker(options, ({ shardId, streamName: stream }): KinesisRecordProcessor => ({
    initialize: ({ checkpoint }) =>
      write({ kind: 'initialize', worker, shardId, stream, checkpoint: checkpoint.sequenceNumber, at: Date.now() }),
    processRecords: async ({ records, checkpointer }) => {
      const start = Date.now();
      if (config.batchDelayMs) await new Promise((resolve) => setTimeout(resolve, config.batchDelayMs));
      write({
        kind: 'batch',
        worker,
        shardId,
        stream,
        start,
        end: Date.now(),
        records: records.map((r) => ({ seq: r.sequenceNumber, data: r.data.toString() })),
      });
      try {
        await checkpointer.checkpoint();
        write({ kind: 'checkpointed', worker, shardId, seq: records.at(-1)!.sequenceNumber, at: Date.now() });
      } catch (error) {
        write({ kind: 'checkpointFailed', worker, shardId, error: (error as Error).name, at: Date.now() });
        throw error;
      }
    },
    shutdown: async ({ reason, checkpointer }) => {
      write({ kind: 'shutdown', worker, shardId, stream, reason, at: Date.now() });
      if (reason === 'TERMINATE' && !config.skipTerminateCheckpoint) await checkpointer!.checkpoint();
    },
  }));
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    void kinesisWorker.stop().then(() => {
      write({ kind: 'stopped', worker, at: Date.now() });
      process.exit(0);
    });
  });
  kinesisWorker.start().then(
    () => write({ kind: 'started', worker, at: Date.now() }),
    (error) => {
      write({ kind: 'log', worker, at: Date.now(), level: 'error', message: `start failed: ${error}` });
      process.exit(2);
    },
  );
}

main();
