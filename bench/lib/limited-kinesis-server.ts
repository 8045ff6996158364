/**
 * A synthetic Kinesis endpoint that behaves like real shards (see shard-model.ts): data produced at
 * a configured rate per shard, increasing 56-digit sequence numbers, the read limits enforced with
 * Kinesis' own ProvisionedThroughputExceededException, honest MillisBehindLatest, ListShards paging.
 * It speaks the operations a consumer uses: DescribeStreamSummary, ListShards (paging, ShardFilter,
 * ExclusiveStartShardId), GetShardIterator and GetRecords, and counts the requests by operation (the Java
 * KCL 3.5.1 of the Java peer rows calls ListShards with a ShardFilter, GetShardIterator and GetRecords).
 * Run as a child process (its CPU is then not the consumer's): argv[2] = JSON of LimitedKinesisConfig.
 * Over IPC it answers 'stats' with LimitedKinesisStats.
 *
 * Like real Kinesis it speaks CBOR (`application/x-amz-cbor-1.1`) to a client that sends CBOR: every
 * answer, errors included, then comes in CBOR, GetRecords with Data as a byte string and
 * ApproximateArrivalTimestamp as tag 1 (epoch seconds, a float).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Decoder, Encoder } from 'cbor-x';
import { ShardModel } from './shard-model';

export interface LimitedKinesisConfig {
  readonly port: number;
  readonly streamName: string;
  readonly shards: number;
  readonly recordBytes: number;
  /** Per shard; Infinity (pass null in JSON) for a backlog without end. */
  readonly producedBytesPerSecond: number | null;
  readonly enforceLimits: boolean;
  /** Shards per ListShards page, NextToken beyond. Default 100; the bench passes 10, so that 16 to 64 shards span several pages. */
  readonly listShardsPageSize?: number;
  /**
   * Partition keys over the whole stream: record i of shard s gets pk-((i * shards + s) mod partitionKeys),
   * so each shard has its own keys and a key recurs every partitionKeys / shards records. Default: a new key per record.
   */
  readonly partitionKeys?: number;
}

export interface LimitedKinesisStats {
  readonly throttles: number;
  /** Of the throttles, those for a 6th call in a sliding second (the rest were over the byte budget). */
  readonly callThrottles: number;
  readonly getRecordsCalls: number;
  readonly recordsServed: number;
  readonly bytesServed: number;
  /** The most any shard's reader is behind the tip at this moment (ms), from the reader's position. */
  readonly maxLagMs: number;
  /** This server's CPU (user + system) since it started, µs: where a CPU ceiling comes from. */
  readonly cpuMicros: number;
  /** Records produced so far on each shard, and served to the reader. */
  readonly perShard: { shardId: string; produced: number; served: number }[];
  /** Requests received so far by operation (X-Amz-Target), answered or refused: what a consumer calls. */
  readonly operations: Record<string, number>;
  /** Of those requests, how many came in CBOR (the Java SDK v2's default for Kinesis). */
  readonly cborRequests: number;
}

const ACCOUNT = '000000000000';
const REGION = 'us-east-1';
const config = JSON.parse(process.argv[2]) as LimitedKinesisConfig;
const rate = config.producedBytesPerSecond ?? Infinity;
// A backlog without end has been "produced" ten minutes ago, so the reader is always behind.
const startedAt = Number.isFinite(rate) ? Date.now() : Date.now() - 600_000;
const shards = Array.from(
  { length: config.shards },
  (_, index) =>
    new ShardModel({
      index,
      recordBytes: config.recordBytes,
      producedBytesPerSecond: rate,
      enforceLimits: config.enforceLimits,
      startedAt,
    }),
);
const byId = new Map(shards.map((shard) => [shard.shardId, shard]));
const served = new Map<string, number>();
const payload = Buffer.from(Buffer.alloc(config.recordBytes, 'k').toString('base64'));
const CBOR = 'application/x-amz-cbor-1.1';
const cborEncoder = new Encoder({ useRecords: false });
const cborDecoder = new Decoder({ useRecords: false, mapsAsObjects: true });
/** The payload as a CBOR byte string (head and bytes), encoded once: each record's Data is a copy of it. */
const cborPayload = Buffer.from(cborEncoder.encode(Buffer.alloc(config.recordBytes, 'k')));
/** Whether the answer to `res` goes in CBOR: the request came in CBOR. */
const inCbor = new WeakSet<ServerResponse>();
const pageSize = config.listShardsPageSize ?? 100;
const indexById = new Map(shards.map((shard, index) => [shard.shardId, index]));
const keyOf = (shardIndex: number, i: number) =>
  config.partitionKeys ? `pk-${(i * config.shards + shardIndex) % config.partitionKeys}` : `pk-${i}`;
