import type { TestingModule } from '@nestjs/testing';
import { createStream, putRecords } from '../../lib/testing';
import { kinesisClient, uniqueName } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import { closeAndCheck } from '../support/kcl-processes';
import { records } from '../support/records';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';

const kinesis = kinesisClient();
let app: TestingModule | undefined;
afterEach(async () => {
  if (app) await closeAndCheck(app).catch(() => undefined);
  app = undefined;
});
afterAll(() => kinesis.destroy());

it("the kcl engine's lines carry app, stream and worker, and a shard's lines (here a processor's failure) its shard", async () => {
  const stream = uniqueName('kcl-log');
  const appName = uniqueName('kcl-log-app');
  const workerId = uniqueName('kcl-log-worker');
  await createStream(kinesis, stream, 1);
  await putRecords(kinesis, stream, records('r', 5));
  const recorder = new Recorder();
  let failedShard: string | undefined;
  recorder.beforeBatch = ({ shardId }) => {
    if (failedShard !== undefined) return;
    failedShard = shardId;
    throw new Error('the first batch fails once');
  };
  const logger = new CapturingLogger();
  app = await startApp(recorder, recordingProcessor(stream), { appName, engine: 'kcl', workerId, logger });
  await waitFor(() => recorder.dataSet().size === 5, 'every record delivered');
  await closeAndCheck(app);
  app = undefined;

  expect(logger.entries.length).toBeGreaterThan(0);
  for (const { fields } of logger.entries) expect(fields).toMatchObject({ app: appName, worker: workerId, stream });
  const failure = logger.entries.find(({ message }) => message.startsWith('processRecords for'));
  expect(failure).toMatchObject({ level: 'ERROR', fields: { shard: failedShard } });
  expect(failure!.stack).toContain('the first batch fails once');
});
