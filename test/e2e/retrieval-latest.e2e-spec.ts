import { ListShardsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createWorker, type KinesisWorker, type StreamWorkerOptions } from '../../lib';
import { createStream, faults, putRecords, startFaultProxy, type FaultProxy, type PutResult } from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { endpoints, kinesisClient, uniqueName } from '../support/aws';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';

/**
 * initialPosition 'LATEST' on a fresh application (native engine, polling and fan-out): the start is the
 * server's own LATEST, fixed when the lease is taken, so nothing put before is delivered and nothing put
 * after is skipped; when that first position is lost before any record was read, the start falls back to
 * the take time less the clock margin, and what was put meanwhile is still delivered.
 */
const kinesis = kinesisClient();
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
});

type Mode = 'polling' | 'fanout';

interface Delivered {
  shardId: string;
  data: string;
}

function latestWorker(stream: string, mode: Mode, options: Partial<StreamWorkerOptions> = {}) {
  const delivered: Delivered[] = [];
  const logger = new CapturingLogger();
  const worker = createWorker(
    {
      appName: uniqueName('app'),
      streamName: stream,
      initialPosition: 'LATEST',
      kinesis: { endpoint: proxy.url },
      dynamodb: { endpoint: endpoints().dynamodb },
      idleTimeBetweenReadsMs: 50,
      failoverTimeMs: 3_000,
      logger,
      ...(mode === 'fanout' ? { retrieval: { mode: 'fanout', requestHandler: new NodeHttpHandler() } } : {}),
      ...options,
    },
    () => ({
      async processRecords({ shardId, records: batch, checkpointer }) {
        for (const r of batch) delivered.push({ shardId, data: r.data.toString() });
        await checkpointer.checkpoint();
      },
    }),
  );
  workers.add(worker);
  return { worker, delivered, logger };
}

/** Each shard's first hash key: a record put with it as ExplicitHashKey lands on that shard. */
async function hashKeys(stream: string): Promise<Map<string, string>> {
  const { Shards } = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
  return new Map((Shards ?? []).map((s) => [s.ShardId!, s.HashKeyRange!.StartingHashKey!]));
}

const putTo = (stream: string, hashKey: string, prefix: string, count: number) =>
  putRecords(
    kinesis,
    stream,
    records(prefix, count).map((r) => ({ ...r, explicitHashKey: hashKey })),
  );

const data = (puts: readonly PutResult[]) => puts.map((p) => p.data.toString());
const ofShard = (delivered: readonly Delivered[], shardId: string) => delivered.filter((d) => d.shardId === shardId).map((d) => d.data);

describe.each<Mode>(['polling', 'fanout'])('LATEST on a fresh application (native engine, %s)', (mode) => {
  it('delivers nothing put before the worker started and everything put from the moment each lease was reported taken', async () => {
    const stream = uniqueName(`latest-${mode}`);
    await createStream(kinesis, stream, 2);
    const keys = await hashKeys(stream);
    // Put before the worker starts, and while its start lists the shards, the last thing it asks Kinesis
    // before it takes the leases (well within a second of the take): on a clean network none is delivered.
    const before = await putRecords(kinesis, stream, records('before', 20));
    let starting = true;
    proxy.set(
      'ListShards',
      faults.respond(async () => {
        if (starting) before.push(...(await putRecords(kinesis, stream, records(`listing-${before.length}`, 10))));
        return undefined;
      }),
    );
    const whenTaken: Promise<PutResult[]>[] = [];
    const { worker, delivered } = latestWorker(stream, mode, {
      // The moment a lease is reported taken, records go to its shard: every one of them must arrive.
      onEvent: (event) => {
        if (event.type === 'leaseTaken') whenTaken.push(putTo(stream, keys.get(event.shardId)!, `taken-${event.shardId}`, 5));
      },
    });
    await worker.start();
    starting = false;
    expect(before.length).toBeGreaterThan(20);
    const after = await putRecords(kinesis, stream, records('after', 10));
    await waitFor(() => whenTaken.length === 2, 'both leases taken');
    const taken = (await Promise.all(whenTaken)).flat();
    const wanted = [...taken, ...after];
    await waitFor(() => wanted.every((p) => delivered.some((d) => d.data === p.data.toString())), `${wanted.length} records`);
    // The negative check: a last record on each shard. Delivery is in order per shard, so once it has
    // arrived nothing put before it (the records put before the start included) can still come.
    const last = (await Promise.all([...keys.values()].map((key, i) => putTo(stream, key, `last-${i}`, 1)))).flat();
    await waitFor(() => last.every((p) => delivered.some((d) => d.data === p.data.toString())), 'the last record of each shard');
    for (const shardId of keys.keys()) {
      const put = [...wanted, ...last].filter((p) => p.shardId === shardId);
      expect(ofShard(delivered, shardId).sort()).toEqual(data(put).sort());
    }
    expect(delivered.filter((d) => data(before).includes(d.data))).toEqual([]);
    expect(delivered).toHaveLength(wanted.length + last.length);
  });
});

