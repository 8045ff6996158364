import { request } from 'node:http';
import { ListShardsCommand, type ListShardsCommandInput } from '@aws-sdk/client-kinesis';
import { Decoder, Encoder } from 'cbor-x';
import { stopChild } from '../../bench/lib/child';
import { kinesisClientFor, limitedKinesis } from '../../bench/lib/setup';
import { READ_LIMITS } from '../../bench/lib/shard-model';

// The limited synthetic Kinesis (bench/lib/limited-kinesis-server.ts) answers ListShards as Kinesis does
// for the calls the Java KCL 3.5.1 makes (a ShardFilter on the first page, NextToken alone after it), and
// counts the requests it gets by operation and in CBOR, which the Java peer rows report.
const shardId = (index: number) => `shardId-${String(index).padStart(12, '0')}`;

describe('bench limited endpoint: ListShards and its request counts', () => {
  let server: Awaited<ReturnType<typeof limitedKinesis>>;
  let kinesis: ReturnType<typeof kinesisClientFor>;

  beforeAll(async () => {
    server = await limitedKinesis({
      streamName: 'limited',
      shards: 12,
      recordBytes: 1024,
      producedBytesPerSecond: READ_LIMITS.bytesPerSecond,
      enforceLimits: true,
      listShardsPageSize: 5,
    });
    kinesis = kinesisClientFor(server.endpoint);
  });
  afterAll(async () => {
    kinesis?.destroy();
    if (server) await stopChild(server.child);
  });

  /** Every page from a first request, following NextToken alone, as the KCL does. */
  async function allPages(first: ListShardsCommandInput): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let input: ListShardsCommandInput = first;
    for (let pages = 1; ; pages++) {
      const page = await kinesis.send(new ListShardsCommand(input));
      ids.push(...(page.Shards ?? []).map((shard) => shard.ShardId!));
      if (!page.NextToken) return { ids, pages };
      input = { NextToken: page.NextToken };
    }
  }

  it('lists every shard with the AT_LATEST filter of a new KCL application, over pages', async () => {
    const { ids, pages } = await allPages({ StreamName: 'limited', ShardFilter: { Type: 'AT_LATEST' } });
    expect(ids).toEqual(Array.from({ length: 12 }, (_, i) => shardId(i)));
    expect(pages).toBe(3);
  });

  it('starts after a shard with AFTER_SHARD_ID or ExclusiveStartShardId', async () => {
    expect((await allPages({ StreamName: 'limited', ShardFilter: { Type: 'AFTER_SHARD_ID', ShardId: shardId(9) } })).ids).toEqual([
      shardId(10),
      shardId(11),
    ]);
    const { ids } = await allPages({ StreamName: 'limited', ExclusiveStartShardId: shardId(3) });
    expect(ids).toEqual(Array.from({ length: 8 }, (_, i) => shardId(i + 4)));
    expect((await allPages({ StreamName: 'limited', ExclusiveStartShardId: shardId(11) })).ids).toEqual([]);
  });

  it('refuses what Kinesis refuses: NextToken with ExclusiveStartShardId, an unknown filter type, AFTER_SHARD_ID without a ShardId', async () => {
    const { NextToken } = await kinesis.send(new ListShardsCommand({ StreamName: 'limited' }));
    await expect(kinesis.send(new ListShardsCommand({ NextToken, ExclusiveStartShardId: shardId(1) }))).rejects.toMatchObject({
      name: 'InvalidArgumentException',
    });
    await expect(
      kinesis.send(new ListShardsCommand({ StreamName: 'limited', ShardFilter: { Type: 'AT_SOMETHING' as 'AT_LATEST' } })),
    ).rejects.toMatchObject({ name: 'InvalidArgumentException' });
    await expect(
      kinesis.send(new ListShardsCommand({ StreamName: 'limited', ShardFilter: { Type: 'AFTER_SHARD_ID' } })),
    ).rejects.toMatchObject({
      name: 'InvalidArgumentException',
    });
  });

  it('answers a CBOR request in CBOR, and counts the requests by operation and those in CBOR', async () => {
    const before = await server.stats();
    const body = Buffer.from(new Encoder({ useRecords: false }).encode({ StreamName: 'limited', ShardFilter: { Type: 'AT_LATEST' } }));
    const answer = await new Promise<{ type: string; body: Buffer }>((resolve, reject) => {
      const req = request(
        server.endpoint,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/x-amz-cbor-1.1',
            'x-amz-target': 'Kinesis_20131202.ListShards',
            'content-length': body.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => resolve({ type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(answer.type).toBe('application/x-amz-cbor-1.1');
    const decoded = new Decoder({ useRecords: false, mapsAsObjects: true }).decode(answer.body) as {
      Shards: { ShardId: string }[];
      NextToken: string;
    };
    expect(decoded.Shards.map((shard) => shard.ShardId)).toEqual([0, 1, 2, 3, 4].map(shardId));
    expect(decoded.NextToken).toBeDefined();
    await kinesis.send(new ListShardsCommand({ StreamName: 'limited' }));

    const after = await server.stats();
    expect(after.operations.ListShards - before.operations.ListShards).toBe(2);
    expect(after.cborRequests - before.cborRequests).toBe(1);
    expect(after.operations.GetRecords).toBeUndefined();
  });
});
