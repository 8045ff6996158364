import { createHash } from 'node:crypto';
import type { KinesisRecord } from '../../../core/record';

/**
 * De-aggregation of KPL-aggregated records, without a dependency: the format is small and fixed
 * (https://github.com/awslabs/amazon-kinesis-producer/blob/master/aggregation-format.md):
 *
 *   magic 0xF3 0x89 0x9A 0xC2 | protobuf AggregatedRecord | MD5 of the protobuf bytes (16 bytes)
 *
 *   message AggregatedRecord {
 *     repeated string partition_key_table     = 1;
 *     repeated string explicit_hash_key_table = 2;
 *     repeated Record records                 = 3;
 *   }
 *   message Record {
 *     required uint64 partition_key_index     = 1;
 *     optional uint64 explicit_hash_key_index = 2;
 *     required bytes  data                    = 3;
 *     repeated Tag    tags                    = 4;   // not used by consumers; skipped
 *   }
 *
 * What the Java KCL does, and what this does: the checksum is checked before the protobuf is read;
 * a record whose checksum or protobuf is bad is delivered whole (and reported); an explicit hash key
 * is set only for user records that carry an index to one. Unknown fields are skipped, as protobuf
 * requires. User records are numbered by subSequenceNumber in order; their data are views into the
 * aggregated record's buffer, not copies.
 */

const MAGIC_0 = 0xf3;
const MAGIC_1 = 0x89;
const MAGIC_2 = 0x9a;
const MAGIC_3 = 0xc2;
const MAGIC_LENGTH = 4;
const DIGEST_LENGTH = 16;
/** Magic number, at least a byte of protobuf, and the MD5 trailer. */
const MIN_AGGREGATED_LENGTH = MAGIC_LENGTH + 1 + DIGEST_LENGTH;

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** A record that starts with the magic number but is not a well-formed aggregate. */
export class KplFormatError extends Error {
  override readonly name = 'KplFormatError';
}

/** Byte by byte: this runs for every record, and a subarray per record would be garbage. */
export function isAggregated(data: Buffer): boolean {
  return data.length >= MIN_AGGREGATED_LENGTH && data[0] === MAGIC_0 && data[1] === MAGIC_1 && data[2] === MAGIC_2 && data[3] === MAGIC_3;
}

/** A protobuf reader over buf[pos, end). */
class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos: number,
    private readonly end: number,
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** An unsigned varint, up to 2^53 - 1: indices, lengths and tags here never come near it. */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new KplFormatError('truncated varint');
      const byte = this.buf[this.pos++];
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (value > Number.MAX_SAFE_INTEGER) throw new KplFormatError('varint out of range');
        return value;
      }
      scale *= 128;
    }
    throw new KplFormatError('varint longer than 10 bytes');
  }

  /** The bounds of a length-delimited field's bytes, which the reader then skips. */
  bytes(): { start: number; end: number } {
    const length = this.varint();
    const start = this.pos;
    if (length > this.end - start) throw new KplFormatError('length-delimited field runs past its message');
    this.pos = start + length;
    return { start, end: this.pos };
  }

  string(): string {
    const { start, end } = this.bytes();
    return this.buf.toString('utf8', start, end);
  }

  /** Skips a field of an unknown number. Groups (wire types 3 and 4) are not valid in this format. */
  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.varint();
        return;
      case FIXED64:
        this.advance(8);
        return;
      case LENGTH_DELIMITED:
        this.bytes();
        return;
      case FIXED32:
        this.advance(4);
        return;
      default:
        throw new KplFormatError(`unsupported wire type ${wireType}`);
    }
  }

  /** The next field's number and wire type. */
  tag(): { field: number; wireType: number } {
    const tag = this.varint();
    const field = Math.floor(tag / 8);
    if (field === 0) throw new KplFormatError('field number 0');
    return { field, wireType: tag % 8 };
  }

  private advance(count: number): void {
    if (count > this.end - this.pos) throw new KplFormatError('fixed-width field runs past its message');
    this.pos += count;
  }
}

function expectWireType(message: string, field: number, actual: number, expected: number): void {
  if (actual !== expected) throw new KplFormatError(`${message} field ${field} has wire type ${actual}, expected ${expected}`);
}

interface UserRecordSlot {
  readonly partitionKeyIndex: number;
  readonly explicitHashKeyIndex: number | undefined;
  readonly start: number;
  readonly end: number;
}

