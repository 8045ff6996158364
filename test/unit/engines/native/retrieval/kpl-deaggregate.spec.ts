import { createHash } from 'node:crypto';
import type { KinesisRecord } from '../../../../../lib/core/record';
import { deaggregate, isAggregated, KplFormatError } from '../../../../../lib/engines/native/retrieval/kpl-deaggregate';

// The KPL format's reference library (a devDependency): the encoder of the fixtures, and the decoder
// this one is compared with.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const agg = require('aws-kinesis-agg') as {
  aggregate(
    records: { partitionKey: string; explicitHashKey?: string; data: Buffer }[],
    onEncoded: (encoded: { partitionKey: string; data: Buffer }, done: (error?: Error) => void) => void,
    afterAll: () => void,
    onError: (error: Error) => void,
  ): void;
  deaggregateSync(
    record: { data: string; partitionKey: string; sequenceNumber: string },
    computeChecksums: boolean,
    done: (
      error: Error | null,
      records?: { partitionKey: string; explicitPartitionKey?: string; subSequenceNumber: number; data: string }[],
    ) => void,
  ): void;
};

const SEQUENCE = '49590338271490256608559692538361571095921575989136588898';
const ARRIVAL = new Date('2026-01-02T03:04:05Z');

function kinesisRecord(data: Buffer, partitionKey = 'outer'): KinesisRecord {
  return { data, partitionKey, sequenceNumber: SEQUENCE, approximateArrivalTimestamp: ARRIVAL };
}

async function referenceEncode(users: { partitionKey: string; explicitHashKey?: string; data: Buffer }[]): Promise<Buffer[]> {
  const encoded: Buffer[] = [];
  await new Promise<void>((resolve, reject) =>
    agg.aggregate(users, (record, done) => (encoded.push(record.data), done()), resolve, reject),
  );
  return encoded;
}

function referenceDecode(data: Buffer) {
  let result: { partitionKey: string; explicitHashKey?: string; subSequenceNumber: number; data: string }[] | undefined;
  agg.deaggregateSync({ data: data.toString('base64'), partitionKey: 'outer', sequenceNumber: SEQUENCE }, true, (error, records) => {
    if (error) throw error;
    result = records!.map((r) => ({
      partitionKey: r.partitionKey,
      explicitHashKey: r.explicitPartitionKey,
      subSequenceNumber: r.subSequenceNumber,
      data: r.data,
    }));
  });
  return result!;
}

function decodeOk(data: Buffer): KinesisRecord[] {
  const errors: Error[] = [];
  const records = deaggregate(kinesisRecord(data), (_, error) => errors.push(error));
  expect(errors).toEqual([]);
  return records;
}

function decodeCorrupt(data: Buffer): Error {
  const record = kinesisRecord(data);
  const errors: Error[] = [];
  const records = deaggregate(record, (corrupt, error) => {
    expect(corrupt).toBe(record);
    errors.push(error);
  });
  expect(records).toHaveLength(1);
  expect(records[0]).toBe(record);
  expect(errors).toHaveLength(1);
  expect(errors[0]).toBeInstanceOf(KplFormatError);
  return errors[0];
}

// A minimal protobuf writer, for aggregates the reference encoder cannot produce.
const varint = (value: number): number[] => {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
};
const key = (field: number, wireType: number) => varint(field * 8 + wireType);
const lengthDelimited = (field: number, bytes: Buffer | number[]) => Buffer.from([...key(field, 2), ...varint(bytes.length), ...bytes]);
const varintField = (field: number, value: number) => Buffer.from([...key(field, 0), ...varint(value)]);
const userRecord = (...parts: Buffer[]) => lengthDelimited(3, Buffer.concat(parts));
/** Magic number + protobuf + MD5 of the protobuf. */
function frame(...protobuf: Buffer[]): Buffer {
  const body = Buffer.concat(protobuf);
  return Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), body, createHash('md5').update(body).digest()]);
}

