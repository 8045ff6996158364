import { createWorker, KinesisWorkerConfigError, type KinesisWorker, type StreamWorkerOptions } from '../../lib';
import { createStream, faults, putRecords, startFaultProxy, type FaultProxy, type ProxiedRequest } from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { endpoints, kinesisClient, uniqueName } from '../support/aws';
import { waitFor } from '../support/wait-for';

/**
 * The AWS calls a multi-stream worker adds, when they fail: DescribeStreamSummary of each stream and
 * the Scan of the format check at start (bootstrap errors), ListShards of one stream in the shard
 * sync (that stream waits and is retried; the others are consumed meanwhile).
 */
const kinesis = kinesisClient();
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
});

const forStream = (operation: string, stream: string) => (request: ProxiedRequest) =>
  request.operation === operation && request.body?.StreamName === stream;

function worker(streams: string[], logger: CapturingLogger, delivered: string[]): KinesisWorker {
  const options: StreamWorkerOptions = {
    appName: uniqueName('ms-faults'),
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
});
