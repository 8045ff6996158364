import type { KinesisRecord } from '../core/record';

/** What a test says about a record; everything else gets a realistic default. */
export interface TestRecordInput {
  /** An object or array is sent as JSON, a string as UTF-8, a Buffer as it is. */
  readonly data?: unknown;
  readonly partitionKey?: string;
  /** Default: the next sequence number of the factory's shard. */
  readonly sequenceNumber?: string;
  readonly approximateArrivalTimestamp?: Date;
  readonly explicitHashKey?: string;
}

/** A sequence number as Kinesis writes them: 56 decimal digits. Positions of one factory compare as the real ones (BigInt). */
const FIRST_SEQUENCE = 49_600_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_000_002n;
const STEP = 1_000_000_000_000n;

/** Encodes test data the way a producer would. */
export function toRecordData(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data);
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return Buffer.from(JSON.stringify(data ?? null), 'utf8');
}

/**
 * Builds records for unit tests of a processor, without any emulator: increasing sequence numbers of
 * the real shape, partition keys, arrival times, and the KPL sub-records the engines deliver after
 * de-aggregation (one sequence number, subSequenceNumber 0..n-1).
 */
export class TestRecordFactory {
  private next = FIRST_SEQUENCE;
  private counter = 0;

  /** One plain record. */
  record(input: TestRecordInput = {}): KinesisRecord {
    const index = ++this.counter;
    const sequenceNumber = input.sequenceNumber ?? this.nextSequenceNumber();
    return {
      data: toRecordData(input.data ?? { index }),
      partitionKey: input.partitionKey ?? `pk-${index}`,
      sequenceNumber,
      approximateArrivalTimestamp: input.approximateArrivalTimestamp ?? new Date(),
      ...(input.explicitHashKey !== undefined ? { explicitHashKey: input.explicitHashKey } : {}),
    };
  }

  /** Plain records, one per item: `records([{ customer: 'a' }, 'text'])` or `records(3)` for three default ones. */
  records(items: number | readonly unknown[]): KinesisRecord[] {
    const inputs = typeof items === 'number' ? Array.from({ length: items }, () => ({})) : items.map(asInput);
    return inputs.map((input) => this.record(input));
  }

  /**
   * The user records of one KPL-aggregated record, as a processor receives them: the container's sequence
   * number on every one, subSequenceNumber 0..n-1, each with its own partition key.
   */
  aggregated(items: readonly unknown[]): KinesisRecord[] {
    if (items.length === 0) throw new Error('TestRecordFactory.aggregated needs at least one user record.');
    const sequenceNumber = this.nextSequenceNumber();
    const arrival = new Date();
    return items.map(asInput).map((input, subSequenceNumber) => ({
      ...this.record({ approximateArrivalTimestamp: arrival, ...input, sequenceNumber }),
      subSequenceNumber,
    }));
  }

  /** The sequence number the next record will get, then moves past it. */
  nextSequenceNumber(): string {
    const value = this.next;
    this.next += STEP;
    return value.toString();
  }
}

/** `{ data, partitionKey }`-shaped items are inputs; anything else is the data itself. */
function asInput(item: unknown): TestRecordInput {
  if (item !== null && typeof item === 'object' && !Buffer.isBuffer(item) && 'data' in item) return item;
  return { data: item };
}
