import { DescribeStreamConsumerCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createStream, putRecords } from '../../lib/testing';
import { createWorker, type KinesisWorker } from '../../lib';
import { dynamoClient, kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import { readLeases } from '../support/lease-table';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';

const kinesis = kinesisClient();
const dynamo = dynamoClient();
let worker: KinesisWorker | undefined;
afterEach(async () => {
  await worker?.stop();
  worker = undefined;
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

describe('enhanced fan-out on several streams (one multi-stream lease table)', () => {
  it('registers one consumer named after appName on each stream and delivers every record of both, in order per shard, with checkpoints', async () => {
    const streams = [uniqueName('fanout-ms-a'), uniqueName('fanout-ms-b')];
    const appName = uniqueName('app');
    for (const stream of streams) await createStream(kinesis, stream, 2);
    const puts = new Map<string, Awaited<ReturnType<typeof putRecords>>>();
    for (const stream of streams) puts.set(stream, await putRecords(kinesis, stream, records(stream, 20)));

    const delivered = new Map<string, string[]>();
    worker = createWorker(
      {
        ...workerClientOptions(),
        appName,
        streams,
        retrieval: { mode: 'fanout', requestHandler: new NodeHttpHandler() },
        failoverTimeMs: 3_000,
        leaseTakerIntervalMs: 300,
        shardSyncIntervalMs: 1_000,
        logger: new CapturingLogger(),
      },
      ({ streamName, shardId }) => ({
        processRecords: async ({ records: batch, checkpointer }) => {
          const key = `${streamName}/${shardId}`;
          delivered.set(key, [...(delivered.get(key) ?? []), ...batch.map((r) => r.data.toString())]);
          await checkpointer.checkpoint();
        },
      }),
    );
    await worker.start();
    const later = new Map<string, Awaited<ReturnType<typeof putRecords>>>();
    for (const stream of streams) later.set(stream, await putRecords(kinesis, stream, records(`${stream}-later`, 20)));
    const expected = new Map<string, string[]>();
    for (const stream of streams) {
      for (const put of [...puts.get(stream)!, ...later.get(stream)!]) {
        const key = `${stream}/${put.shardId}`;
        expected.set(key, [...(expected.get(key) ?? []), put.data.toString()]);
      }
    }
    await waitFor(
      () => [...expected].every(([key, data]) => (delivered.get(key)?.length ?? 0) >= data.length),
      'every record of both streams',
    );
    // Exactly the records of each shard, in put order, once.
    expect(new Map([...delivered].sort())).toEqual(new Map([...expected].sort()));

    for (const stream of streams) {
      const { StreamDescriptionSummary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
      const consumer = await kinesis.send(
        new DescribeStreamConsumerCommand({ StreamARN: StreamDescriptionSummary!.StreamARN, ConsumerName: appName }),
      );
      expect(consumer.ConsumerDescription!.ConsumerStatus).toBe('ACTIVE');
    }
    await worker.stop();
    worker = undefined;
    // The checkpoints are on the multi-stream rows of one lease table (readLeases reports each leaseKey as shardId).
    const leases = await readLeases(dynamo, appName);
    expect(leases).toHaveLength(4);
    for (const key of expected.keys()) {
      const [stream, shardId] = key.split('/') as [string, string];
      const last = [...puts.get(stream)!, ...later.get(stream)!].filter((p) => p.shardId === shardId).at(-1)!;
      expect(delivered.get(key)!.at(-1)).toBe(last.data.toString());
      expect(leases.find((l) => l.shardId.includes(`:${stream}:`) && l.shardId.endsWith(`:${shardId}`))?.checkpoint).toBe(
        last.sequenceNumber,
      );
    }
  });
});
