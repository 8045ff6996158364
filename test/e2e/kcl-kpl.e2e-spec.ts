import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import type { TestingModule } from '@nestjs/testing';
import type { KinesisRecord } from '../../lib';
import { createStream } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, uniqueName } from '../support/aws';
import { closeAndCheck } from '../support/kcl-processes';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';
import { putAggregated } from '../support/records';

const kinesis = kinesisClient();
const dynamo = dynamoClient();
const open = new Set<TestingModule>();
afterEach(async () => {
  await Promise.all([...open].map((app) => closeAndCheck(app).catch(() => undefined)));
  open.clear();
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

describe('KPL-aggregated records on the kcl engine', () => {
  it('the Java KCL de-aggregates; a checkpoint inside an aggregate stores its subSequenceNumber, and the native engine resumes right after it', async () => {
    const stream = uniqueName('kcl-kpl');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 1);
    const first = await putAggregated(kinesis, stream, 'a', 10);
    const plain = await kinesis.send(
      new PutRecordCommand({ StreamName: stream, PartitionKey: 'customer-1', Data: Buffer.from('plain-1') }),
    );
    const second = await putAggregated(kinesis, stream, 'b', 10);

    const recorder = new Recorder();
    recorder.checkpointEachBatch = false;
    recorder.checkpointAtShutdown = false;
    const seen: KinesisRecord[] = [];
    let checkpointed = false;
    recorder.beforeBatch = async ({ records, checkpointer }) => {
      seen.push(...records);
      const target = records.find((r) => r.sequenceNumber === second && r.subSequenceNumber === 4);
      if (target) {
        await checkpointer.checkpoint(target);
        checkpointed = true;
      }
    };
    const app1 = await startApp(recorder, recordingProcessor(stream), { appName, engine: 'kcl' });
    open.add(app1);
    await waitFor(() => recorder.deliveries.length >= 21 && checkpointed, '21 user records and the checkpoint');
    open.delete(app1);
    await closeAndCheck(app1);
    expect(recorder.deliveries.map((d) => d.data)).toEqual([
      ...Array.from({ length: 10 }, (_, i) => `a-${i}`),
      'plain-1',
      ...Array.from({ length: 10 }, (_, i) => `b-${i}`),
    ]);
    // The same shape as the native engine's records: user records carry their subSequenceNumber, 0 included; a plain record none.
    expect(seen.filter((r) => r.sequenceNumber === first).map((r) => r.subSequenceNumber)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(seen.find((r) => r.sequenceNumber === plain.SequenceNumber)!.subSequenceNumber).toBeUndefined();

    const [item] = await scanRaw(dynamo, appName);
    expect(item.checkpoint.S).toBe(second);
    expect(item.checkpointSubSequenceNumber.N).toBe('4');

    const again = new Recorder();
    const app2 = await startApp(again, recordingProcessor(stream), { appName, engine: 'native' });
    open.add(app2);
    await waitFor(() => again.deliveries.length >= 5, 'the rest of the aggregate');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(again.deliveries.map((d) => d.data)).toEqual(['b-5', 'b-6', 'b-7', 'b-8', 'b-9']);
  });
});
