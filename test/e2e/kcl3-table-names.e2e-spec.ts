import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { TestingModule } from '@nestjs/testing';
import { KinesisWorkerService, type KinesisWorkerOptions } from '../../lib';
import { KCL_3_LINE } from '../../lib/engines/kcl/kcl-lines';
import { createStream } from '../../lib/testing';
import { dynamoClient, kinesisClient, tableExists, uniqueName } from '../support/aws';
import { closeAndCheck } from '../support/kcl-processes';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';

/**
 * One set of options names one KCL 3.x application whichever engine runs it: coordinatorStateTableName,
 * workerMetricsTableName and the 3.x timings reach the real 3.1.3 daemon under its own property names,
 * and a native worker given the same options reads the state the daemon wrote there. On dynalite.
 */
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

it('the kcl engine on 3.x uses coordinatorStateTableName and workerMetricsTableName, and a native worker with the same options finds the state there', async () => {
  const stream = uniqueName('kcl3-names');
  const appName = uniqueName('app');
  await createStream(kinesis, stream, 1);
  const shared = {
    appName,
    coordinatorStateTableName: `${appName}-fleet-state`,
    workerMetricsTableName: `${appName}-fleet-metrics`,
    workerMetricsReporterFreqMs: 2000,
  } satisfies Partial<KinesisWorkerOptions>;
  const java = await startApp(new Recorder(), recordingProcessor(stream), {
    ...shared,
    engine: 'kcl',
    workerId: 'java-1',
    kcl: { version: KCL_3_LINE },
  });
  open.add(java);

  await waitFor(
    async () =>
      (
        await dynamo
          .send(new GetItemCommand({ TableName: `${appName}-fleet-state`, Key: { key: { S: 'Migration3.0' } } }))
          .catch(() => ({ Item: undefined }))
      ).Item !== undefined,
    'the migration state in the named table',
    90_000,
  );
  await waitFor(
    async () =>
      ((await dynamo.send(new ScanCommand({ TableName: `${appName}-fleet-metrics` })).catch(() => ({ Items: [] }))).Items ?? []).some(
        (item) => item.wid?.S === 'java-1',
      ),
    'the Java worker metrics in the named table',
    90_000,
  );
  expect(await tableExists(dynamo, `${appName}-fleet-state`)).toBe(true);
  expect(await tableExists(dynamo, `${appName}-CoordinatorState`)).toBe(false);
  expect(await tableExists(dynamo, `${appName}-WorkerMetricStats`)).toBe(false);

  // The native worker reads the daemon's state from the same table: compatible mode, so it publishes its metrics there too.
  const native = await startApp(new Recorder(), recordingProcessor(stream), { ...shared, workerId: 'native-1', engine: 'native' });
  open.add(native);
  expect(native.get(KinesisWorkerService).status()[0]?.kcl3).toMatchObject({ rules: '2.x' });
  await waitFor(
    async () =>
      ((await dynamo.send(new ScanCommand({ TableName: `${appName}-fleet-metrics` }))).Items ?? []).some(
        (item) => item.wid?.S === 'native-1',
      ),
    'the native worker metrics beside the Java ones',
    30_000,
  );
});
