import { CreateTableCommand, PutItemCommand, type AttributeValue, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import type { TestingModule } from '@nestjs/testing';
import { KinesisWorkerConfigError } from '../../lib';
import { createStream } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, tableExists, uniqueName } from '../support/aws';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';

/**
 * A Java KCL 3.5+ fleet keeps its coordinator state in the lease table (entity rows with entityType);
 * the native engine knows the 3.0–3.4 layout only and must refuse to start beside it, writing nothing.
 * The rows are written as the 3.5.1 sources describe them (no 3.5 MultiLangDaemon is on Maven Central to
 * run one). On dynalite.
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

it('a lease table holding the KCL 3.5 single-table Migration3.0 row: a bootstrap error naming the format and the fix; no row changed, no 3.x table created', async () => {
  const stream = uniqueName('kcl35');
  const appName = uniqueName('app');
  await createStream(kinesis, stream, 1);
  await dynamo.send(
    new CreateTableCommand({
      TableName: appName,
      AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await waitUntilTableExists({ client: dynamo, maxWaitTime: 30, minDelay: 0.1 }, { TableName: appName });
  const rows: Record<string, AttributeValue>[] = [
    {
      leaseKey: { S: 'shardId-000000000000' },
      entityType: { S: 'LEASE' },
      leaseOwner: { S: 'java-1' },
      leaseCounter: { N: '7' },
      checkpoint: { S: 'TRIM_HORIZON' },
      checkpointSubSequenceNumber: { N: '0' },
      ownerSwitchesSinceCheckpoint: { N: '0' },
    },
    {
      leaseKey: { S: 'Migration3.0' },
      entityType: { S: 'CLIENT_VERSION_MIGRATION' },
      cv: { S: 'CLIENT_VERSION_3X' },
      mb: { S: 'java-1' },
      mts: { N: String(Date.now()) },
    },
    {
      leaseKey: { S: 'Leader' },
      entityType: { S: 'LEADER' },
      ownerName: { S: 'java-1' },
      recordVersionNumber: { S: 'v1' },
      leaseDuration: { S: '120000' },
    },
  ];
  for (const Item of rows) await dynamo.send(new PutItemCommand({ TableName: appName, Item }));
  const before = await scanRaw(dynamo, appName);

  let app: TestingModule | undefined;
  const error = await startApp(new Recorder(), recordingProcessor(stream), { appName, engine: 'native', workerId: 'native-1' }).then(
    (started) => {
      app = started;
      return undefined;
    },
    (e: unknown) => e,
  );
  await app?.close();
  expect(error).toBeInstanceOf(KinesisWorkerConfigError);
  expect((error as KinesisWorkerConfigError).option).toBe('appName');
  expect((error as Error).message).toMatch(/KCL 3\.5 single-table coordinator state .*Nothing was written/);

  expect(await scanRaw(dynamo, appName)).toEqual(before);
  expect(await tableExists(dynamo, `${appName}-CoordinatorState`)).toBe(false);
  expect(await tableExists(dynamo, `${appName}-WorkerMetricStats`)).toBe(false);
});
