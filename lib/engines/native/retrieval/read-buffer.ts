/**
 * The worker-wide bound on records fetched but not yet processed (retrieval.maxBufferedRecords and
 * maxBufferedBytes), across every shard the worker reads. A shard's reader asks for a claim before each
 * GetRecords call and sizes the call (its Limit) to what the claim grants; the claim is settled to the
 * batch's real size when the answer is in, and given back once the batch is processed (processRecords
 * returned, or, for processRecord processors, its records were handed to the concurrency budget). While
 * the buffer is full the readers wait: a consumer that is behind reads slower instead of holding more.
 *
 * - Never a deadlock: a claim made while nothing is buffered is granted (one record at least), so a
 *   batch larger than the bound is let in alone.
 * - Fairness: waiting claims are served first come, first served, and no claim is granted more than a
 *   fair share (the bound divided by the readers registered), so one shard cannot take the whole
 *   buffer while the others wait.
 * - The record bound holds exactly for plain records (the Limit caps the answer); the byte bound is
 *   applied with the average record size seen so far, so a batch of records larger than the average
 *   may pass it by the difference. KPL aggregates may de-aggregate into more records than the Limit.
 *
 * Pure bookkeeping: no I/O and no timers.
 */
import { fairShare } from '../concurrency/fair-share';
export class ReadBuffer {
  private records = 0;
  private bytes = 0;
  private readers = 0;
  private peakRecordsSeen = 0;
  private peakBytesSeen = 0;
  /** Average bytes per record over what was read (an exponential average); undefined until the first record. */
  private averageRecordBytes: number | undefined;
  private readonly waiters: {
    grant: (claim: ReadClaim | undefined) => void;
    wanted: number;
    signal?: AbortSignal;
    onAbort?: () => void;
  }[] = [];

  constructor(
    readonly maxRecords: number,
    readonly maxBytes: number,
  ) {}

  /** The record size assumed before any record was read: large, so that first reads are small. */
  static readonly FIRST_RECORD_BYTES_ESTIMATE = 64 * 1024;

  get bufferedRecords(): number {
    return this.records;
  }

  get bufferedBytes(): number {
    return this.bytes;
  }

  /** The most records (and bytes) ever buffered at once, for status() and the tests. */
  get peakRecords(): number {
    return this.peakRecordsSeen;
  }

  get peakBytes(): number {
    return this.peakBytesSeen;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** A shard's reader joins (its fair share counts it) until it leaves. */
  join(): () => void {
    this.readers += 1;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.readers -= 1;
      this.serve();
    };
  }

  /**
   * Resolves with a claim once there is room (or nothing is buffered), or undefined when the signal
   * aborted first. `wanted` is the most records the reader would read (its maxRecords).
   */
  claim(wanted: number, signal?: AbortSignal): Promise<ReadClaim | undefined> {
    if (signal?.aborted) return Promise.resolve(undefined);
    if (this.waiters.length === 0 && this.hasRoom()) return Promise.resolve(this.grant(wanted));
    return new Promise<ReadClaim | undefined>((resolve) => {
      const waiter: (typeof this.waiters)[number] = { grant: resolve, wanted, signal };
      if (signal) {
        waiter.onAbort = () => {
          const at = this.waiters.indexOf(waiter);
          if (at >= 0) this.waiters.splice(at, 1);
          resolve(undefined);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }

  private hasRoom(): boolean {
    if (this.records === 0 && this.bytes === 0) return true;
    return this.records < this.maxRecords && this.bytes < this.maxBytes;
  }

  /** The records the claim may read: what is free, within a fair share, at the average record size; at least one. */
  private grant(wanted: number): ReadClaim {
    const recordBytes = this.averageRecordBytes ?? ReadBuffer.FIRST_RECORD_BYTES_ESTIMATE;
    const freeRecords = Math.min(this.maxRecords - this.records, fairShare(this.maxRecords, this.readers));
    const freeBytes = Math.min(this.maxBytes - this.bytes, fairShare(this.maxBytes, this.readers));
    const limit = Math.max(1, Math.min(wanted, freeRecords, Math.floor(freeBytes / recordBytes)));
    // A read forced to one record (the record size seen is above what is free) holds what is free, not more.
    const claim = new ReadClaim(this, limit, Math.min(limit * recordBytes, Math.max(1, freeBytes)));
    this.records += claim.records;
    this.bytes += claim.bytes;
    this.peakRecordsSeen = Math.max(this.peakRecordsSeen, this.records);
    this.peakBytesSeen = Math.max(this.peakBytesSeen, this.bytes);
    return claim;
  }

  /** @internal ReadClaim's bookkeeping: what the buffer holds changes by this much. */
  adjust(records: number, bytes: number): void {
    this.records += records;
    this.bytes += bytes;
    this.peakRecordsSeen = Math.max(this.peakRecordsSeen, this.records);
    this.peakBytesSeen = Math.max(this.peakBytesSeen, this.bytes);
    this.serve();
  }

  /** @internal */
  observe(records: number, bytes: number): void {
    if (records === 0) return;
    const average = bytes / records;
    this.averageRecordBytes = this.averageRecordBytes === undefined ? average : this.averageRecordBytes * 0.7 + average * 0.3;
  }

  private serve(): void {
    while (this.waiters.length > 0 && this.hasRoom()) {
      const waiter = this.waiters.shift()!;
      if (waiter.onAbort) waiter.signal!.removeEventListener('abort', waiter.onAbort);
      waiter.grant(this.grant(waiter.wanted));
    }
  }
}

/** Room taken in the buffer for one read: first the estimate, then (settle) the batch's real size, until release. */
export class ReadClaim {
  private released = false;

  constructor(
    private readonly buffer: ReadBuffer,
    /** The GetRecords Limit to read with. */
    readonly limit: number,
    private estimatedBytes: number,
    private heldRecords = limit,
  ) {}

  get records(): number {
    return this.heldRecords;
  }

  get bytes(): number {
    return this.estimatedBytes;
  }

  /** The read is in: the claim holds what it really read (possibly nothing) from now on. */
  settle(records: number, bytes: number): void {
    if (this.released) return;
    this.buffer.observe(records, bytes);
    const [oldRecords, oldBytes] = [this.heldRecords, this.estimatedBytes];
    this.heldRecords = records;
    this.estimatedBytes = bytes;
    this.buffer.adjust(records - oldRecords, bytes - oldBytes);
  }

  /** Processed (or abandoned): the room goes back. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.buffer.adjust(-this.heldRecords, -this.estimatedBytes);
  }
}
