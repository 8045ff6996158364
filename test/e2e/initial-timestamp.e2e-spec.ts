import type { Type } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import type { EngineName, KinesisRecordProcessor, KinesisWorkerOptions } from '../../lib';
import { createStream, putRecords } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, uniqueName } from '../support/aws';
import { closeAndCheck } from '../support/kcl-processes';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';
import { records } from '../support/records';

/**
 * initialPosition { timestamp }: a fresh application starts every shard at the first record that arrived
 * at or after the timestamp; once it has checkpointed, a restart resumes from the checkpoint instead.
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

/** Longer than the kcl engine's rounding down to whole seconds, so that the records before T stay before it. */
const GAP_MS = 1_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each<EngineName>(['native', 'kcl'])('initialPosition { timestamp } with the %s engine (kinesis-local + dynalite)', (engine) => {
  const open = new Set<TestingModule>();
  const start = async (
    recorder: Recorder,
    processor: Type<KinesisRecordProcessor>,
    options: Partial<KinesisWorkerOptions> & { appName: string },
  ) => {
    const app = await startApp(recorder, processor, { ...options, engine });
    open.add(app);
    return app;
  };
  const close = async (app: TestingModule) => {
    open.delete(app);
    await closeAndCheck(app);
  };
  afterEach(async () => {
    await Promise.all([...open].map((app) => close(app).catch(() => undefined)));
  });

  it('a fresh application delivers exactly the records put after the timestamp; a restart resumes from the checkpoint, not the timestamp', async () => {
    const stream = uniqueName('ts');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 2);
    await putRecords(kinesis, stream, records('before', 20));
    await sleep(GAP_MS);
    const timestamp = new Date();
    await sleep(GAP_MS);
    const after = await putRecords(kinesis, stream, records('after', 20));
    expect(new Set(after.map((p) => p.shardId)).size).toBe(2);

    const first = new Recorder();
    const app1 = await start(first, recordingProcessor(stream), { appName, initialPosition: { timestamp } });
    await waitFor(() => first.deliveries.length >= 20, '20 records put after the timestamp');
    // Records arrive in order per shard and every shard has later records: an earlier one would have come first.
    expect(first.deliveries.map((d) => d.data).sort()).toEqual(
      records('after', 20)
        .map((r) => r.data)
        .sort(),
    );
    expect(first.events.filter((e) => e.type === 'initialize').map((e) => e.checkpoint)).toEqual(['AT_TIMESTAMP', 'AT_TIMESTAMP']);
    await close(app1);

    const checkpoints = (await scanRaw(dynamo, appName))
      .filter((row) => row.leaseKey?.S?.startsWith('shardId-'))
      .map((row) => row.checkpoint?.S);
    expect(checkpoints).toHaveLength(2);
    expect(checkpoints.every((c) => /^\d+$/.test(c ?? ''))).toBe(true);

    await putRecords(kinesis, stream, records('later', 10));
    const second = new Recorder();
    const app2 = await start(second, recordingProcessor(stream), { appName, initialPosition: { timestamp } });
    await waitFor(() => second.deliveries.length >= 10, '10 records put after the restart');
    expect(second.deliveries.map((d) => d.data).sort()).toEqual(
      records('later', 10)
        .map((r) => r.data)
        .sort(),
    );
    expect(second.events.filter((e) => e.type === 'initialize').every((e) => /^\d+$/.test(e.checkpoint!))).toBe(true);
    await close(app2);
  });
});
