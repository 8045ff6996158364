import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetRecordsCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { useFastGetRecords } from '../../../../../lib/engines/native/retrieval/fast-get-records';

// A GetRecords answer with every field the service may send, fractional timestamps and an empty payload.
const BODY = {
  Records: [
    {
      SequenceNumber: '49680612642748810520130508761332395660737153554171559938',
      ApproximateArrivalTimestamp: 1764000000.123,
      Data: Buffer.from('héllo').toString('base64'),
      PartitionKey: 'a',
      EncryptionType: 'NONE',
    },
    {
      SequenceNumber: '49680612642748810520130508761332395660737153554171559939',
      ApproximateArrivalTimestamp: 1764000001,
      Data: '',
      PartitionKey: 'b',
    },
    {
      SequenceNumber: '49680612642748810520130508761332395660737153554171559940',
      ApproximateArrivalTimestamp: 1764000002.9999,
      Data: Buffer.alloc(3000, 7).toString('base64'),
      PartitionKey: 'c',
      EncryptionType: 'KMS',
    },
  ],
  MillisBehindLatest: 42,
  ChildShards: [
    {
      ShardId: 'shardId-000000000004',
      ParentShards: ['shardId-000000000001'],
      HashKeyRange: { StartingHashKey: '0', EndingHashKey: '99' },
    },
  ],
};

let server: Server;
let endpoint: string;
let answer: { status: number; body: unknown; splitAt?: number[] } = { status: 200, body: BODY };
beforeAll(async () => {
  // eslint-disable-next-line @typescript-eslint/no-misused-promises -- node:http ignores the handler's promise; a failed write fails the test's request
  server = createServer(async (_, res) => {
    res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1' });
    const body = Buffer.from(JSON.stringify(answer.body));
    // splitAt: send the body in pieces, each flushed before the next, so that the client reads it in several chunks.
    let from = 0;
    for (const at of answer.splitAt ?? []) {
      await new Promise<void>((resolve) => res.write(body.subarray(from, at), () => setTimeout(resolve, 15)));
      from = at;
    }
    res.end(body.subarray(from));
  });
  // Node closes an idle keep-alive socket after 5 s; a client that reuses it just then reads ECONNRESET
  // (seen on a loaded machine, where parsing 3000 records with the SDK's own deserializer took that long).
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

function client(fast: boolean) {
  const kinesis = new KinesisClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
  if (fast) useFastGetRecords(kinesis);
  return kinesis;
}

const strip = ({ $metadata: _, ...rest }: Record<string, unknown>) => rest;

describe('fast GetRecords parsing', () => {
  it('returns exactly what the SDK deserializer returns', async () => {
    const [slow, fast] = [client(false), client(true)];
    const expected = await slow.send(new GetRecordsCommand({ ShardIterator: 'it' }));
    const actual = await fast.send(new GetRecordsCommand({ ShardIterator: 'it' }));
    expect(expected.NextShardIterator).toBeUndefined();
    expect(strip(actual as never)).toEqual(strip(expected as never));
    expect(Buffer.from(actual.Records![0].Data!).toString()).toBe('héllo');
    answer = { status: 200, body: { ...BODY, NextShardIterator: 'next', ChildShards: undefined } };
    expect(strip((await fast.send(new GetRecordsCommand({ ShardIterator: 'it' }))) as never)).toEqual(
      strip((await slow.send(new GetRecordsCommand({ ShardIterator: 'it' }))) as never),
    );
    slow.destroy();
    fast.destroy();
  });

  it('records with non-ASCII partition keys and payloads decode as the SDK decodes them, over many chunks, a character split between two', async () => {
    const keys = ['ключ', 'clé-ü', '🙂-emoji', '名前', 'plain'];
    const records = Array.from({ length: 3_000 }, (_, i) => ({
      SequenceNumber: String(49680612642748810520130508761332395660737153554171559938n + BigInt(i)),
      ApproximateArrivalTimestamp: 1764000000 + i / 1000,
      Data: Buffer.from(`${keys[i % keys.length]}:${i}:${'x'.repeat(i % 700)}`).toString('base64'),
      PartitionKey: `${keys[i % keys.length]}-${i}`,
    }));
    const body = { Records: records, NextShardIterator: 'next-ü', MillisBehindLatest: 0 };
    const text = Buffer.from(JSON.stringify(body));
    const emoji = text.indexOf(Buffer.from('🙂'));
    // One cut inside the 4-byte emoji, the rest spread over the body.
    answer = { status: 200, body, splitAt: [emoji + 2, Math.floor(text.length / 3), Math.floor((2 * text.length) / 3)] };
    const [slow, fast] = [client(false), client(true)];
    const actual = await fast.send(new GetRecordsCommand({ ShardIterator: 'it' }));
    const expected = await slow.send(new GetRecordsCommand({ ShardIterator: 'it' }));
    expect(actual.Records).toHaveLength(3_000);
    expect(strip(actual as never)).toEqual(strip(expected as never));
    expect(actual.Records!.slice(0, 5).map((record) => record.PartitionKey)).toEqual(keys.map((key, i) => `${key}-${i}`));
    expect(Buffer.from(actual.Records![2].Data!).toString()).toBe('🙂-emoji:2:xx');

    // A smaller body after the larger one: the reused buffer must not leak the previous body's bytes.
    answer = { status: 200, body: { ...BODY, NextShardIterator: 'n' }, splitAt: [40] };
    expect(strip((await fast.send(new GetRecordsCommand({ ShardIterator: 'it' }))) as never)).toEqual(
      strip((await slow.send(new GetRecordsCommand({ ShardIterator: 'it' }))) as never),
    );
    slow.destroy();
    fast.destroy();
  });

  it('leaves errors to the SDK', async () => {
    answer = { status: 400, body: { __type: 'ExpiredIteratorException', message: 'Iterator expired' } };
    const fast = client(true);
    await expect(fast.send(new GetRecordsCommand({ ShardIterator: 'it' }))).rejects.toMatchObject({ name: 'ExpiredIteratorException' });
    fast.destroy();
  });
});
