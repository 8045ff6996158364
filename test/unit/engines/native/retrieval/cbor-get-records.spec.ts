/**
 * GetRecords in CBOR against a local HTTP server that answers with bodies encoded by cbor-x in the two
 * shapes seen on the wire: real Kinesis (Data a byte string, ApproximateArrivalTimestamp tag 1 epoch
 * seconds as a float) and kinesis-local (Data a base64 text string, the timestamp untagged integer
 * milliseconds). The expected output is what the SDK's own deserializer makes of the same answer in JSON.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Decoder, Encoder, Tag } from 'cbor-x';
import { isThrottling } from '../../../../../lib/core/aws-errors';
import { classifyReadError } from '../../../../../lib/engines/native/retrieval/read-errors';
import { useFastGetRecords } from '../../../../../lib/engines/native/retrieval/fast-get-records';

const encoder = new Encoder({ useRecords: false });
const CBOR = 'application/x-amz-cbor-1.1';
const JSON_TYPE = 'application/x-amz-json-1.1';

const records = [
  { seq: '49680612642748810520130508761332395660737153554171559938', at: 1764000000.123, data: Buffer.from('héllo'), key: 'ключ' },
  { seq: '49680612642748810520130508761332395660737153554171559939', at: 1764000001, data: Buffer.alloc(0), key: 'b' },
  { seq: '49680612642748810520130508761332395660737153554171559940', at: 1764000002.999, data: Buffer.alloc(3000, 7), key: '🙂' },
];
const childShards = [
  { ShardId: 'shardId-000000000004', ParentShards: ['shardId-000000000001'], HashKeyRange: { StartingHashKey: '0', EndingHashKey: '99' } },
];

/** Real Kinesis: byte strings and tag 1. */
const realKinesisBody = () =>
  encoder.encode({
    Records: records.map((r) => ({
      SequenceNumber: r.seq,
      ApproximateArrivalTimestamp: new Tag(r.at, 1),
      Data: r.data,
      PartitionKey: r.key,
      EncryptionType: 'NONE',
    })),
    NextShardIterator: 'next',
    MillisBehindLatest: 42,
    ChildShards: childShards,
  });
/** kinesis-local: base64 text and untagged integer milliseconds, encoded as a 64-bit unsigned integer (as a BigInt makes cbor-x encode it). */
const kinesisLocalBody = () =>
  encoder.encode({
    Records: records.map((r) => ({
      SequenceNumber: r.seq,
      ApproximateArrivalTimestamp: BigInt(Math.round(r.at * 1000)),
      Data: r.data.toString('base64'),
      PartitionKey: r.key,
      EncryptionType: 'NONE',
    })),
    NextShardIterator: 'next',
    MillisBehindLatest: 42,
    ChildShards: childShards,
  });
/** The same answer in JSON, as the SDK's deserializer reads it. */
const jsonBody = () =>
  Buffer.from(
    JSON.stringify({
      Records: records.map((r) => ({
        SequenceNumber: r.seq,
        ApproximateArrivalTimestamp: r.at,
        Data: r.data.toString('base64'),
        PartitionKey: r.key,
        EncryptionType: 'NONE',
      })),
      NextShardIterator: 'next',
      MillisBehindLatest: 42,
      ChildShards: childShards,
    }),
  );

interface Answer {
  status: number;
  type: string;
  body: Uint8Array;
  headers?: Record<string, string>;
}
let answer: Answer;
const seen: { headers: IncomingMessage['headers']; body: Buffer }[] = [];
let server: Server;
let endpoint: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(answer.status, { 'content-type': answer.type, ...answer.headers });
      res.end(answer.body);
    });
  });
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => (seen.length = 0));

function client(wireFormat?: 'json' | 'cbor') {
  const kinesis = new KinesisClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
  if (wireFormat) useFastGetRecords(kinesis, wireFormat);
  return kinesis;
}
const strip = ({ $metadata: _, ...rest }: Record<string, unknown>) => rest;
const getRecords = (kinesis: KinesisClient) => kinesis.send(new GetRecordsCommand({ ShardIterator: 'it-1', Limit: 500 }));
async function failure(kinesis: KinesisClient) {
  try {
    await getRecords(kinesis);
  } catch (error) {
    return error as Error & { $metadata?: { httpStatusCode?: number } };
  }
  throw new Error('GetRecords did not fail');
}

