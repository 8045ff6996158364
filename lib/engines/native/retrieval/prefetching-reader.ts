import { pause } from '../../../core/retry';
import type { RecordBatch, ShardRecordFetcher } from './shard-record-fetcher';

/**
 * Keeps one batch in flight while the processor works on the previous one, as the KCL's prefetch
 * does, and paces reads of a caught-up shard by idleTimeBetweenReadsMs.
 */
export class PrefetchingReader {
  private ahead: Promise<RecordBatch> | undefined;

  constructor(
    private readonly fetcher: ShardRecordFetcher,
    private readonly idleTimeBetweenReadsMs: number,
    private readonly signal: AbortSignal,
  ) {}

  next(): Promise<RecordBatch> {
    const current = this.ahead ?? this.fetcher.fetch();
    this.ahead = undefined;
    return current.then((batch) => {
      if (!batch.shardEnded) {
        const wait = batch.caughtUp ? this.idleTimeBetweenReadsMs : 0;
        this.ahead = pause(wait, this.signal).then(() => this.fetcher.fetch());
        // The prefetched batch may be abandoned at shutdown; its rejection is not an error then.
        this.ahead.catch(() => undefined);
      }
      return batch;
    });
  }
}
