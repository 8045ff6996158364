import { DeleteStreamCommand } from '@aws-sdk/client-kinesis';
import { createWorker, type KinesisWorker, type StreamWorkerOptions, type WorkerEvent } from '../../lib';
import { createStream, faults, putRecords, startFaultProxy, type FaultProxy } from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { dynamoClient, endpoints, kinesisClient, scanRaw, uniqueName } from '../support/aws';
import { records } from '../support/records';
import { listShards, splitShard } from '../support/reshard';
import { waitFor } from '../support/wait-for';

/**
 * ResourceNotFoundException while reading (defect 4): a shard closed and past retention has ended, so
 * that its children start; a stream that is not found never ends a shard (SHARD_END is for good).
 * Native engine, kinesis-local behind the fault proxy.
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
let proxy: FaultProxy;
const workers = new Set<KinesisWorker>();

beforeAll(async () => {
  proxy = await startFaultProxy({ target: endpoints().kinesis });
});
afterEach(async () => {
  proxy.clear();
  await Promise.all([...workers].map((w) => w.stop()));
  workers.clear();
});
afterAll(async () => {
  await proxy.close();
  kinesis.destroy();
  dynamo.destroy();
});

async function startWorker(stream: string, options: Partial<StreamWorkerOptions> = {}) {
  const delivered: { shardId: string; data: string }[] = [];
  const events: WorkerEvent[] = [];
  const logger = new CapturingLogger();
  let gate: Promise<void> = Promise.resolve();
  const batches = { started: 0 };
  const worker = createWorker(
    {
      appName: uniqueName('app'),
      streamName: stream,
      kinesis: { endpoint: proxy.url },
      dynamodb: { endpoint: endpoints().dynamodb },
      idleTimeBetweenReadsMs: 50,
      failoverTimeMs: 3_000,
      parentShardPollIntervalMs: 200,
      shardSyncIntervalMs: 600_000,
      logger,
      onEvent: (event) => events.push(event),
      ...options,
    },
    () => ({
      async processRecords({ shardId, records: batch, checkpointer }) {
        batches.started++;
        await gate;
        delivered.push(...batch.map((r) => ({ shardId, data: r.data.toString() })));
        await checkpointer.checkpoint();
      },
    }),
  );
  workers.add(worker);
  await worker.start();
  return { worker, delivered, events, logger, batches, hold: (until: Promise<void>) => void (gate = until) };
}

it('the stream is deleted under a reading worker: the shard is not ended, status() says the stream is not found', async () => {
  const stream = uniqueName('deleted');
  await createStream(kinesis, stream, 1);
  const { worker, delivered, events, logger } = await startWorker(stream);
  await putRecords(kinesis, stream, records('r', 5));
  await waitFor(() => delivered.length >= 5, 'the 5 records');
  const appName = (worker.describe() as { appName: string }).appName;

  await kinesis.send(new DeleteStreamCommand({ StreamName: stream }));
  await waitFor(
    () => worker.describe().shards[0]?.error?.includes('the stream is not found') === true,
    'the shard reports the missing stream',
  );
  expect(events.filter((e) => e.type === 'shardEnded')).toEqual([]);
  const [lease] = await scanRaw(dynamo, appName);
  expect(lease.checkpoint.S).not.toBe('SHARD_END');
  expect(logger.lines.filter((l) => l.startsWith('ERROR') && l.includes('the stream is not found'))).toHaveLength(1);
});

it('a closed shard past retention (ResourceNotFoundException, no longer listed) ends, and its children deliver', async () => {
  const stream = uniqueName('retention');
  await createStream(kinesis, stream, 1);
  const [parent] = await listShards(kinesis, stream);
  const parentId = parent.ShardId!;
  let release!: () => void;
  const { delivered, events, logger, batches, hold } = await startWorker(stream);
  hold(new Promise<void>((resolve) => (release = resolve)));
  await putRecords(kinesis, stream, records('before', 5));
  await waitFor(() => batches.started === 1, "the parent's first batch held by the processor");

  // While the processor holds its first batch, the parent looks past retention from before the split on:
  // every read of it is ResourceNotFound, so no read can reach the closed parent and end it the ordinary
  // way (the reader prefetches one GetRecords while a batch is held, paced, so it may go out after the
  // split). ListShards stops listing the parent once its children exist; until then the parent is still
  // listed, and the engine reads it again.
  const gone = {
    __type: 'ResourceNotFoundException',
    message: `Shard ${parentId} in stream ${stream} under account 000000000000 does not exist`,
  };
  const parentReads = proxy.set(
    ['GetRecords', 'GetShardIterator'],
    faults.respond((r) => (r.operation === 'GetRecords' || r.body?.ShardId === parentId ? { status: 400, body: gone } : undefined)),
  );
  proxy.set(
    'ListShards',
    faults.transform((body) => {
      const shards = (body as { Shards?: { ShardId: string; ParentShardId?: string }[] }).Shards ?? [];
      const split = shards.some((s) => s.ParentShardId === parentId);
      return split ? { ...(body as object), Shards: shards.filter((s) => s.ShardId !== parentId) } : body;
    }),
  );
  await splitShard(kinesis, stream, parentId);
  release();

  await waitFor(() => events.some((e) => e.type === 'shardEnded' && e.shardId === parentId), 'the parent ended');
  const ended = events.find((e) => e.type === 'shardEnded' && e.shardId === parentId) as Extract<WorkerEvent, { type: 'shardEnded' }>;
  expect(ended.childShardIds).toHaveLength(2);
  expect(logger.lines.some((l) => l.includes(parentId) && l.includes('closed and past retention'))).toBe(true);
  // Only the parent is past retention: its children are read as usual.
  parentReads.remove();
  const after = await putRecords(kinesis, stream, records('after', 10));
  await waitFor(() => delivered.filter((d) => d.data.startsWith('after')).length >= 10, 'the records put in the children');
  expect(new Set(after.map((p) => p.shardId))).not.toContain(parentId);
  expect(
    delivered
      .filter((d) => d.data.startsWith('after'))
      .map((d) => d.data)
      .sort(),
  ).toEqual(after.map((p) => p.data.toString()).sort());
});
