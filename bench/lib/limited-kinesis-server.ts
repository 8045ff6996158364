/**
 * A synthetic Kinesis endpoint that behaves like real shards (see shard-model.ts): data produced at
 * a configured rate per shard, increasing 56-digit sequence numbers, the read limits enforced with
 * Kinesis' own ProvisionedThroughputExceededException, honest MillisBehindLatest, ListShards paging.
 * It speaks the operations a consumer uses: DescribeStreamSummary, ListShards, GetShardIterator and
 * GetRecords. Run as a child process (its CPU is then not the consumer's): argv[2] = JSON of
 * LimitedKinesisConfig. Over IPC it answers 'stats' with LimitedKinesisStats.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
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
const pageSize = config.listShardsPageSize ?? 100;
const indexById = new Map(shards.map((shard, index) => [shard.shardId, index]));
const keyOf = (shardIndex: number, i: number) =>
  config.partitionKeys ? `pk-${(i * config.shards + shardIndex) % config.partitionKeys}` : `pk-${i}`;
const streamArn = `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${config.streamName}`;
let getRecordsCalls = 0;
let recordsServed = 0;

function send(res: ServerResponse, status: number, body: Buffer | object): void {
  const text = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': text.length, 'x-amzn-requestid': randomUUID() });
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

function listShards(res: ServerResponse, input: { StreamName?: string; StreamARN?: string; NextToken?: string; MaxResults?: number }) {
  if (input.NextToken && (input.StreamName || input.StreamARN)) {
    return error(res, 'InvalidArgumentException', 'NextToken and StreamName cannot be provided together.');
  }
  const offset = input.NextToken ? Number(/^page:(\d+)$/.exec(input.NextToken)?.[1] ?? NaN) : 0;
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
  recordsServed += slice.to - slice.from;
  served.set(shard.shardId, (served.get(shard.shardId) ?? 0) + slice.to - slice.from);
  return send(res, 200, Buffer.concat(parts));
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
  };
}

process.on('message', (message) => {
  if (message === 'stats') process.send?.({ stats: stats() });
});

createServer((req, res) => {
  const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1];
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const input = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
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