describe('LATEST when the first position is lost before any record was read', () => {
  it('polling: the LATEST iterator expires before its first record; the new one starts at the take time less the margin and everything put meanwhile is delivered', async () => {
    const stream = uniqueName('latest-expired');
    await createStream(kinesis, stream, 1);
    const shapes: string[] = [];
    proxy.set(
      'GetShardIterator',
      faults.respond((r) => void shapes.push(String(r.body?.ShardIteratorType))),
    );
    // Every GetRecords is told its iterator expired until the records below are all put: they land
    // between the take and the recovery.
    let putsDone = false;
    proxy.set((r) => r.operation === 'GetRecords' && !putsDone, 'expiredIterator');
    const { worker, delivered } = latestWorker(stream, 'polling', { kinesis: { endpoint: proxy.url, maxAttempts: 1 } });
    await worker.start();
    await waitFor(() => proxy.requests.some((r) => r.operation === 'GetRecords' && r.fault === 'expiredIterator'), 'an expired iterator');
    const puts = await putRecords(kinesis, stream, records('meanwhile', 20));
    putsDone = true;
    await waitFor(() => delivered.length >= puts.length, `${puts.length} records`);
    expect(delivered.map((d) => d.data)).toEqual(data(puts));
    // One LATEST iterator, taken with the lease; every later one from the pinned time, never a fresh LATEST.
    expect(shapes[0]).toBe('LATEST');
    expect(shapes.length).toBeGreaterThan(1);
    expect(shapes.slice(1).every((type) => type === 'AT_TIMESTAMP')).toBe(true);
  });

  it('fan-out: the LATEST subscription is refused at the take; the start falls back to the take time less the margin and nothing put after the take is skipped', async () => {
    const stream = uniqueName('latest-refused');
    await createStream(kinesis, stream, 1);
    // The first SubscribeToShard (the LATEST one, at the take) gets Kinesis' InternalFailure; the rest go through.
    const shapes: string[] = [];
    proxy.set(
      'SubscribeToShard',
      faults.respond((r) => {
        shapes.push(String((r.body?.StartingPosition as { Type?: string } | undefined)?.Type));
        if (shapes.length > 1) return undefined;
        return { status: 500, body: { __type: 'InternalFailure', message: 'We encountered an internal error. Please try again.' } };
      }),
    );
    const { worker, delivered, logger } = latestWorker(stream, 'fanout');
    await worker.start();
    const puts = await putRecords(kinesis, stream, records('meanwhile', 20));
    await waitFor(() => delivered.length >= puts.length, `${puts.length} records`);
    expect(delivered.map((d) => d.data)).toEqual(data(puts));
    expect(shapes[0]).toBe('LATEST');
    expect(shapes.length).toBeGreaterThan(1);
    expect(shapes.slice(1).every((type) => type === 'AT_TIMESTAMP' || type === 'AFTER_SEQUENCE_NUMBER')).toBe(true);
    expect(shapes[1]).toBe('AT_TIMESTAMP');
    expect(logger.lines.filter((l) => l.includes('no LATEST subscription when the lease was taken'))).toHaveLength(1);
  });
});