const streamArn = `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${config.streamName}`;
let getRecordsCalls = 0;
let recordsServed = 0;
const operations: Record<string, number> = {};
let cborRequests = 0;

function send(res: ServerResponse, status: number, body: Buffer | object): void {
  const cbor = inCbor.has(res);
  const text = Buffer.isBuffer(body) ? body : cbor ? Buffer.from(cborEncoder.encode(body)) : Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': cbor ? CBOR : 'application/x-amz-json-1.1',
    'content-length': text.length,
    'x-amzn-requestid': randomUUID(),
  });
  res.end(text);
}

function error(res: ServerResponse, type: string, message: string): void {
  send(res, 400, { __type: type, message });
}

function throttled(res: ServerResponse, shard: ShardModel): void {
  error(
    res,
    'ProvisionedThroughputExceededException',
    `Rate exceeded for shard ${shard.shardId} in stream ${config.streamName} under account ${ACCOUNT}.`,
  );
}

/** Evenly split 128-bit hash key ranges, as CreateStream does. */
function hashKeyRange(index: number) {
  const span = (1n << 128n) / BigInt(config.shards);
  const start = span * BigInt(index);
  const end = index === config.shards - 1 ? (1n << 128n) - 1n : start + span - 1n;
  return { StartingHashKey: String(start), EndingHashKey: String(end) };
}

const SHARD_FILTER_TYPES = new Set([
  'AFTER_SHARD_ID',
  'AT_TRIM_HORIZON',
  'FROM_TRIM_HORIZON',
  'AT_LATEST',
  'AT_TIMESTAMP',
  'FROM_TIMESTAMP',
]);

/**
 * ListShards with Kinesis' paging (NextToken alone on the pages after the first) and its ways to start
 * after a shard (ExclusiveStartShardId, ShardFilter AFTER_SHARD_ID). Every shard is open and has been since
 * the stream began, so the other filters (AT_LATEST, the Java KCL's on a new application at LATEST;
 * AT_TRIM_HORIZON, AT_TIMESTAMP...) return every shard, as Kinesis would for such a stream.
 */
function listShards(
  res: ServerResponse,
  input: {
    StreamName?: string;
    StreamARN?: string;
    NextToken?: string;
    MaxResults?: number;
    ExclusiveStartShardId?: string;
    ShardFilter?: { Type?: string; ShardId?: string };
  },
) {
  if (input.NextToken && (input.StreamName || input.StreamARN)) {
    return error(res, 'InvalidArgumentException', 'NextToken and StreamName cannot be provided together.');
  }
  if (input.NextToken && input.ExclusiveStartShardId) {
    return error(res, 'InvalidArgumentException', 'NextToken and ExclusiveStartShardId cannot be provided together.');
  }
  const filter = input.ShardFilter;
  if (filter && !SHARD_FILTER_TYPES.has(String(filter.Type))) {
    return error(res, 'InvalidArgumentException', `Invalid ShardFilter type ${filter.Type}.`);
  }
  if (filter?.Type === 'AFTER_SHARD_ID' && !filter.ShardId) {
    return error(res, 'InvalidArgumentException', 'ShardId must be provided with the AFTER_SHARD_ID ShardFilter.');
  }
  const after = input.ExclusiveStartShardId ?? (filter?.Type === 'AFTER_SHARD_ID' ? filter.ShardId : undefined);
  // Shard ids are zero-padded: their order is the string order.
  const start = after === undefined ? 0 : shards.findIndex((shard) => shard.shardId > after);
  const offset = input.NextToken ? Number(/^page:(\d+)$/.exec(input.NextToken)?.[1] ?? NaN) : start === -1 ? shards.length : start;
  if (Number.isNaN(offset)) return error(res, 'InvalidArgumentException', `Invalid NextToken ${input.NextToken}.`);
  const size = Math.min(pageSize, input.MaxResults ?? pageSize);
  const page = shards.slice(offset, offset + size).map((shard, i) => ({
    ShardId: shard.shardId,
    HashKeyRange: hashKeyRange(offset + i),
    SequenceNumberRange: { StartingSequenceNumber: shard.sequenceNumber(0) },
  }));
  const next = offset + size < shards.length ? `page:${offset + size}` : undefined;
  return send(res, 200, { Shards: page, ...(next ? { NextToken: next } : {}) });
}