function readUserRecord(buf: Buffer, start: number, end: number): UserRecordSlot {
  const reader = new Reader(buf, start, end);
  let partitionKeyIndex: number | undefined;
  let explicitHashKeyIndex: number | undefined;
  let data: { start: number; end: number } | undefined;
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 1) {
      expectWireType('Record', field, wireType, VARINT);
      partitionKeyIndex = reader.varint();
    } else if (field === 2) {
      expectWireType('Record', field, wireType, VARINT);
      explicitHashKeyIndex = reader.varint();
    } else if (field === 3) {
      expectWireType('Record', field, wireType, LENGTH_DELIMITED);
      data = reader.bytes();
    } else {
      reader.skip(wireType);
    }
  }
  if (partitionKeyIndex === undefined) throw new KplFormatError("a user record lacks the required 'partition_key_index'");
  if (data === undefined) throw new KplFormatError("a user record lacks the required 'data'");
  return { partitionKeyIndex, explicitHashKeyIndex, start: data.start, end: data.end };
}

/** The user records of a well-formed aggregate; throws a KplFormatError otherwise. The magic number is the caller's check. */
export function decodeAggregated(record: KinesisRecord): KinesisRecord[] {
  const buf = record.data;
  const protobufEnd = buf.length - DIGEST_LENGTH;
  const digest = createHash('md5').update(buf.subarray(MAGIC_LENGTH, protobufEnd)).digest();
  if (buf.compare(digest, 0, DIGEST_LENGTH, protobufEnd, buf.length) !== 0) throw new KplFormatError('the MD5 checksum does not match');

  const partitionKeys: string[] = [];
  const explicitHashKeys: string[] = [];
  const slots: UserRecordSlot[] = [];
  const reader = new Reader(buf, MAGIC_LENGTH, protobufEnd);
  while (!reader.done) {
    const { field, wireType } = reader.tag();
    if (field === 1) {
      expectWireType('AggregatedRecord', field, wireType, LENGTH_DELIMITED);
      partitionKeys.push(reader.string());
    } else if (field === 2) {
      expectWireType('AggregatedRecord', field, wireType, LENGTH_DELIMITED);
      explicitHashKeys.push(reader.string());
    } else if (field === 3) {
      expectWireType('AggregatedRecord', field, wireType, LENGTH_DELIMITED);
      const { start, end } = reader.bytes();
      slots.push(readUserRecord(buf, start, end));
    } else {
      reader.skip(wireType);
    }
  }

  // The tables may legally come after the records: indices are resolved once everything is read.
  const users = new Array<KinesisRecord>(slots.length);
  for (let i = 0; i < slots.length; i++) {
    const slot = slots[i];
    const partitionKey = partitionKeys[slot.partitionKeyIndex];
    if (partitionKey === undefined) {
      throw new KplFormatError(`user record ${i} points at partition key ${slot.partitionKeyIndex} of ${partitionKeys.length}`);
    }
    let explicitHashKey: string | undefined;
    if (slot.explicitHashKeyIndex !== undefined) {
      explicitHashKey = explicitHashKeys[slot.explicitHashKeyIndex];
      if (explicitHashKey === undefined) {
        throw new KplFormatError(`user record ${i} points at explicit hash key ${slot.explicitHashKeyIndex} of ${explicitHashKeys.length}`);
      }
    }
    users[i] = {
      data: buf.subarray(slot.start, slot.end),
      partitionKey,
      sequenceNumber: record.sequenceNumber,
      subSequenceNumber: i,
      explicitHashKey,
      approximateArrivalTimestamp: record.approximateArrivalTimestamp,
    };
  }
  return users;
}

/**
 * Splits a KPL-aggregated record into its user records, numbered by subSequenceNumber, as the KCL
 * does. A plain record comes back as it is, without a copy. A record with the magic number whose
 * checksum or protobuf is bad is delivered whole rather than dropped, and reported.
 * (A drop-in for deaggregate.ts, which needs aws-kinesis-agg and its pinned protobufjs.)
 */
export function deaggregate(record: KinesisRecord, onCorrupt: (record: KinesisRecord, error: Error) => void): KinesisRecord[] {
  if (!isAggregated(record.data)) return [record];
  try {
    return decodeAggregated(record);
  } catch (error) {
    onCorrupt(record, error instanceof Error ? error : new Error(String(error)));
    return [record];
  }
}
