import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { createStream } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, uniqueName } from '../support/aws';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const agg = require('aws-kinesis-agg') as {
  aggregate(
    records: { partitionKey: string; data: Buffer }[],
    onEncoded: (encoded: { partitionKey: string; data: Buffer }, done: (error?: Error) => void) => void,
    afterAll: () => void,
    onError: (error: Error) => void,
  ): void;
};

const kinesis = kinesisClient();
const dynamo = dynamoClient();
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

/** Puts the user records as one KPL-aggregated record, encoded by the KPL format's reference library. */
async function putAggregated(stream: string, prefix: string, count: number): Promise<string> {
  const users = Array.from({ length: count }, (_, i) => ({ partitionKey: 'customer-1', data: Buffer.from(`${prefix}-${i}`) }));
  const encoded: { partitionKey: string; data: Buffer }[] = [];
  await new Promise<void>((resolve, reject) =>
    agg.aggregate(users, (record, done) => (encoded.push(record), done()), resolve, reject),
  );
  expect(encoded).toHaveLength(1);
  const out = await kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: encoded[0]!.partitionKey, Data: encoded[0]!.data }));
  return out.SequenceNumber!;
}

describe('KPL-aggregated records (native engine)', () => {
  it('delivers each user record with its subSequenceNumber, and resumes inside an aggregate from checkpointSubSequenceNumber', async () => {
    const stream = uniqueName('kpl');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 1);
    const first = await putAggregated(stream, 'a', 10);
    await kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'customer-1', Data: Buffer.from('plain-1') }));
    const second = await putAggregated(stream, 'b', 10);

    const recorder = new Recorder();
    recorder.checkpointEachBatch = false;
    recorder.checkpointAtShutdown = false;
    let checkpointed = false;
    recorder.beforeBatch = async ({ records, checkpointer }) => {
      const target = records.find((r) => r.sequenceNumber === second && r.subSequenceNumber === 4);
      if (target) {
        await checkpointer.checkpoint(target);
        checkpointed = true;
      }
    };
    const app1 = await startApp(recorder, recordingProcessor(stream), { appName });
    await waitFor(() => recorder.deliveries.length >= 21 && checkpointed, '21 user records and the checkpoint');
    await app1.close();
    expect(recorder.deliveries.map((d) => d.data)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `a-${i}`),
      'plain-1',
      ...Array.from({ length: 10 }, (_, i) => `b-${i}`),
    ]);
    expect(new Set(recorder.deliveries.slice(0, 10).map((d) => d.sequenceNumber))).toEqual(new Set([first]));

    const [item] = await scanRaw(dynamo, appName);
    expect(item!.checkpoint!.S).toBe(second);
    expect(item!.checkpointSubSequenceNumber!.N).toBe('4');

    const again = new Recorder();
    const app2 = await startApp(again, recordingProcessor(stream), { appName });
    try {
      await waitFor(() => again.deliveries.length >= 5, 'the rest of the aggregate');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(again.deliveries.map((d) => d.data)).toEqual(['b-5', 'b-6', 'b-7', 'b-8', 'b-9']);
    } finally {
      await app2.close();
    }
  });
});
