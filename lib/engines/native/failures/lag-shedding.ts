import { describeError } from '../../../core/aws-errors';
import { RecordsShedError } from '../../../core/failure-policy-options';
import type { WorkerMetrics } from '../../../core/metrics';
import type { ResolvedWorkerOptions } from '../../../core/options';
import type { KinesisRecord } from '../../../core/record';
import type { ShardCheckpointer } from '../checkpoint/shard-checkpointer';

/** How many records at the head of a batch arrived longer ago than olderThanMs: those are shed, in order, and no record after a young one. */
export function shedPrefix(
  records: readonly Pick<KinesisRecord, 'approximateArrivalTimestamp'>[],
  nowMs: number,
  olderThanMs: number,
): number {
  let count = 0;
  while (count < records.length && nowMs - records[count].approximateArrivalTimestamp.getTime() > olderThanMs) count++;
  return count;
}

/** shed: gone to the destination (or skipped) and stored as done; kept: to be processed; failed: the lease must be given up. */
export type ShedOutcome = 'shed' | 'kept' | 'failed';

export interface LagShedderDeps {
  readonly options: Pick<ResolvedWorkerOptions, 'failurePolicy' | 'onFailedBatch' | 'onFailedRecord' | 'streamName' | 'logger'>;
  readonly metrics: WorkerMetrics;
  readonly shardId: string;
  readonly where: string;
  readonly now?: () => number;
}

/**
 * Lag shedding for one shard (failurePolicy.shedRecordsOlderThanMs, docs/failures.md): records read that
 * are older than the limit are not processed; they go to the destination (onFailedBatch for batches,
 * onFailedRecord per record) with a RecordsShedError, or are skipped when shedTo is 'skip'. Counted in
 * kinesis.worker.records.shed; one log line when the shard starts shedding and one when it stops.
 */
export class LagShedder {
  private shedding = false;
  private shedSinceStart = 0;

  constructor(private readonly deps: LagShedderDeps) {}

  get enabled(): boolean {
    return this.deps.options.failurePolicy.shedRecordsOlderThanMs !== Infinity;
  }

  /** Records of a batch to shed (a prefix), 0 when none or shedding is off. A batch with a young head ends a shedding episode. */
  prefixToShed(records: readonly KinesisRecord[]): number {
    if (!this.enabled || records.length === 0) return 0;
    const count = shedPrefix(records, this.now(), this.deps.options.failurePolicy.shedRecordsOlderThanMs);
    if (count === 0) this.stopped();
    return count;
  }

  /** True when this record is to be shed rather than processed. */
  isTooOld(record: KinesisRecord): boolean {
    if (!this.enabled) return false;
    const old = this.now() - record.approximateArrivalTimestamp.getTime() > this.deps.options.failurePolicy.shedRecordsOlderThanMs;
    if (!old) this.stopped();
    return old;
  }

  /**
   * processRecords: hands the records to onFailedBatch (or skips them), then checkpoints past them.
   * 'failed' when the hook threw or the checkpoint failed (the caller gives the lease up); 'kept' when
   * there is no destination for a batch processor (the records are processed, never silently dropped).
   */
  async shedBatch(records: readonly KinesisRecord[], checkpointer: ShardCheckpointer): Promise<ShedOutcome> {
    const { options, shardId } = this.deps;
    const { shedTo, shedRecordsOlderThanMs } = options.failurePolicy;
    const to = shedTo === 'skip' || !options.onFailedBatch ? 'skip' : 'destination';
    if (shedTo === 'destination' && !options.onFailedBatch) return this.noDestination('onFailedBatch', records.length);
    this.started(records[0], to === 'skip' ? 'skipping them' : 'handing them to onFailedBatch');
    const error = new RecordsShedError(shedRecordsOlderThanMs);
    const last = records.at(-1)!;
    try {
      if (to === 'destination') await options.onFailedBatch!({ streamName: options.streamName, shardId, records, error, attempts: 0 });
      await checkpointer.checkpoint(last.sequenceNumber, last.subSequenceNumber);
    } catch (failure) {
      options.logger.error(
        `Shedding ${records.length} records ${records[0].sequenceNumber}..${last.sequenceNumber} of ${this.deps.where} failed; giving the lease up so they are delivered again: ${describeError(failure)}`,
      );
      return 'failed';
    }
    this.counted(records.length, to);
    return 'shed';
  }

  /** processRecord: hands the record to onFailedRecord (or skips it). 'failed' when the hook threw: the record stays unfinished. */
  async shedRecord(record: KinesisRecord): Promise<ShedOutcome> {
    const { options, shardId } = this.deps;
    const { shedTo, shedRecordsOlderThanMs } = options.failurePolicy;
    const to = shedTo === 'skip' || !options.onFailedRecord ? 'skip' : 'destination';
    if (shedTo === 'destination' && !options.onFailedRecord) return this.noDestination('onFailedRecord', 1);
    this.started(record, to === 'skip' ? 'skipping them' : 'handing them to onFailedRecord');
    try {
      if (to === 'destination')
        await options.onFailedRecord!({
          streamName: options.streamName,
          shardId,
          record,
          error: new RecordsShedError(shedRecordsOlderThanMs),
          attempts: 0,
        });
    } catch (failure) {
      options.logger.error(
        `onFailedRecord threw for the shed record ${record.sequenceNumber} of ${this.deps.where}; it stays unfinished and the lease is given up: ${describeError(failure)}`,
      );
      return 'failed';
    }
    this.counted(1, to);
    return 'shed';
  }

  /** The processor's kind has no destination (only the other hook was given): never a silent drop, the records are processed. */
  private noDestination(hook: string, records: number): 'kept' {
    if (!this.shedding) {
      this.shedding = true;
      this.deps.options.logger.error(
        `${records} records of ${this.deps.where} are older than failurePolicy.shedRecordsOlderThanMs, but this processor's destination, ${hook}, is not set: they are not shed. Add ${hook}, or shedTo: 'skip'.`,
      );
    }
    return 'kept';
  }

  private started(first: KinesisRecord, action: string): void {
    if (this.shedding) return;
    this.shedding = true;
    this.shedSinceStart = 0;
    const age = this.now() - first.approximateArrivalTimestamp.getTime();
    this.deps.options.logger.warn(
      `Shedding the records of ${this.deps.where} older than failurePolicy.shedRecordsOlderThanMs (${this.deps.options.failurePolicy.shedRecordsOlderThanMs} ms), ${action}; the first is ${age} ms old.`,
    );
  }

  private stopped(): void {
    if (!this.shedding) return;
    this.shedding = false;
    if (this.shedSinceStart > 0)
      this.deps.options.logger.log(
        `Stopped shedding on ${this.deps.where}: ${this.shedSinceStart} records shed; the records read now are younger than the limit.`,
      );
  }

  private counted(records: number, to: 'destination' | 'skip'): void {
    this.shedSinceStart += records;
    this.deps.metrics.shed(this.deps.shardId, records, to);
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}
