import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import { createStream } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, uniqueName } from '../support/aws';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';
import { putAggregated } from '../support/records';

const kinesis = kinesisClient();
const dynamo = dynamoClient();
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

describe('KPL-aggregated records (native engine)', () => {
  it('delivers each user record with its subSequenceNumber, and resumes inside an aggregate from checkpointSubSequenceNumber', async () => {
    const stream = uniqueName('kpl');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 1);
    const first = await putAggregated(kinesis, stream, 'a', 10);
    await kinesis.send(new PutRecordCommand({ StreamName: stream, PartitionKey: 'customer-1', Data: Buffer.from('plain-1') }));
    const second = await putAggregated(kinesis, stream, 'b', 10);

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
    expect(item.checkpoint.S).toBe(second);
    expect(item.checkpointSubSequenceNumber.N).toBe('4');

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
