/**
 * In-process workers for the leases- and partition- suites: createWorker with a processor that records
 * the same events as test/support/worker-process.ts (so test/support/verifier.ts reads them), a
 * capturing logger, and the lease events.
 */
import { createWorker, type KinesisRecordProcessor, type KinesisWorker, type KinesisWorkerOptions } from '../../lib';
import { workerClientOptions } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import type { WorkerFileEvent } from '../support/worker-process';
import { FAST_INTERVALS } from '../support/worker-fleet';

export interface RecordedWorker {
  readonly worker: KinesisWorker;
  readonly logger: CapturingLogger;
  readonly workerId: string;
}

export interface RecordingOptions {
  readonly streamName: string;
  readonly appName: string;
  readonly workerId: string;
  /** Shared by the workers of one test, in the order things happened. */
  readonly events: WorkerFileEvent[];
  readonly options?: Partial<KinesisWorkerOptions>;
  /** Runs inside processRecords before the batch is recorded (to slow it down or hang it). */
  readonly beforeBatch?: (shardId: string) => Promise<void> | void;
}

export function recordingWorker({ streamName, appName, workerId, events, options = {}, beforeBatch }: RecordingOptions): RecordedWorker {
  const logger = new CapturingLogger();
  const worker = createWorker(
    {
      ...workerClientOptions(),
      ...FAST_INTERVALS,
      ...options,
      appName,
      streamName,
      workerId,
      logger,
      onEvent: (event) => void events.push({ kind: 'event', worker: workerId, at: Date.now(), event: { ...event } }),
    },
    ({ shardId }): KinesisRecordProcessor => ({
      initialize: ({ checkpoint }) =>
        void events.push({ kind: 'initialize', worker: workerId, shardId, checkpoint: checkpoint.sequenceNumber, at: Date.now() }),
      processRecords: async ({ records, checkpointer }) => {
        const start = Date.now();
        await beforeBatch?.(shardId);
        events.push({
          kind: 'batch',
          worker: workerId,
          shardId,
          start,
          end: Date.now(),
          records: records.map((r) => ({ seq: r.sequenceNumber, data: r.data.toString() })),
        });
        try {
          await checkpointer.checkpoint();
          events.push({ kind: 'checkpointed', worker: workerId, shardId, seq: records.at(-1)!.sequenceNumber, at: Date.now() });
        } catch (error) {
          events.push({ kind: 'checkpointFailed', worker: workerId, shardId, error: (error as Error).name, at: Date.now() });
          throw error;
        }
      },
      shutdown: async ({ reason, checkpointer }) => {
        events.push({ kind: 'shutdown', worker: workerId, shardId, reason, at: Date.now() });
        if (reason === 'TERMINATE') await checkpointer!.checkpoint();
      },
    }),
  );
  return { worker, logger, workerId };
}

export const leaseEvents = (events: readonly WorkerFileEvent[], type: string, worker?: string) =>
  events.filter(
    (e): e is Extract<WorkerFileEvent, { kind: 'event' }> =>
      e.kind === 'event' && e.event.type === type && (worker === undefined || e.worker === worker),
  );

/**
 * The events without the repeats of a batch whose processRecords failed (here: its checkpoint could not
 * reach DynamoDB). The engine delivers a failed batch again, as documented (processingRetry); the
 * verifier's order check counts that as going back, so the repeats are taken out before it.
 */
export function withoutRetries(events: readonly WorkerFileEvent[]): WorkerFileEvent[] {
  const lastBatch = new Map<string, string>();
  return events.filter((e) => {
    if (e.kind === 'initialize') lastBatch.delete(`${e.worker}/${e.shardId}`);
    if (e.kind !== 'batch') return true;
    const key = `${e.worker}/${e.shardId}`;
    const seqs = e.records.map((r) => r.seq).join();
    const repeat = lastBatch.get(key) === seqs;
    lastBatch.set(key, seqs);
    return !repeat;
  });
}
