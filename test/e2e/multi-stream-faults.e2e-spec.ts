import { DeleteStreamCommand, DescribeStreamSummaryCommand } from '@aws-sdk/client-kinesis';
import { createWorker, KinesisWorkerConfigError, type KinesisWorker, type StreamWorkerOptions } from '../../lib';
import { createStream, faults, putRecords, startFaultProxy, type FaultProxy, type ProxiedRequest } from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { dynamoClient, endpoints, kinesisClient, scanRaw, uniqueName } from '../support/aws';
import { waitFor } from '../support/wait-for';

/**
 * The AWS calls a multi-stream worker adds, when they fail: DescribeStreamSummary of each stream and
 * the Scan of the format check at start (bootstrap errors), ListShards of one stream in the shard
 * sync (that stream waits and is retried; the others are consumed meanwhile).
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
let kinesisProxy: FaultProxy;
let dynamoProxy: FaultProxy;
const workers = new Set<KinesisWorker>();
beforeAll(async () => {
  kinesisProxy = await startFaultProxy({ target: endpoints().kinesis });
  dynamoProxy = await startFaultProxy({ target: endpoints().dynamodb });
});
afterEach(async () => {
  kinesisProxy.clear();
  dynamoProxy.clear();
  await Promise.all([...workers].map((w) => w.stop()));
  workers.clear();
});
afterAll(async () => {
  await Promise.all([kinesisProxy.close(), dynamoProxy.close()]);
  kinesis.destroy();
  dynamo.destroy();
});

const forStream = (operation: string, stream: string) => (request: ProxiedRequest) =>
  request.operation === operation && request.body?.StreamName === stream;

function worker(streams: string[], logger: CapturingLogger, delivered: string[], appName = uniqueName('ms-faults')): KinesisWorker {
  const options: StreamWorkerOptions = {
    appName,
    streams,
    kinesis: { endpoint: kinesisProxy.url, maxAttempts: 2 },
    dynamodb: { endpoint: dynamoProxy.url, maxAttempts: 2 },
    failoverTimeMs: 3_000,
    idleTimeBetweenReadsMs: 50,
    shardSyncIntervalMs: 500,
    leaseTakerIntervalMs: 500,
    logger,
  };
  const created = createWorker(options, ({ streamName }) => ({
    processRecords: async ({ records, checkpointer }) => {
      for (const record of records) delivered.push(`${streamName}/${record.data.toString()}`);
      await checkpointer.checkpoint();
    },
  }));
  workers.add(created);
  return created;
}

describe('multi-stream worker under AWS faults', () => {
  it('a stream whose ListShards keeps failing waits for the next sync while the other stream is consumed; it is consumed once ListShards answers', async () => {
    const [healthy, failing] = [uniqueName('ms-ok'), uniqueName('ms-nolist')];
    await Promise.all([createStream(kinesis, healthy, 1), createStream(kinesis, failing, 1)]);
    await putRecords(kinesis, healthy, [{ partitionKey: 'a', data: 'h1' }]);
    await putRecords(kinesis, failing, [{ partitionKey: 'a', data: 'f1' }]);
    const rule = kinesisProxy.set(forStream('ListShards', failing), 'throttle');
    const logger = new CapturingLogger();
    const delivered: string[] = [];
    const w = worker([healthy, failing], logger, delivered);
    await w.start();
    await waitFor(() => delivered.includes(`${healthy}/h1`), 'the healthy stream to be consumed');
    await waitFor(
      () =>
        logger.lines.some((m) => m.startsWith('WARN') && m.includes(`Shard sync failed for '${failing}'`) && m.includes('LimitExceeded')),
      'the failing stream named in a warning',
    );
    expect(delivered.some((d) => d.startsWith(`${failing}/`))).toBe(false);
    expect(rule.applied).toBeGreaterThan(0);
    kinesisProxy.clear();
    await waitFor(() => delivered.includes(`${failing}/f1`), 'the recovered stream to be consumed');
  });

  it('a stream DescribeStreamSummary refuses for good is a bootstrap error that names it', async () => {
    const [allowed, denied] = [uniqueName('ms-allowed'), uniqueName('ms-denied')];
    await Promise.all([createStream(kinesis, allowed, 1), createStream(kinesis, denied, 1)]);
    kinesisProxy.set(
      forStream('DescribeStreamSummary', denied),
      faults.error(400, 'AccessDeniedException', 'not authorized to perform kinesis:DescribeStreamSummary'),
    );
    const error = await worker([allowed, denied], new CapturingLogger(), [])
      .start()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect((error as KinesisWorkerConfigError).option).toBe('kinesis.credentials');
    expect((error as Error).message).toContain(`describe the stream '${denied}'`);
  });

  it('a lease table Scan that keeps failing at start is a bootstrap error naming dynamodb:Scan', async () => {
    const stream = uniqueName('ms-noscan');
    await createStream(kinesis, stream, 1);
    dynamoProxy.set('Scan', 'http500');
    const error = await worker([stream], new CapturingLogger(), [])
      .start()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect((error as Error).message).toMatch(/read the lease table .*dynamodb:Scan/);
  });
  it('a stream deleted and created again under its name is consumed as the new stream, under its new creation epoch; the old keys are let go', async () => {
    const [recreated, steady] = [uniqueName('ms-again'), uniqueName('ms-steady')];
    await Promise.all([createStream(kinesis, recreated, 1), createStream(kinesis, steady, 1)]);
    const epochOf = async () => {
      const { StreamDescriptionSummary: s } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: recreated }));
      return Math.floor(s!.StreamCreationTimestamp!.getTime() / 1000);
    };
    const oldEpoch = await epochOf();
    const old = await putRecords(kinesis, recreated, [{ partitionKey: 'a', data: 'old' }]);
    await putRecords(kinesis, steady, [{ partitionKey: 'a', data: 's1' }]);
    const appName = uniqueName('ms-again');
    const logger = new CapturingLogger();
    const delivered: string[] = [];
    await worker([recreated, steady], logger, delivered, appName).start();
    await waitFor(() => delivered.includes(`${recreated}/old`) && delivered.includes(`${steady}/s1`), 'both streams consumed');

    await kinesis.send(new DeleteStreamCommand({ StreamName: recreated }));
    await waitFor(
      () =>
        epochOf().then(
          () => false,
          (error: Error) => error.name === 'ResourceNotFoundException',
        ),
      'the stream gone',
    );
    // A creation epoch is in whole seconds: the new stream must be created in a later second to be told apart.
    await waitFor(() => Math.floor(Date.now() / 1000) > oldEpoch, 'a later second than the first creation');
    await createStream(kinesis, recreated, 1);
    const newEpoch = await epochOf();
    expect(newEpoch).toBeGreaterThan(oldEpoch);
    await waitFor(
      () => logger.lines.some((l) => l.startsWith('WARN') && l.includes(`'${recreated}' was deleted and created again`)),
      'the re-created stream noticed',
    );
    const fresh = await putRecords(kinesis, recreated, [{ partitionKey: 'a', data: 'new' }]);
    await putRecords(kinesis, steady, [{ partitionKey: 'a', data: 's2' }]);
    await waitFor(
      () => delivered.includes(`${recreated}/new`) && delivered.includes(`${steady}/s2`),
      'the new stream and the steady one consumed',
    );

    const rows = (await scanRaw(dynamo, appName)).filter((row) => row.streamName?.S?.split(':')[1] === recreated);
    const epochOfRow = (row: (typeof rows)[number]) => Number(row.streamName.S!.split(':')[2]);
    const [oldRow, newRow] = [rows.find((row) => epochOfRow(row) === oldEpoch), rows.find((row) => epochOfRow(row) === newEpoch)];
    // The old stream's lease is let go with its last checkpoint; the new stream has its own, at what it delivered.
    expect(oldRow?.checkpoint.S).toBe(old[0].sequenceNumber);
    expect(oldRow?.leaseOwner?.S ?? 'nobody').toBe('nobody');
    await waitFor(async () => {
      const row = (await scanRaw(dynamo, appName)).find((r) => r.leaseKey.S === newRow?.leaseKey.S);
      return row?.checkpoint.S === fresh[0].sequenceNumber;
    }, "the new stream's lease checkpointed at its record");
    expect(delivered.filter((d) => d === `${recreated}/old`)).toHaveLength(1);
  });
});
