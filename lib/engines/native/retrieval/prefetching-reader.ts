import { pause } from '../../../core/retry';
import type { ReadBuffer } from './read-buffer';
import { FetchAbortedError, type RecordBatch, type ShardRecordFetcher } from './shard-record-fetcher';

/**
 * Keeps one batch in flight while the processor works on the previous one, as the KCL's prefetch
 * does, and paces reads of a caught-up shard by idleTimeBetweenReadsMs.
 *
 * Every read first takes a claim in the worker's read buffer (retrieval.maxBufferedRecords/Bytes) and
 * reads no more records than it grants; the batch carries the claim (`release`) until the consumer has
 * processed it. While the buffer is full, the prefetch waits: reading slows down instead of buffering.
 */
export class PrefetchingReader {
  private ahead: Promise<RecordBatch> | undefined;
  private readonly leave: () => void;

  constructor(
    private readonly fetcher: ShardRecordFetcher,
    private readonly idleTimeBetweenReadsMs: number,
    private readonly signal: AbortSignal,
    private readonly buffer: ReadBuffer,
    private readonly maxRecords: number,
  ) {
    this.leave = buffer.join();
  }

  next(): Promise<RecordBatch> {
    const current = this.ahead ?? this.read();
    this.ahead = undefined;
    return current.then((batch) => {
      if (!batch.shardEnded) {
        const wait = batch.caughtUp ? this.idleTimeBetweenReadsMs : 0;
        this.ahead = pause(wait, this.signal).then(() => this.read());
        // The prefetched batch may be abandoned at shutdown; its rejection is not an error then.
        this.ahead.catch(() => undefined);
      }
      return batch;
    });
  }

  /** The reader is done: a prefetched batch nobody will process gives its room back, and the reader leaves the fair share. */
  close(): void {
    this.leave();
    void this.ahead?.then(
      (batch) => batch.release?.(),
      () => undefined,
    );
    this.ahead = undefined;
  }

  private async read(): Promise<RecordBatch> {
    const claim = await this.buffer.claim(this.maxRecords, this.signal);
    if (!claim) throw new FetchAbortedError();
    try {
      const batch = await this.fetcher.fetch(claim.limit);
      let bytes = 0;
      for (const record of batch.records) bytes += record.data.length;
      claim.settle(batch.records.length, bytes);
      return { ...batch, release: () => claim.release() };
    } catch (error) {
      claim.release();
      throw error;
    }
  }
}