describe('GetRecords in CBOR', () => {
  let expected: Record<string, unknown>;
  beforeAll(async () => {
    answer = { status: 200, type: JSON_TYPE, body: jsonBody() };
    const sdk = client();
    expected = strip((await getRecords(sdk)) as never);
    sdk.destroy();
  });

  it('sends the request in CBOR with the same target, and signs what it sends', async () => {
    answer = { status: 200, type: CBOR, body: realKinesisBody() };
    const kinesis = client('cbor');
    await getRecords(kinesis);
    const [{ headers, body }] = seen;
    expect(headers['content-type']).toBe(CBOR);
    expect(headers.accept).toBe(CBOR);
    expect(headers['x-amz-target']).toBe('Kinesis_20131202.GetRecords');
    expect(Number(headers['content-length'])).toBe(body.length);
    expect(headers.authorization).toMatch(/SignedHeaders=[^,]*content-type/);
    expect(new Decoder({ useRecords: false, mapsAsObjects: true }).decode(body)).toEqual({ ShardIterator: 'it-1', Limit: 500 });
    // Every other call stays JSON.
    answer = { status: 200, type: JSON_TYPE, body: Buffer.from('{"ShardIterator":"x"}') };
    await kinesis.send(new GetShardIteratorCommand({ StreamName: 's', ShardId: 'shardId-000000000000', ShardIteratorType: 'LATEST' }));
    expect(seen[1].headers['content-type']).toBe(JSON_TYPE);
    kinesis.destroy();
  });

  it.each([
    ['real Kinesis (byte strings, tag 1 seconds)', realKinesisBody],
    ['kinesis-local (base64 text, untagged milliseconds)', kinesisLocalBody],
  ])('an answer in the shape of %s gives exactly what the SDK gives for the JSON answer', async (_, body) => {
    answer = { status: 200, type: CBOR, body: body() };
    const kinesis = client('cbor');
    const actual = await getRecords(kinesis);
    expect(strip(actual as never)).toEqual(expected);
    expect(Buffer.isBuffer(actual.Records![0].Data)).toBe(true);
    expect(Buffer.from(actual.Records![0].Data!).toString()).toBe('héllo');
    expect(actual.Records![0].ApproximateArrivalTimestamp!.getTime()).toBe(1764000000123);
    kinesis.destroy();
  });

  it('reads a JSON answer to a CBOR request (the service has been seen doing that)', async () => {
    answer = { status: 200, type: JSON_TYPE, body: jsonBody() };
    const kinesis = client('cbor');
    expect(strip((await getRecords(kinesis)) as never)).toEqual(expected);
    answer = { status: 400, type: JSON_TYPE, body: Buffer.from('{"__type":"ExpiredIteratorException","message":"Iterator expired"}') };
    expect(await failure(kinesis)).toMatchObject({ name: 'ExpiredIteratorException', message: 'Iterator expired' });
    kinesis.destroy();
  });

  const cborError = (type: string, message: string) => encoder.encode({ __type: type, message });
  it.each([
    ['ProvisionedThroughputExceededException', 'retry', 'Rate exceeded for shard shardId-000000000000'],
    ['ExpiredIteratorException', 'iterator', 'Iterator expired. The iterator was created at time ...'],
    ['InvalidArgumentException', 'iterator', 'Invalid ShardIterator.'],
    ['ResourceNotFoundException', 'not-found', 'Stream s not found'],
    ['KMSAccessDeniedException', 'permission', 'denied'],
  ])('a CBOR %s raises the same error as its JSON twin (read error %s)', async (type, kind, message) => {
    const status = 400;
    answer = { status, type: CBOR, body: cborError(type, message) };
    const cbor = client('cbor');
    const fromCbor = await failure(cbor);
    answer = { status, type: JSON_TYPE, body: Buffer.from(JSON.stringify({ __type: type, message })) };
    const json = client('json');
    const fromJson = await failure(json);
    expect(fromCbor.constructor).toBe(fromJson.constructor);
    expect({ name: fromCbor.name, message: fromCbor.message, status: fromCbor.$metadata?.httpStatusCode }).toEqual({
      name: fromJson.name,
      message: fromJson.message,
      status: fromJson.$metadata?.httpStatusCode,
    });
    expect(fromCbor.name).toBe(type);
    expect(classifyReadError(fromCbor)).toBe(kind);
    expect(isThrottling(fromCbor)).toBe(isThrottling(fromJson));
    cbor.destroy();
    json.destroy();
  });

  it('a throttled CBOR answer is retried by the SDK as a JSON one is', async () => {
    answer = { status: 400, type: CBOR, body: cborError('ProvisionedThroughputExceededException', 'Rate exceeded') };
    const kinesis = new KinesisClient({
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 3,
    });
    useFastGetRecords(kinesis, 'cbor');
    await expect(getRecords(kinesis)).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(seen).toHaveLength(3);
    kinesis.destroy();
  });

  it('a 5xx in CBOR, or one with an empty or unreadable body, is named from the status as for JSON', async () => {
    for (const body of [cborError('InternalFailure', 'oops'), Buffer.alloc(0), Buffer.from([0xff, 0x01])]) {
      answer = { status: 500, type: CBOR, body };
      const cbor = await failure(client('cbor'));
      answer = {
        status: 500,
        type: JSON_TYPE,
        body: body.length === 0 || body[0] === 0xff ? Buffer.alloc(0) : Buffer.from('{"__type":"InternalFailure","message":"oops"}'),
      };
      const json = await failure(client('json'));
      expect(cbor.name).toBe(json.name);
      expect(cbor.$metadata?.httpStatusCode).toBe(500);
      expect(classifyReadError(cbor)).toBe(classifyReadError(json));
    }
  });
});
