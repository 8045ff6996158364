import { putRecords, createStream } from '../../lib/testing';
import { KinesisWorkerService } from '../../lib';
import { dynamoClient, kinesisClient, scanRaw, uniqueName } from '../support/aws';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';

const kinesis = kinesisClient();
const dynamo = dynamoClient();

afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

function records(prefix: string, count: number) {
  return Array.from({ length: count }, (_, i) => ({ partitionKey: `customer-${i % 13}`, data: `${prefix}-${i}` }));
}

/** What each shard holds, in put order, from the producer's own PutRecords results. */
function expectedByShard(puts: { shardId: string; data: Buffer }[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const put of puts) map.set(put.shardId, [...(map.get(put.shardId) ?? []), put.data.toString()]);
  return map;
}

describe('native engine on one worker (kinesis-local + dynalite)', () => {
  it('delivers every record of a 4-shard stream in order per shard, to one DI-built instance per shard, and keeps following', async () => {
    const stream = uniqueName('orders');
    await createStream(kinesis, stream, 4);
    const before = await putRecords(kinesis, stream, records('before', 120));
    const recorder = new Recorder();
    const app = await startApp(recorder, recordingProcessor(stream), { appName: uniqueName('app') });
    try {
      await waitFor(() => recorder.deliveries.length >= 120, '120 records');
      const during = await putRecords(kinesis, stream, records('during', 40));
      await waitFor(() => recorder.deliveries.length >= 160, '160 records');

      expect(recorder.byShard()).toEqual(expectedByShard([...before, ...during]));
      const shards = new Set(before.map((p) => p.shardId));
      expect(shards.size).toBe(4);
      const instanceByShard = new Map<string, Set<number>>();
      for (const d of recorder.deliveries) instanceByShard.set(d.shardId, (instanceByShard.get(d.shardId) ?? new Set()).add(d.instance));
      expect([...instanceByShard.values()].every((set) => set.size === 1)).toBe(true);
      expect(new Set([...instanceByShard.values()].map((set) => [...set][0])).size).toBe(4);

      // The operator's view, from the injectable service.
      const [status] = app.get(KinesisWorkerService).status();
      expect(status).toMatchObject({ streamName: stream, engine: 'native', running: true });
      expect(status!.shards.map((s) => s.shardId).sort()).toEqual([...shards].sort());
      expect(status!.leases.every((l) => l.leaseOwner === status!.workerId)).toBe(true);
      await waitFor(() => app.get(KinesisWorkerService).status()[0]!.shards.every((s) => /^\d+$/.test(s.checkpoint.sequenceNumber)), 'checkpoints in status');
      expect(app.get(KinesisWorkerService).status()[0]!.shards.every((s) => s.millisBehindLatest !== undefined && s.state === 'PROCESSING')).toBe(true);
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
        return items.every((item) => item.checkpoint?.S === lastByShard.get(item.leaseKey!.S!));
      }, 'checkpoints at the last record of each shard');
      for (const item of items!) {
        expect(Object.keys(item).sort()).toEqual(
          ['checkpoint', 'checkpointSubSequenceNumber', 'endingHashKey', 'leaseCounter', 'leaseKey', 'leaseOwner', 'ownerSwitchesSinceCheckpoint', 'startingHashKey'].sort(),
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

  it('resumes after the last checkpoint on restart, never redelivering checkpointed records, and the checkpoint wins over LATEST', async () => {
    const stream = uniqueName('restart');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 2);
    await putRecords(kinesis, stream, records('first', 30));
    const first = new Recorder();
    const app1 = await startApp(first, recordingProcessor(stream), { appName });
    await waitFor(() => first.deliveries.length >= 30, '30 records');
    await app1.close();

    await putRecords(kinesis, stream, records('second', 20));
    const second = new Recorder();
    const app2 = await startApp(second, recordingProcessor(stream), { appName, initialPosition: 'LATEST' });
    try {
      await waitFor(() => second.deliveries.length >= 20, '20 new records');
      await putRecords(kinesis, stream, records('third', 10));
      await waitFor(() => second.deliveries.length >= 30, '10 more');
      const data = second.deliveries.map((d) => d.data);
      expect(data.filter((d) => d.startsWith('first'))).toEqual([]);
      expect(new Set(data)).toEqual(new Set([...records('second', 20), ...records('third', 10)].map((r) => r.data)));
      expect(data.length).toBe(30);
      expect(second.events.filter((e) => e.type === 'initialize').every((e) => /^\d+$/.test(e.checkpoint!))).toBe(true);
    } finally {
      await app2.close();
    }
  });

  it('with LATEST on a fresh application skips what was already in the stream', async () => {
    const stream = uniqueName('latest');
    await createStream(kinesis, stream, 2);
    await putRecords(kinesis, stream, records('old', 20));
    const recorder = new Recorder();
    const app = await startApp(recorder, recordingProcessor(stream), { appName: uniqueName('app'), initialPosition: 'LATEST' });
    try {
      await waitFor(() => recorder.events.filter((e) => e.type === 'initialize').length >= 2, 'both shards initialized');
      expect(recorder.events.filter((e) => e.type === 'initialize').map((e) => e.checkpoint)).toEqual(['LATEST', 'LATEST']);
      // LATEST is resolved when the shard iterator is taken; put only once both readers have one.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await putRecords(kinesis, stream, records('new', 10));
      await waitFor(() => recorder.deliveries.length >= 10, '10 new records');
      expect(recorder.deliveries.every((d) => d.data.startsWith('new'))).toBe(true);
    } finally {
      await app.close();
    }
  });
});
