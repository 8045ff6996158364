/**
 * One Kinesis shard as the service limits it, for the limited synthetic endpoint: records that
 * materialise at a fixed rate, 56-digit increasing sequence numbers, and the read limits per shard
 * (5 GetRecords and 5 GetShardIterator calls per sliding second, 2 MB/s, 10,000 records or 10 MB per call).
 * No I/O here: the server (limited-kinesis-server.ts) turns its answers into HTTP.
 */

export const READ_LIMITS = {
  callsPerSecond: 5,
  bytesPerSecond: 2 * 1024 * 1024,
  maxRecordsPerCall: 10_000,
  maxBytesPerCall: 10 * 1024 * 1024,
} as const;

export interface ShardModelConfig {
  readonly index: number;
  readonly recordBytes: number;
  /** Bytes produced per second on this shard; Infinity: every record already exists (a backlog without end). */
  readonly producedBytesPerSecond: number;
  /** Enforce READ_LIMITS (false: answer every call, as fast as the caller asks). */
  readonly enforceLimits: boolean;
  /** Epoch ms of record 0's arrival. */
  readonly startedAt: number;
}

export type Throttled = { throttled: true };
export interface RecordsSlice {
  readonly throttled: false;
  /** Indexes [from, to) of the records returned. */
  readonly from: number;
  readonly to: number;
  readonly millisBehindLatest: number;
}

const SEQUENCE_INDEX_DIGITS = 24;

/**
 * Calls within the last second (sliding window). The byte limit is a bucket holding one second of
 * reads (2 MB) refilled at 2 MB/s: a call may return up to 10 MB, after which the shard refuses calls
 * until the bucket is positive again, as Kinesis throttles the calls that follow a large read.
 */
class ReadLimiter {
  private calls: number[] = [];
  private bytes: number = READ_LIMITS.bytesPerSecond;
  private refilledAt: number;

  constructor(now: number) {
    this.refilledAt = now;
  }

  /** 'ok', or which limit refused the call: the calls in the sliding second, or the byte budget. */
  tryCall(now: number, needsBytes: boolean): 'ok' | 'calls' | 'bytes' {
    while (this.calls.length > 0 && this.calls[0] <= now - 1000) this.calls.shift();
    if (this.calls.length >= READ_LIMITS.callsPerSecond) return 'calls';
    if (needsBytes) {
      this.bytes = Math.min(READ_LIMITS.bytesPerSecond, this.bytes + ((now - this.refilledAt) / 1000) * READ_LIMITS.bytesPerSecond);
      this.refilledAt = now;
      if (this.bytes <= 0) return 'bytes';
    }
    this.calls.push(now);
    return 'ok';
  }

  spend(bytes: number): void {
    this.bytes -= bytes;
  }
}

export class ShardModel {
  readonly shardId: string;
  private readonly prefix: string;
  private readonly intervalMs: number;
  private readonly getRecordsLimiter: ReadLimiter;
  private readonly iteratorLimiter: ReadLimiter;
  throttles = 0;
  /** Of those, the calls refused for being the 6th in a sliding second (the rest: the byte budget). */
  callThrottles = 0;
  /** The reader's position: the index after the last record returned (LATEST until the first read). */
  private readerAt: number | undefined;

  constructor(private readonly config: ShardModelConfig) {
    this.shardId = `shardId-${String(config.index).padStart(12, '0')}`;
    // 56 digits: '49', the shard in 6 digits, zeros, then the record's index in the last 24.
    this.prefix = `49${String(config.index).padStart(6, '0')}`.padEnd(56 - SEQUENCE_INDEX_DIGITS, '0');
    this.intervalMs = (config.recordBytes / config.producedBytesPerSecond) * 1000;
    this.getRecordsLimiter = new ReadLimiter(config.startedAt);
    this.iteratorLimiter = new ReadLimiter(config.startedAt);
  }

  sequenceNumber(index: number): string {
    return this.prefix + String(index).padStart(SEQUENCE_INDEX_DIGITS, '0');
  }

  indexOf(sequenceNumber: string): number | undefined {
    if (sequenceNumber.length !== 56 || !sequenceNumber.startsWith(this.prefix)) return undefined;
    return Number(sequenceNumber.slice(-SEQUENCE_INDEX_DIGITS));
  }

  /** Epoch ms at which record `index` arrived (or will). */
  arrivalOf(index: number): number {
    return this.config.startedAt + (Number.isFinite(this.intervalMs) ? index * this.intervalMs : 0);
  }

  /** How many records exist at `now`: those whose arrival time has come. */
  produced(now: number): number {
    if (this.intervalMs === 0) return Number.MAX_SAFE_INTEGER;
    return Math.max(0, Math.floor((now - this.config.startedAt) / this.intervalMs) + 1);
  }

  /** The first record at or after a time (AT_TIMESTAMP), never past what exists. */
  indexAt(epochMs: number, now: number): number {
    if (this.intervalMs === 0) return 0;
    return Math.min(this.produced(now), Math.max(0, Math.ceil((epochMs - this.config.startedAt) / this.intervalMs)));
  }

  /** How far the reader is behind the tip now, as MillisBehindLatest would say: now - arrival of its next record. */
  lagMs(now: number): number {
    const next = this.readerAt ?? this.produced(now);
    return next >= this.produced(now) ? 0 : Math.max(0, Math.round(now - this.arrivalOf(next)));
  }

  getShardIterator(now: number): boolean {
    const verdict = this.config.enforceLimits ? this.iteratorLimiter.tryCall(now, false) : 'ok';
    if (verdict === 'ok') return true;
    this.throttles++;
    this.callThrottles++;
    return false;
  }

  getRecords(from: number, limit: number, now: number): RecordsSlice | Throttled {
    const verdict = this.config.enforceLimits ? this.getRecordsLimiter.tryCall(now, true) : 'ok';
    if (verdict !== 'ok') {
      this.throttles++;
      if (verdict === 'calls') this.callThrottles++;
      return { throttled: true };
    }
    const { recordBytes } = this.config;
    const available = Math.max(0, this.produced(now) - from);
    const count = Math.min(
      available,
      limit,
      READ_LIMITS.maxRecordsPerCall,
      Math.max(1, Math.floor(READ_LIMITS.maxBytesPerCall / recordBytes)),
    );
    const to = from + count;
    this.readerAt = Math.max(this.readerAt ?? 0, to);
    if (this.config.enforceLimits) this.getRecordsLimiter.spend(count * recordBytes);
    // Kinesis: how far the last record returned is behind the tip; 0 once the reader has reached it.
    const caughtUp = to >= this.produced(now);
    return { throttled: false, from, to, millisBehindLatest: caughtUp ? 0 : Math.max(0, Math.round(now - this.arrivalOf(to - 1))) };
  }
}