function getShardIterator(
  res: ServerResponse,
  input: { ShardId: string; ShardIteratorType: string; StartingSequenceNumber?: string; Timestamp?: number },
) {
  const shard = byId.get(input.ShardId);
  if (!shard)
    return error(
      res,
      'ResourceNotFoundException',
      `Shard ${input.ShardId} in stream ${config.streamName} under account ${ACCOUNT} does not exist`,
    );
  const now = Date.now();
  if (!shard.getShardIterator(now)) return throttled(res, shard);
  let index: number | undefined;
  switch (input.ShardIteratorType) {
    case 'TRIM_HORIZON':
      index = 0;
      break;
    case 'LATEST':
      index = shard.produced(now);
      break;
    case 'AT_TIMESTAMP':
      index = shard.indexAt(Number(input.Timestamp) * 1000, now);
      break;
    case 'AT_SEQUENCE_NUMBER':
    case 'AFTER_SEQUENCE_NUMBER': {
      const at = shard.indexOf(String(input.StartingSequenceNumber));
      if (at !== undefined) index = input.ShardIteratorType === 'AT_SEQUENCE_NUMBER' ? at : at + 1;
      break;
    }
  }
  if (index === undefined)
    return error(res, 'InvalidArgumentException', `Invalid StartingSequenceNumber or ShardIteratorType for ${input.ShardId}.`);
  return send(res, 200, { ShardIterator: `${shard.shardId}/${index}` });
}

function getRecords(res: ServerResponse, input: { ShardIterator: string; Limit?: number }) {
  const [shardId, from] = String(input.ShardIterator).split('/');
  const shard = byId.get(shardId);
  if (!shard || !/^\d+$/.test(from ?? '')) return error(res, 'InvalidArgumentException', `Invalid ShardIterator ${input.ShardIterator}.`);
  getRecordsCalls++;
  const slice = shard.getRecords(Number(from), input.Limit ?? 10_000, Date.now());
  if (slice.throttled) return throttled(res, shard);
  recordsServed += slice.to - slice.from;
  served.set(shard.shardId, (served.get(shard.shardId) ?? 0) + slice.to - slice.from);
  if (inCbor.has(res)) return send(res, 200, cborRecords(shard, slice));
  const parts: Buffer[] = [Buffer.from('{"Records":[')];
  for (let i = slice.from; i < slice.to; i++) {
    const arrival = (shard.arrivalOf(i) / 1000).toFixed(3);
    parts.push(
      Buffer.from(
        `${i > slice.from ? ',' : ''}{"SequenceNumber":"${shard.sequenceNumber(i)}","ApproximateArrivalTimestamp":${arrival},"PartitionKey":"${keyOf(indexById.get(shard.shardId)!, i)}","Data":"`,
      ),
      payload,
      Buffer.from('"}'),
    );
  }
  parts.push(Buffer.from(`],"NextShardIterator":"${shard.shardId}/${slice.to}","MillisBehindLatest":${slice.millisBehindLatest}}`));
  return send(res, 200, Buffer.concat(parts));
}

/**
 * A GetRecords answer in CBOR, as real Kinesis sends it. Written by hand like the JSON one (a map of 3,
 * an array of records, each a map of 4 whose Data is the pre-encoded byte string, the rest written
 * into one buffer per record), so that the endpoint's CPU per answer stays close between the two
 * formats: a first version that called the CBOR encoder per field cost the endpoint 1.4x the JSON
 * answer's CPU per MB, which bounded the unpaced rows on a loaded machine.
 */
function cborRecords(shard: ShardModel, slice: { from: number; to: number; millisBehindLatest: number }): Buffer {
  const parts: Buffer[] = [Buffer.from([0xa3]), key('Records'), arrayHead(slice.to - slice.from)];
  const shardIndex = indexById.get(shard.shardId)!;
  for (let i = slice.from; i < slice.to; i++) {
    const sequence = shard.sequenceNumber(i);
    const partitionKey = keyOf(shardIndex, i);
    const head = Buffer.allocUnsafe(RECORD_HEAD_BYTES + sequence.length + partitionKey.length);
    let at = 0;
    head[at++] = 0xa4;
    at += KEY_SEQUENCE.copy(head, at);
    at = textHead(head, at, sequence.length);
    at += head.write(sequence, at, 'latin1');
    at += KEY_ARRIVAL.copy(head, at);
    // Tag 1 (0xc1) over a float64 (0xfb): epoch seconds with milliseconds.
    head[at++] = 0xc1;
    head[at++] = 0xfb;
    at = head.writeDoubleBE(shard.arrivalOf(i) / 1000, at);
    at += KEY_PARTITION.copy(head, at);
    at = textHead(head, at, partitionKey.length);
    at += head.write(partitionKey, at, 'latin1');
    at += KEY_DATA.copy(head, at);
    parts.push(head.subarray(0, at), cborPayload);
  }
  parts.push(
    key('NextShardIterator'),
    Buffer.from(cborEncoder.encode(`${shard.shardId}/${slice.to}`)),
    key('MillisBehindLatest'),
    Buffer.from(cborEncoder.encode(slice.millisBehindLatest)),
  );
  return Buffer.concat(parts);
}