describe('KPL de-aggregation without aws-kinesis-agg', () => {
  it('decodes what the reference encoder writes, exactly as the reference decoder does', async () => {
    const users = Array.from({ length: 300 }, (_, i) => ({
      partitionKey: `customer-${i % 7}-ключ-${i % 3}`,
      explicitHashKey: i % 2 === 0 ? undefined : String(2n ** 127n + BigInt(i % 5)),
      data: Buffer.from(`${'x'.repeat(i)}-${i}-é`),
    }));
    // Every user record with an explicit hash key, so the reference decoder's answer is the right one.
    const withKeys = users.map((user, i) => ({ ...user, explicitHashKey: String(BigInt(i % 5) * 1000n) }));
    for (const input of [users.map(({ partitionKey, data }) => ({ partitionKey, data })), withKeys]) {
      const encoded = await referenceEncode(input);
      const decoded = encoded.flatMap((data) => decodeOk(data));
      expect(decoded.map((r) => r.data.toString())).toEqual(input.map((u) => u.data.toString()));
      for (const data of encoded) {
        const ours = decodeOk(data).map((r) => ({
          partitionKey: r.partitionKey,
          explicitHashKey: r.explicitHashKey,
          subSequenceNumber: r.subSequenceNumber,
          data: r.data.toString('base64'),
        }));
        expect(ours).toEqual(referenceDecode(data));
      }
    }
  });

  it('keeps the enclosing record: sequence number, arrival time; numbers user records from 0', async () => {
    const [data] = await referenceEncode([
      { partitionKey: 'a', data: Buffer.from('one') },
      { partitionKey: 'b', data: Buffer.from('two') },
    ]);
    expect(decodeOk(data)).toEqual([
      {
        data: Buffer.from('one'),
        partitionKey: 'a',
        sequenceNumber: SEQUENCE,
        subSequenceNumber: 0,
        explicitHashKey: undefined,
        approximateArrivalTimestamp: ARRIVAL,
      },
      {
        data: Buffer.from('two'),
        partitionKey: 'b',
        sequenceNumber: SEQUENCE,
        subSequenceNumber: 1,
        explicitHashKey: undefined,
        approximateArrivalTimestamp: ARRIVAL,
      },
    ]);
  });

  it('an explicit hash key only on the user records that have an index to one (as the Java KCL)', async () => {
    const [data] = await referenceEncode([
      { partitionKey: 'a', explicitHashKey: '123', data: Buffer.from('with') },
      { partitionKey: 'a', data: Buffer.from('without') },
    ]);
    expect(decodeOk(data).map((r) => r.explicitHashKey)).toEqual(['123', undefined]);
  });

  it('a plain record comes back as it is, without a copy, including one too short to be an aggregate', () => {
    for (const data of [Buffer.from('plain'), Buffer.alloc(0), frame().subarray(0, 20)]) {
      const record = kinesisRecord(data);
      const records = deaggregate(record, () => {
        throw new Error('not corrupt');
      });
      expect(records).toHaveLength(1);
      expect(records[0]).toBe(record);
    }
    expect(isAggregated(frame(lengthDelimited(1, Buffer.from('k'))))).toBe(true);
    expect(isAggregated(Buffer.from([0xf3, 0x89, 0x9a, 0xc3, ...Buffer.alloc(20)]))).toBe(false);
  });

  it('a bad checksum: the record is delivered whole, and reported', async () => {
    const [data] = await referenceEncode([{ partitionKey: 'a', data: Buffer.from('one') }]);
    const tampered = Buffer.from(data);
    tampered[6] ^= 1;
    expect(decodeCorrupt(tampered).message).toContain('MD5');
    const badDigest = Buffer.from(data);
    badDigest[badDigest.length - 1] ^= 1;
    expect(decodeCorrupt(badDigest).message).toContain('MD5');
  });

  it('bad protobuf behind a good checksum: delivered whole, and reported', () => {
    const table = lengthDelimited(1, Buffer.from('pk'));
    const cases: [Buffer, RegExp][] = [
      [frame(Buffer.from([0x0a, 0x05, 0x61])), /runs past/], // a string longer than the message
      [frame(Buffer.from([0x0a, 0xff, 0xff])), /truncated varint/],
      [frame(Buffer.from([0x0a, ...Array(11).fill(0xff)])), /longer than 10 bytes/],
      [frame(Buffer.from([0x00, 0x01])), /field number 0/],
      [frame(Buffer.from([0x0b])), /wire type 3/], // a group
      [frame(varintField(1, 5)), /AggregatedRecord field 1 has wire type 0/],
      [frame(table, userRecord(lengthDelimited(3, Buffer.from('data')))), /partition_key_index/],
      [frame(table, userRecord(varintField(1, 0))), /'data'/],
      [frame(table, userRecord(varintField(1, 1), lengthDelimited(3, Buffer.from('d')))), /partition key 1 of 1/],
      [frame(table, userRecord(varintField(1, 0), varintField(2, 0), lengthDelimited(3, Buffer.from('d')))), /explicit hash key 0 of 0/],
      [
        frame(table, userRecord(lengthDelimited(1, Buffer.from('x')), lengthDelimited(3, Buffer.from('d')))),
        /Record field 1 has wire type 2/,
      ],
      [frame(table, Buffer.from([0x39, 1, 2, 3])), /fixed-width field runs past/], // field 7, fixed64, 3 bytes left
    ];
    for (const [data, message] of cases) expect(decodeCorrupt(data).message).toMatch(message);
  });

  it('reads the tables wherever they are, and skips unknown fields and tags', () => {
    const data = frame(
      userRecord(
        varintField(9, 300),
        lengthDelimited(4, [...lengthDelimited(1, Buffer.from('tag')), ...lengthDelimited(2, Buffer.from('value'))]),
        lengthDelimited(3, Buffer.from('first')),
        varintField(2, 0),
        varintField(1, 1),
      ),
      Buffer.from([...key(7, 1), 1, 2, 3, 4, 5, 6, 7, 8, ...key(8, 5), 1, 2, 3, 4]),
      lengthDelimited(1, Buffer.from('pk-0')),
      lengthDelimited(1, Buffer.from('pk-1')),
      lengthDelimited(2, Buffer.from('42')),
      userRecord(varintField(1, 0), lengthDelimited(3, Buffer.alloc(0))),
      lengthDelimited(10, Buffer.from('unknown')),
    );
    expect(decodeOk(data).map((r) => [r.partitionKey, r.explicitHashKey, r.data.toString(), r.subSequenceNumber])).toEqual([
      ['pk-1', '42', 'first', 0],
      ['pk-0', undefined, '', 1],
    ]);
  });

  it('an aggregate with no user records yields none', () => {
    expect(decodeOk(frame(lengthDelimited(1, Buffer.from('pk'))))).toEqual([]);
  });

  it('never throws on mangled aggregates: each decodes or is delivered whole', async () => {
    const [data] = await referenceEncode(
      Array.from({ length: 20 }, (_, i) => ({ partitionKey: `pk-${i}`, data: Buffer.from(`data-${i}`) })),
    );
    const body = data.subarray(4, data.length - 16);
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let decoded = 0;
    let corrupt = 0;
    for (let i = 0; i < 2000; i++) {
      const mangled = Buffer.from(body);
      for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--)
        mangled[Math.floor(random() * mangled.length)] = Math.floor(random() * 256);
      const cut = random() < 0.3 ? mangled.subarray(0, Math.floor(random() * mangled.length)) : mangled;
      const errors: Error[] = [];
      const source = kinesisRecord(frame(cut));
      const records = deaggregate(source, (_, error) => errors.push(error));
      if (errors.length > 0) {
        expect(errors[0]).toBeInstanceOf(KplFormatError);
        expect(records).toHaveLength(1);
        corrupt++;
      } else {
        // A mangled body that still parses yields user records of the one Kinesis record, numbered in order,
        // or (too short to be an aggregate) the record itself, unchanged.
        const whole = records.length === 1 && records[0] === source;
        expect(whole || records.every((r, index) => r.sequenceNumber === SEQUENCE && r.subSequenceNumber === index)).toBe(true);
        decoded++;
      }
    }
    // Both outcomes were met: the loop proved something about each.
    expect(corrupt).toBeGreaterThan(0);
    expect(decoded).toBeGreaterThan(0);
  });
});
