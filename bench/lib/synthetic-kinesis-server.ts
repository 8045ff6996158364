/**
 * A minimal Kinesis endpoint that replays pre-encoded GetRecords responses, so that a consumer's own
 * ceiling shows rather than an emulator's. Run as a child process: argv = port shards recordBytes recordsPerResponse.
 * Every GetRecords answers a full batch and says the shard is far behind, forever.
 */
import { createServer } from 'node:http';

const [port, shardCount, recordBytes, perResponse] = process.argv.slice(2).map(Number) as [number, number, number, number];
const payload = Buffer.alloc(recordBytes, 'k').toString('base64');
const records = Array.from({ length: perResponse }, (_, i) => ({
  SequenceNumber: `4968061264274881052013050876133${String(i + 1).padStart(25, '0')}`,
  ApproximateArrivalTimestamp: 1764000000,
  Data: payload,
  PartitionKey: `pk-${i}`,
}));
// The body around the iterator is encoded once; only the iterator changes between responses.
const head = Buffer.from(`{"MillisBehindLatest":600000,"Records":${JSON.stringify(records)},"NextShardIterator":"`);
const tail = Buffer.from('"}');
const shards = Array.from({ length: shardCount }, (_, i) => ({
  ShardId: `shardId-${String(i).padStart(12, '0')}`,
  HashKeyRange: { StartingHashKey: String(i), EndingHashKey: String(i) },
  SequenceNumberRange: { StartingSequenceNumber: '1' },
}));

function json(res: import('node:http').ServerResponse, body: unknown) {
  const text = Buffer.from(JSON.stringify(body));
  res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': text.length });
  res.end(text);
}

createServer((req, res) => {
  const target = String(req.headers['x-amz-target'] ?? '').split('.')[1];
  const chunks: Buffer[] = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const input = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
    switch (target) {
      case 'DescribeStreamSummary':
        return json(res, { StreamDescriptionSummary: { StreamName: 'synthetic', StreamStatus: 'ACTIVE', OpenShardCount: shardCount } });
      case 'ListShards':
        return json(res, { Shards: shards });
      case 'GetShardIterator':
        return json(res, { ShardIterator: `${input.ShardId}|0` });
      case 'GetRecords': {
        const [shard, n] = String(input.ShardIterator).split('|');
        const next = Buffer.from(`${shard}|${Number(n) + 1}`);
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': head.length + next.length + tail.length });
        res.write(head);
        res.write(next);
        return res.end(tail);
      }
      default:
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' });
        return res.end(JSON.stringify({ __type: 'UnknownOperationException', message: String(target) }));
    }
  });
}).listen(port, '127.0.0.1', () => process.send?.('ready'));
