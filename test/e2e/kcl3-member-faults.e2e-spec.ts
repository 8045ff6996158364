import { CreateTableCommand, GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { TestingModule } from '@nestjs/testing';
import { createWorker, KinesisWorkerService } from '../../lib';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { createStream, faults, startFaultProxy, type FaultProxy } from '../../lib/testing';
import { dynamoClient, endpoints, kinesisClient, scanRaw, uniqueName, tableActive, workerClientOptions } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import { FAST, Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';

/**
 * The 3.x member's own DynamoDB calls under faults (fault proxy in front of dynalite): a GSI query that
 * hangs or is throttled, and worker-metrics writes that fail for a while. The leader's writes are played
 * by the test (docs/kcl3-protocol.md); no JVM.
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
let proxy: FaultProxy;
const apps: TestingModule[] = [];
beforeAll(async () => {
  proxy = await startFaultProxy({ target: endpoints().dynamodb });
});
afterEach(async () => {
  proxy.clear();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});
afterAll(async () => {
  kinesis.destroy();
  dynamo.destroy();
  await proxy.close();
});

async function fleetInThreeXMode(shards: number) {
  const stream = uniqueName('kcl3-faults');
  const appName = uniqueName('app');
  await createStream(kinesis, stream, shards);
  await createKcl3LeaseTable(dynamo, appName).then(() => tableActive(dynamo, appName));
  for (const [table, key] of [
    [`${appName}-CoordinatorState`, 'key'],
    [`${appName}-WorkerMetricStats`, 'wid'],
  ]) {
    await dynamo.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await tableActive(dynamo, table);
  }
  await dynamo.send(
    new PutItemCommand({
      TableName: `${appName}-CoordinatorState`,
      Item: { key: { S: 'Migration3.0' }, cv: { S: 'CLIENT_VERSION_3X' }, mb: { S: 'java-1' }, mts: { N: String(Date.now()) } },
    }),
  );
  return { stream, appName };
}

async function startFollower(stream: string, appName: string, logger: CapturingLogger) {
  const recorder = new Recorder();
  const app = await startApp(recorder, recordingProcessor(stream), {
    appName,
    engine: 'native',
    workerId: 'native-1',
    leaseTakerIntervalMs: 500,
    workerMetricsReporterFreqMs: 500,
    // The test plays the leader (it writes the assignments): this worker must not contend for the lock.
    kcl3LeaderEligible: false,
    dynamodb: { endpoint: proxy.url, maxAttempts: 2 },
    logger,
  });
  apps.push(app);
  return { recorder, worker: app.get(KinesisWorkerService).workers()[0] };
}

/** The leader's assignLease of an unowned lease. */
async function assign(appName: string, leaseKey: string, to: string) {
  await dynamo.send(
    new UpdateItemCommand({
      TableName: appName,
      Key: { leaseKey: { S: leaseKey } },
      UpdateExpression: 'SET leaseOwner = :to, leaseCounter = leaseCounter + :one',
      ConditionExpression: 'attribute_not_exists(leaseOwner)',
      ExpressionAttributeValues: { ':to': { S: to }, ':one': { N: '1' } },
    }),
  );
}

/** A worker with kcl3LeaderEligible: false only reads the lock: the Leader item must never appear (an eligible one writes it at its first tick). */
async function expectNoLeaderItem(appName: string) {
  const { Item } = await dynamo.send(
    new GetItemCommand({ TableName: `${appName}-CoordinatorState`, Key: { key: { S: 'Leader' } }, ConsistentRead: true }),
  );
  expect(Item).toBeUndefined();
}

const metricsLut = async (appName: string) => {
  const { Items } = await dynamo.send(new ScanCommand({ TableName: `${appName}-WorkerMetricStats` }));
  return Number(Items?.find((item) => item.wid?.S === 'native-1')?.lut?.N ?? 0);
};

describe('KCL 3.x membership under DynamoDB faults', () => {
  it('a hung, then throttled GSI query: each pass is cut off (failoverTimeMs), held leases keep being renewed, and an assignment made meanwhile is picked up once the query answers', async () => {
    const { stream, appName } = await fleetInThreeXMode(2);
    const logger = new CapturingLogger();
    const { worker } = await startFollower(stream, appName, logger);
    await waitFor(async () => (await scanRaw(dynamo, appName)).length === 2, 'the leases created by shard sync');
    const [first, second] = (await scanRaw(dynamo, appName)).map((row) => row.leaseKey.S!);
    await assign(appName, first, 'native-1');
    await waitFor(() => worker.describe().shards.some((s) => s.shardId === first), 'the first assigned lease processed');

    const hang = proxy.set('Query', 'blackhole');
    await assign(appName, second, 'native-1');
    const counter = async () => Number((await scanRaw(dynamo, appName)).find((r) => r.leaseKey.S === first)?.leaseCounter?.N);
    const before = await counter();
    // failoverTimeMs is 3000 (FAST): a hung query must be given up, and renewals go on meanwhile.
    await waitFor(() => logger.lines.some((line) => line.startsWith('WARN Lease taker failed')), 'a follower pass cut off', 30_000);
    await waitFor(async () => (await counter()) >= before + 3, 'renewals of the held lease during the hang');
    expect(worker.describe().shards.some((s) => s.shardId === second)).toBe(false);
    hang.remove();
    const throttle = proxy.set('Query', 'throttle', { times: 3 });
    await waitFor(
      () => worker.describe().shards.some((s) => s.shardId === second),
      'the second lease processed once the query answers',
      30_000,
    );
    expect(throttle.applied).toBe(3);
    expect(
      worker
        .describe()
        .shards.map((s) => s.shardId)
        .sort(),
    ).toEqual([first, second].sort());
    // Nobody holds the lock (the test plays the leader's writes only), and this worker does not take it.
    expect(worker.describe().kcl3?.leading).toBeFalsy();
    expect(worker.describe().kcl3?.problem).toMatch(/no KCL 3\.x leader/);
    await expectNoLeaderItem(appName);
  });

  it('worker-metrics writes failing for a while: warned with the table and the fix, never fatal, and the item is fresh again afterwards', async () => {
    const { stream, appName } = await fleetInThreeXMode(1);
    const logger = new CapturingLogger();
    await startFollower(stream, appName, logger);
    await waitFor(async () => (await metricsLut(appName)) > 0, 'a first metrics item');
    const failing = proxy.set(
      (request) => request.operation === 'PutItem' && request.body?.TableName === `${appName}-WorkerMetricStats`,
      'http500',
    );
    await waitFor(
      () =>
        logger.lines.some((line) => line.startsWith(`WARN Could not write the worker metrics of native-1 to ${appName}-WorkerMetricStats`)),
      'the warning',
    );
    failing.remove();
    const stale = await metricsLut(appName);
    await waitFor(async () => (await metricsLut(appName)) > stale, 'a fresh metrics item after the fault', 30_000);
    // The line follows the write's answer, so it may come just after the item was seen.
    await waitFor(() => logger.lines.some((line) => line.includes('written to') && line.includes('again after')), 'the recovery logged');
    await expectNoLeaderItem(appName);
  });
  it('stop() during a slow 3.x start (a worker-metrics write that hangs): the membership stops starting, the stopped worker never leads, and no timer is left to keep the process alive', async () => {
    const { stream, appName } = await fleetInThreeXMode(1);
    // Ref'd timers (what keeps a process alive), before the worker exists.
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const before = timers();
    const logger = new CapturingLogger();
    // The membership's first step in 3.x mode is the worker-metrics write; it answers after 3 s.
    const slow = proxy.set(
      (request) => request.operation === 'PutItem' && request.body?.TableName === `${appName}-WorkerMetricStats`,
      faults.latency(3_000),
      { times: 1 },
    );
    // Passes every write of the coordinator state table through, counting them (the lock's writes).
    const lockWrites = proxy.set(
      (request) => request.operation !== 'GetItem' && request.body?.TableName === `${appName}-CoordinatorState`,
      'pass',
    );
    const worker = createWorker(
      {
        ...workerClientOptions(),
        ...FAST,
        streamName: stream,
        appName,
        workerId: 'native-1',
        dynamodb: { endpoint: proxy.url },
        workerMetricsReporterFreqMs: 10_000,
        leaderLockLeaseDurationMs: 2_000,
        shutdownTimeoutMs: 300,
        logger,
      },
      () => ({ processRecords: () => undefined }),
    );
    const started = worker.start().then(
      () => 'resolved',
      (error: unknown) => `rejected: ${String(error)}`,
    );
    await waitFor(() => slow.applied === 1, 'the worker-metrics write under way');
    // The stop gives the start shutdownTimeoutMs, then stops what had started, while the write still hangs.
    await worker.stop();
    expect(await started).toBe('resolved');
    expect(logger.lines.some((line) => line.includes('stopped before it consumed'))).toBe(true);

    // The write has answered by now (the stop waited for it, to delete the metrics item afterwards), and
    // the start it held up has ended. Every timer the worker made is gone: none keeps the process alive.
    await waitFor(() => timers() <= before, 'no timer of the stopped worker left', 20_000);
    // A stopped worker never contends for the lock, so never leads.
    const { Item: lock } = await dynamo.send(
      new GetItemCommand({ TableName: `${appName}-CoordinatorState`, Key: { key: { S: 'Leader' } }, ConsistentRead: true }),
    );
    expect(lock).toBeUndefined();
    expect(lockWrites.applied).toBe(0);
    expect(logger.lines.some((line) => line.includes('is now the KCL 3.x leader'))).toBe(false);
  });
});
