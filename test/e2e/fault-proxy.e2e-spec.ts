import {
  AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  ProvisionedThroughputExceededException as DynamoDbProvisionedThroughputExceededException,
  PutItemCommand,
  ThrottlingException,
  UpdateItemCommand,
  type DynamoDBClientConfig,
} from '@aws-sdk/client-dynamodb';
import {
  AccessDeniedException,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  KinesisServiceException,
  LimitExceededException,
  ListShardsCommand,
  ProvisionedThroughputExceededException,
  type KinesisClientConfig,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler, type NodeHttpHandlerOptions } from '@smithy/node-http-handler';
import { createStream, faults, putRecords, startFaultProxy, type FaultProxy } from '../../lib/testing';
import { endpoints, uniqueName, tableActive } from '../support/aws';

// The SDK v3 clients against the real emulators (started once for the run by the global setup), with
// the fault proxy in between: the errors the code under test sees must be the ones AWS would cause.

let kinesisProxy: FaultProxy;
let dynamoProxy: FaultProxy;
const clients: { destroy(): void }[] = [];
const stream = uniqueName('faults');
const table = uniqueName('faults');
let shardIterator: string;

function kinesis(config: KinesisClientConfig = {}, handler: NodeHttpHandlerOptions = {}): KinesisClient {
  const client = new KinesisClient({ endpoint: kinesisProxy.url, requestHandler: new NodeHttpHandler(handler), maxAttempts: 1, ...config });
  clients.push(client);
  return client;
}

function dynamo(config: DynamoDBClientConfig = {}): DynamoDBClient {
  const client = new DynamoDBClient({ endpoint: dynamoProxy.url, requestHandler: new NodeHttpHandler(), maxAttempts: 1, ...config });
  clients.push(client);
  return client;
}

const key: Record<string, AttributeValue> = { leaseKey: { S: 'shardId-000000000000' } };

beforeAll(async () => {
  kinesisProxy = await startFaultProxy({ target: endpoints().kinesis });
  dynamoProxy = await startFaultProxy({ target: endpoints().dynamodb });
  // Set-up goes through the proxy too: pass-through must be invisible to the SDK.
  const k = kinesis();
  await createStream(k, stream, 1);
  await putRecords(k, stream, [
    { partitionKey: 'a', data: 'one' },
    { partitionKey: 'b', data: 'two' },
  ]);
  ({ ShardIterator: shardIterator } = (await k.send(
    new GetShardIteratorCommand({ StreamName: stream, ShardId: 'shardId-000000000000', ShardIteratorType: 'TRIM_HORIZON' }),
  )) as { ShardIterator: string });
  const d = dynamo();
  await d.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await tableActive(d, table);
  await d.send(new PutItemCommand({ TableName: table, Item: { ...key, leaseCounter: { N: '1' } } }));
});
afterEach(() => {
  kinesisProxy.clear();
  dynamoProxy.clear();
});
afterAll(async () => {
  for (const client of clients) client.destroy();
  await Promise.all([kinesisProxy.close(), dynamoProxy.close()]);
});

const getRecords = (client: KinesisClient) => client.send(new GetRecordsCommand({ ShardIterator: shardIterator }));