const keys = new Map<string, Buffer>();
function key(name: string): Buffer {
  let encoded = keys.get(name);
  if (!encoded) keys.set(name, (encoded = Buffer.from(cborEncoder.encode(name))));
  return encoded;
}
const KEY_SEQUENCE = key('SequenceNumber');
const KEY_ARRIVAL = key('ApproximateArrivalTimestamp');
const KEY_PARTITION = key('PartitionKey');
const KEY_DATA = key('Data');
/** A record's bytes besides its sequence number and partition key (ASCII both): keys, heads, the timestamp. */
const RECORD_HEAD_BYTES = 1 + KEY_SEQUENCE.length + 3 + KEY_ARRIVAL.length + 10 + KEY_PARTITION.length + 3 + KEY_DATA.length;

/** The head of a text string of `length` bytes (up to 65535). */
function textHead(buffer: Buffer, at: number, length: number): number {
  if (length < 24) {
    buffer[at] = 0x60 + length;
    return at + 1;
  }
  if (length < 256) {
    buffer[at] = 0x78;
    buffer[at + 1] = length;
    return at + 2;
  }
  buffer[at] = 0x79;
  return buffer.writeUInt16BE(length, at + 1);
}

function arrayHead(count: number): Buffer {
  if (count < 24) return Buffer.from([0x80 + count]);
  if (count < 256) return Buffer.from([0x98, count]);
  if (count < 65536) return Buffer.from([0x99, count >> 8, count & 0xff]);
  const head = Buffer.alloc(5);
  head[0] = 0x9a;
  head.writeUInt32BE(count, 1);
  return head;
}

function parseInput(req: IncomingMessage, res: ServerResponse, body: Buffer): Record<string, unknown> {
  if (!String(req.headers['content-type'] ?? '').startsWith(CBOR)) return body.length ? JSON.parse(body.toString()) : {};
  inCbor.add(res);
  cborRequests++;
  return body.length ? (cborDecoder.decode(body) as Record<string, unknown>) : {};
}

function describeStreamSummary(res: ServerResponse) {
  return send(res, 200, {
    StreamDescriptionSummary: {
      StreamName: config.streamName,
      StreamARN: streamArn,
      StreamStatus: 'ACTIVE',
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      RetentionPeriodHours: 24,
      StreamCreationTimestamp: startedAt / 1000,
      EnhancedMonitoring: [{ ShardLevelMetrics: [] }],
      EncryptionType: 'NONE',
      OpenShardCount: config.shards,
      ConsumerCount: 0,
    },
  });
}

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

function stats(): LimitedKinesisStats {
  const now = Date.now();
  return {
    throttles: shards.reduce((sum, shard) => sum + shard.throttles, 0),
    callThrottles: shards.reduce((sum, shard) => sum + shard.callThrottles, 0),
    getRecordsCalls,
    recordsServed,
    bytesServed: recordsServed * config.recordBytes,
    maxLagMs: Math.max(...shards.map((shard) => shard.lagMs(now))),
    cpuMicros: cpuMicros(),
    perShard: shards.map((shard) => ({ shardId: shard.shardId, produced: shard.produced(now), served: served.get(shard.shardId) ?? 0 })),
    operations: { ...operations },
    cborRequests,
  };
}

process.on('message', (message) => {
  if (message === 'stats') process.send?.({ stats: stats() });
});

createServer((req, res) => {
  const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1];
  operations[operation] = (operations[operation] ?? 0) + 1;
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    // Each operation reads its own fields, as from JSON.parse.
    const input = parseInput(req, res, Buffer.concat(chunks)) as any;
    if (operation !== 'ListShards' && input.StreamName && input.StreamName !== config.streamName) {
      return error(res, 'ResourceNotFoundException', `Stream ${input.StreamName} under account ${ACCOUNT} not found.`);
    }
    switch (operation) {
      case 'DescribeStreamSummary':
        return describeStreamSummary(res);
      case 'ListShards':
        return listShards(res, input);
      case 'GetShardIterator':
        return getShardIterator(res, input);
      case 'GetRecords':
        return getRecords(res, input);
      default:
        return error(res, 'UnknownOperationException', `${operation} is not served by the synthetic endpoint.`);
    }
  });
}).listen(config.port, '127.0.0.1', () => process.send?.('ready'));
