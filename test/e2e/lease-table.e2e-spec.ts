import { putRecords, createStream } from '../../lib/testing';
import { KinesisWorkerService } from '../../lib';
import { dynamoClient, kinesisClient, scanRaw, uniqueName } from '../support/aws';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';
import { records } from '../support/records';

const kinesis = kinesisClient();
const dynamo = dynamoClient();

afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

describe('the lease table and the operator view (native engine, kinesis-local + dynalite)', () => {
  it('shows the operator its view: held leases, each shard state, checkpoint and millisBehindLatest', async () => {
    const stream = uniqueName('status');
    await createStream(kinesis, stream, 4);
    const puts = await putRecords(kinesis, stream, records('r', 40));
    const recorder = new Recorder();
    const app = await startApp(recorder, recordingProcessor(stream), { appName: uniqueName('app') });
    try {
      await waitFor(() => recorder.deliveries.length >= 40, '40 records');
      const lastByShard = new Map(puts.map((p) => [p.shardId, p.sequenceNumber]));
      const service = app.get(KinesisWorkerService);
      await waitFor(
        () => service.status()[0].shards.every((s) => s.checkpoint.sequenceNumber === lastByShard.get(s.shardId)),
        'checkpoints in the status',
      );
      const [status] = service.status();
      expect(status).toMatchObject({ streamName: stream, engine: 'native', running: true });
      expect(status.shards.map((s) => s.shardId).sort()).toEqual([...lastByShard.keys()].sort());
      expect(status.shards.every((s) => s.state === 'PROCESSING' && s.millisBehindLatest !== undefined)).toBe(true);
      expect(status.leases).toHaveLength(4);
      expect(status.leases.every((l) => l.leaseOwner === status.workerId)).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('creates the lease table with the KCL 2.x schema and stores checkpoints in checkpoint / checkpointSubSequenceNumber', async () => {
    const stream = uniqueName('schema');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 2);
    const puts = await putRecords(kinesis, stream, records('r', 20));
    const recorder = new Recorder();
    const app = await startApp(recorder, recordingProcessor(stream), { appName });
    let items;
    try {
      await waitFor(() => recorder.deliveries.length >= 20, '20 records');
      const lastByShard = new Map(puts.map((p) => [p.shardId, p.sequenceNumber]));
      await waitFor(async () => {
        items = await scanRaw(dynamo, appName);
        return items.length === lastByShard.size && items.every((item) => item.checkpoint?.S === lastByShard.get(item.leaseKey.S!));
      }, 'checkpoints at the last record of each shard');
      for (const item of items!) {
        expect(Object.keys(item).sort()).toEqual(
          [
            'checkpoint',
            'checkpointSubSequenceNumber',
            'endingHashKey',
            'leaseCounter',
            'leaseKey',
            'leaseOwner',
            'ownerSwitchesSinceCheckpoint',
            'startingHashKey',
          ].sort(),
        );
        expect(item.leaseKey!.S).toMatch(/^shardId-\d{12}$/);
        expect(item.leaseOwner!.S).toEqual(expect.any(String));
        expect(item.leaseCounter!.N).toMatch(/^\d+$/);
        expect(item.ownerSwitchesSinceCheckpoint!.N).toBe('0');
        expect(item.checkpoint!.S).toMatch(/^\d{56}$/);
        expect(item.checkpointSubSequenceNumber!.N).toBe('0');
        expect(item.startingHashKey!.S).toMatch(/^\d+$/);
        expect(item.endingHashKey!.S).toMatch(/^\d+$/);
      }
    } finally {
      await app.close();
    }
  });
});