describe('fault proxy in front of kinesis-local: what the SDK v3 KinesisClient surfaces', () => {
  it('passes real traffic through untouched and records the IAM actions used', async () => {
    const { Records } = await getRecords(kinesis());
    expect(Records!.map((r) => Buffer.from(r.Data!).toString())).toEqual(['one', 'two']);
    expect(kinesisProxy.operations()).toEqual(
      new Set([
        'kinesis:CreateStream',
        'kinesis:DescribeStreamSummary',
        'kinesis:PutRecords',
        'kinesis:GetShardIterator',
        'kinesis:GetRecords',
      ]),
    );
  });

  it('throttle on GetRecords: ProvisionedThroughputExceededException, HTTP 400', async () => {
    kinesisProxy.set('GetRecords', 'throttle');
    const error = await getRecords(kinesis()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(error).toMatchObject({
      name: 'ProvisionedThroughputExceededException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
    expect((error as Error).message).toMatch(/^Rate exceeded for shard shardId-000000000000 in stream /);
  });

  it('throttle on ListShards: LimitExceededException', async () => {
    kinesisProxy.set('ListShards', 'throttle');
    const error = await kinesis()
      .send(new ListShardsCommand({ StreamName: stream }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LimitExceededException);
    expect((error as Error).message).toBe(`Rate exceeded for stream ${stream} under account 000000000000.`);
  });

  it('expiredIterator: ExpiredIteratorException', async () => {
    kinesisProxy.set('GetRecords', 'expiredIterator');
    const error = await getRecords(kinesis()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExpiredIteratorException);
    expect(error).toMatchObject({ name: 'ExpiredIteratorException', $metadata: { httpStatusCode: 400 } });
  });

  it('http500: InternalFailure, HTTP 500, a server fault', async () => {
    kinesisProxy.set('GetRecords', 'http500');
    const error = await getRecords(kinesis()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KinesisServiceException);
    expect(error).toMatchObject({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 } });
  });

  it('error(): AccessDeniedException as modelled by the SDK', async () => {
    kinesisProxy.set(
      'GetRecords',
      faults.error(400, 'AccessDeniedException', 'User: arn:aws:iam::000000000000:user/x is not authorized to perform: kinesis:GetRecords'),
    );
    const error = await getRecords(kinesis()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AccessDeniedException);
    expect((error as Error).message).toContain('kinesis:GetRecords');
  });

  it('blackhole: a TimeoutError once requestTimeout (with throwOnRequestTimeout) or socketTimeout runs out', async () => {
    kinesisProxy.set('GetRecords', 'blackhole');
    await expect(getRecords(kinesis({}, { requestTimeout: 300, throwOnRequestTimeout: true }))).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    await expect(getRecords(kinesis({}, { socketTimeout: 300 }))).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(kinesisProxy.requests.filter((r) => r.fault === 'blackhole')).toHaveLength(2);
  });

  it('blackhole: requestTimeout alone only logs a warning in @smithy/node-http-handler 4.x; the call stays pending', async () => {
    kinesisProxy.set('GetRecords', 'blackhole');
    const warnings: unknown[] = [];
    const logger = { debug: () => undefined, info: () => undefined, warn: (m: unknown) => warnings.push(m), error: () => undefined };
    const client = kinesis({}, { requestTimeout: 200, logger });
    const outcome = getRecords(client).then(
      () => 'answered',
      (e: { name: string }) => e.name,
    );
    const winner = await Promise.race([outcome, new Promise((resolve) => setTimeout(() => resolve('still pending'), 800))]);
    expect(winner).toBe('still pending');
    expect(String(warnings[0])).toMatch(/exceeded the configured 200 ms requestTimeout/);
    client.destroy();
    await outcome;
  });

  it('reset: the SDK retries ECONNRESET, then surfaces it (wrapped under jest)', async () => {
    kinesisProxy.set('GetRecords', 'reset');
    kinesisProxy.resetStats();
    // Outside jest the caller gets { name: 'TimeoutError', code: 'ECONNRESET' }. Under jest, node's own
    // errors come from another realm than the SDK's `Error`, fail its `instanceof Error`, and reach the
    // caller as a plain Error that only keeps the text: no name, no code.
    const error = await getRecords(kinesis({ maxAttempts: undefined })).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'AWS SDK error wrapper for TimeoutError: read ECONNRESET' });
    expect(kinesisProxy.count('GetRecords')).toBe(3);
  });

  it('the default retry strategy retries throttles and succeeds once a times: 2 rule is used up', async () => {
    kinesisProxy.resetStats();
    const rule = kinesisProxy.set('GetRecords', 'throttle', { times: 2 });
    const out = await getRecords(kinesis({ maxAttempts: undefined }));
    expect(out.Records).toHaveLength(2);
    expect(out.$metadata.attempts).toBe(3);
    expect(rule.active).toBe(false);
    expect(kinesisProxy.requests.map((r) => `${r.operation}:${r.fault}:${r.status}`)).toEqual([
      'GetRecords:throttle:400',
      'GetRecords:throttle:400',
      'GetRecords:pass:200',
    ]);
  });
});

describe('fault proxy in front of dynalite: what the SDK v3 DynamoDBClient surfaces', () => {
  const update = (client: DynamoDBClient) =>
    client.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key,
        UpdateExpression: 'ADD leaseCounter :one',
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    );

  it('throttle: ThrottlingException, HTTP 400', async () => {
    dynamoProxy.set('UpdateItem', 'throttle');
    const error = await update(dynamo()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottlingException);
    expect(error).toMatchObject({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
  });

  it('throttle variant: ProvisionedThroughputExceededException', async () => {
    dynamoProxy.set('UpdateItem', faults.throttle('ProvisionedThroughputExceededException'));
    await expect(update(dynamo())).rejects.toBeInstanceOf(DynamoDbProvisionedThroughputExceededException);
  });

  it('http500: InternalServerError, HTTP 500', async () => {
    dynamoProxy.set('*', 'http500');
    const error = await update(dynamo()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InternalServerError);
    expect(error).toMatchObject({ $fault: 'server', $metadata: { httpStatusCode: 500 } });
  });

  it('the default retry strategy retries throttles and succeeds once a times: 2 rule is used up', async () => {
    dynamoProxy.resetStats();
    dynamoProxy.set('GetItem', 'throttle', { times: 2 });
    const out = await dynamo({ maxAttempts: undefined }).send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }));
    expect(out.Item?.leaseCounter).toEqual({ N: '1' });
    expect(out.$metadata.attempts).toBe(3);
    expect(dynamoProxy.count('GetItem')).toBe(3);
    expect(dynamoProxy.operations()).toEqual(new Set(['dynamodb:GetItem']));
  });
});
