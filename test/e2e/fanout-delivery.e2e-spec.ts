import { DescribeStreamConsumerCommand, DescribeStreamSummaryCommand, ListStreamConsumersCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createStream, putRecords } from '../../lib/testing';
import type { StreamWorkerOptions } from '../../lib';
import { dynamoClient, kinesisClient, uniqueName } from '../support/aws';
import { readLeases } from '../support/lease-table';
import { records } from '../support/records';
import { listShards, splitShard } from '../support/reshard';
import { waitFor } from '../support/wait-for';
import { BackgroundProducer } from '../support/producer';
import { ObservedWorker, expectedData } from './lifecycle-harness';

const kinesis = kinesisClient();
const dynamo = dynamoClient();
const running = new Set<ObservedWorker>();
afterEach(async () => {
  await BackgroundProducer.stopAll();
  await Promise.all([...running].map((w) => w.worker.stop()));
  running.clear();
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

/** kinesis-local serves SubscribeToShard over HTTP/1.1 only: the one setting a local fan-out worker needs. */
const FANOUT = { mode: 'fanout', requestHandler: new NodeHttpHandler() } as const;

function fanoutWorker(
  options: Partial<StreamWorkerOptions> & Pick<StreamWorkerOptions, 'appName' | 'streamName'>,
  behaviour?: ConstructorParameters<typeof ObservedWorker>[1],
) {
  const worker = new ObservedWorker({ retrieval: FANOUT, ...options }, behaviour);
  running.add(worker);
  return worker;
}

const idsOf = (puts: readonly { shardId: string }[]) => [...new Set(puts.map((p) => p.shardId))];

describe('enhanced fan-out (native engine, kinesis-local)', () => {
  it('registers the consumer under appName and delivers every record once, in order per shard, with checkpoints; a restart resumes at the checkpoint', async () => {
    const stream = uniqueName('fanout');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 2);
    const before = await putRecords(kinesis, stream, records('before', 30));
    const first = fanoutWorker({ appName, streamName: stream });
    await first.worker.start();
    const during = await putRecords(kinesis, stream, records('during', 30));
    await waitFor(() => first.delivered([...before, ...during]), 'every record through fan-out');

    const { StreamDescriptionSummary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    const consumer = await kinesis.send(
      new DescribeStreamConsumerCommand({ StreamARN: StreamDescriptionSummary!.StreamARN, ConsumerName: appName }),
    );
    expect(consumer.ConsumerDescription!.ConsumerStatus).toBe('ACTIVE');
    expect(first.lines(/Enhanced fan-out through .*ACTIVE/)).toHaveLength(1);
    const all = [...before, ...during];
    for (const shardId of idsOf(all)) expect(first.firstDeliveries(shardId)).toEqual(expectedData(all, shardId));
    expect(first.deliveries).toHaveLength(all.length);
    expect(first.orderViolations()).toEqual([]);
    await first.worker.stop();
    running.delete(first);
    const leases = await readLeases(dynamo, appName);
    for (const shardId of idsOf(all)) {
      expect(leases.find((l) => l.shardId === shardId)!.checkpoint).toBe(all.filter((p) => p.shardId === shardId).at(-1)!.sequenceNumber);
    }

    // A second run finds the consumer (RegisterStreamConsumer: ResourceInUseException) and starts after the checkpoints.
    const after = await putRecords(kinesis, stream, records('after', 20));
    const second = fanoutWorker({ appName, streamName: stream });
    await second.worker.start();
    await waitFor(() => second.delivered(after), 'the records put while no worker ran');
    expect(second.deliveries.map((d) => d.data).sort()).toEqual(after.map((p) => p.data.toString()).sort());
    for (const shardId of idsOf(after)) expect(second.firstDeliveries(shardId)).toEqual(expectedData(after, shardId));
    expect(second.lines(/Registered the stream consumer/)).toHaveLength(0);
  });

  it('finishes a split parent (TERMINATE, SHARD_END) before its children start, and reads the children through fan-out', async () => {
    const stream = uniqueName('fanout-split');
    const appName = uniqueName('app');
    const PARENT = 'shardId-000000000000';
    await createStream(kinesis, stream, 1);
    const parentPuts = await putRecords(kinesis, stream, records('parent', 10));
    const observed = fanoutWorker({ appName, streamName: stream });
    await observed.worker.start();
    await waitFor(() => observed.delivered(parentPuts), 'the parent records');
    await splitShard(kinesis, stream, PARENT);
    const children = (await listShards(kinesis, stream)).filter((s) => s.ParentShardId === PARENT).map((s) => s.ShardId!);
    const childPuts = await putRecords(kinesis, stream, records('child', 16));
    await waitFor(() => observed.delivered(childPuts), 'every child record');

    const terminate = observed.observed.find((o) => o.shardId === PARENT && o.reason === 'TERMINATE');
    expect(terminate).toBeDefined();
    const childStarts = observed.observed.filter((o) => children.includes(o.shardId) && o.type === 'initialize');
    expect(childStarts.length).toBe(2);
    expect(Math.min(...childStarts.map((o) => o.at))).toBeGreaterThanOrEqual(terminate!.at);
    expect(
      observed.events
        .filter((e) => e.type === 'shardEnded')
        .map((e) => [...(e as { childShardIds: readonly string[] }).childShardIds].sort()),
    ).toEqual([children.sort()]);
    expect(observed.firstDeliveries(PARENT)).toEqual(expectedData(parentPuts, PARENT));
    for (const child of children) expect(observed.firstDeliveries(child)).toEqual(expectedData(childPuts, child));
    expect(observed.deliveries).toHaveLength(parentPuts.length + childPuts.length);
  });

  it('two workers share the shards through one registered consumer, and together deliver every record in order', async () => {
    const stream = uniqueName('fanout-two');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 4);
    const a = fanoutWorker({ appName, streamName: stream });
    await a.worker.start();
    const producer = new BackgroundProducer(kinesis, stream, 8, 100);
    producer.start();
    const b = fanoutWorker({ appName, streamName: stream });
    await b.worker.start();
    const owners = async () => new Set((await readLeases(dynamo, appName)).map((l) => l.owner));
    await waitFor(async () => (await owners()).size === 2 && b.deliveries.length > 0, 'both workers holding leases and delivering');
    await producer.stop();
    const puts = producer.puts;
    await waitFor(
      () =>
        puts.every(
          (p) =>
            a.deliveries.some((d) => d.sequenceNumber === p.sequenceNumber) ||
            b.deliveries.some((d) => d.sequenceNumber === p.sequenceNumber),
        ),
      'every record by one of the workers',
    );
    expect(a.orderViolations()).toEqual([]);
    expect(b.orderViolations()).toEqual([]);
    for (const shardId of idsOf(puts)) {
      const seen = [
        ...new Set(
          [...a.deliveries, ...b.deliveries]
            .filter((d) => d.shardId === shardId)
            .sort((x, y) => (BigInt(x.sequenceNumber) < BigInt(y.sequenceNumber) ? -1 : 1))
            .map((d) => d.data),
        ),
      ];
      expect(seen).toEqual(expectedData(puts, shardId));
    }
    // Each worker subscribes with the same consumer: a lease that moved may meet the previous subscription still open (ResourceInUse), never a lost record.
    expect([...a.lines(/Enhanced fan-out through/), ...b.lines(/Enhanced fan-out through/)]).toHaveLength(2);
    // One consumer registered for the stream, not one per worker (the service allows 20 a stream).
    const { StreamDescriptionSummary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    const { Consumers } = await kinesis.send(new ListStreamConsumersCommand({ StreamARN: StreamDescriptionSummary!.StreamARN }));
    expect((Consumers ?? []).map((c) => c.ConsumerName)).toEqual([appName]);
  });

  it('a slow processor (1.2 s per batch) gets every record once, in order', async () => {
    const stream = uniqueName('fanout-slow');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 1);
    let calls = 0;
    const slow = fanoutWorker(
      { appName, streamName: stream },
      { beforeBatch: async () => void (calls++, await new Promise((resolve) => setTimeout(resolve, 1_200))) },
    );
    await slow.worker.start();
    const producer = new BackgroundProducer(kinesis, stream, 10, 50);
    producer.start();
    // kinesis-local pushes one event a second: produce until the slow processor has had several, so
    // the records cannot all arrive in one event (as they can when the subscription starts late under load).
    await waitFor(() => producer.puts.length >= 100 && calls >= 2, 'records put while the processor is slow, over several events', 30_000);
    await producer.stop();
    await waitFor(() => slow.delivered(producer.puts), 'every record through the slow processor');
    expect(slow.firstDeliveries('shardId-000000000000')).toEqual(expectedData(producer.puts, 'shardId-000000000000'));
    expect(slow.deliveries).toHaveLength(producer.puts.length);
    // Several batches, each delivered only once the previous processRecords returned.
    expect(calls).toBeGreaterThan(1);
  });
});
