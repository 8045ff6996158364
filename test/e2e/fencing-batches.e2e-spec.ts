import { CreateTableCommand, DescribeTableCommand, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { createWorker, type KinesisRecord, type KinesisRecordProcessor, type KinesisWorker, type LeaseFencingToken } from '../../lib';
import { createStream, putRecords } from '../../lib/testing';
import { dynamoClient, kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import { waitFor } from '../support/wait-for';
import { writeLeaseOwner } from './fanout-support/steal-lease';

const kinesis = kinesisClient();
const dynamo = dynamoClient();
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

const FAST = {
  idleTimeBetweenReadsMs: 50,
  failoverTimeMs: 3_000,
  leaseTakerIntervalMs: 300,
  shardSyncIntervalMs: 1_000,
  parentShardPollIntervalMs: 200,
};

describe('fencing token for processRecords (ProcessRecordsInput.lease)', () => {
  const workers: KinesisWorker[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });

  it('a sink that keeps the highest lease counter per shard refuses the late writes of a worker that lost the lease', async () => {
    const stream = uniqueName('fence-batch');
    const appName = uniqueName('fence-batch-app');
    const sinkTable = uniqueName('fence-batch-sink');
    await createStream(kinesis, stream, 1);
    await dynamo.send(
      new CreateTableCommand({
        TableName: sinkTable,
        KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await waitFor(
      async () => (await dynamo.send(new DescribeTableCommand({ TableName: sinkTable }))).Table?.TableStatus === 'ACTIVE',
      'the sink table',
    );
    // The documented pattern (docs/concurrency.md, Fencing): one conditional write per record, accepted only
    // under a counter at least the highest the sink has seen for the lease.
    const sinkWrite = (record: KinesisRecord, fence: LeaseFencingToken) =>
      dynamo.send(
        new UpdateItemCommand({
          TableName: sinkTable,
          Key: { leaseKey: { S: fence.leaseKey } },
          UpdateExpression: 'SET fence = :counter, lastWriter = :owner ADD records :seq',
          ConditionExpression: 'attribute_not_exists(fence) OR fence <= :counter',
          ExpressionAttributeValues: {
            ':counter': { N: String(fence.counter) },
            ':owner': { S: fence.owner },
            ':seq': { SS: [record.sequenceNumber] },
          },
        }),
      );
    const puts = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 5 }, (_, i) => ({ partitionKey: `key-${i}`, data: `r-${i}` })),
    );
    const shardId = puts[0].shardId;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const outcomes: string[] = [];
    const tokens = new Map<string, LeaseFencingToken>();
    const shutdowns: string[] = [];
    const processorOf = (name: string) => (): KinesisRecordProcessor => ({
      processRecords: async ({ records, lease }) => {
        if (!lease) throw new Error('the native engine hands processRecords a fencing token');
        tokens.set(name, lease);
        // Worker a stalls before its writes (a long GC pause, a slow network) while its lease goes to b.
        if (name === 'a') {
          outcomes.push('a: batch started');
          await gate;
        }
        for (const record of records) {
          try {
            await sinkWrite(record, lease);
            outcomes.push(`${name}: ${record.partitionKey} written`);
          } catch (error) {
            if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
            outcomes.push(`${name}: ${record.partitionKey} refused`);
          }
        }
      },
      shutdown: ({ reason }) => void shutdowns.push(`${name}: ${reason}`),
    });
    const options = { ...workerClientOptions(), ...FAST, appName, streamName: stream, autoCheckpoint: 'batch' as const };
    // Worker a takes the lease at start and never again in this test: otherwise its taker may win the expired
    // lease back from b (and its new consumer waits behind the stalled one), a race seen once on Node 22.
    const a = createWorker(
      { ...options, leaseTakerIntervalMs: 600_000, workerId: 'worker-a', logger: new CapturingLogger() },
      processorOf('a'),
    );
    workers.push(a);
    await a.start();
    await waitFor(() => outcomes.includes('a: batch started'), 'worker a started its batch');
    // Another worker takes the lease (what a take does to the row: a new owner, a higher counter). The owner
    // here never renews, so the lease expires and worker b takes it in turn, as after a partition.
    await writeLeaseOwner(dynamo, appName, shardId, 'gone-worker');
    const b = createWorker({ ...options, workerId: 'worker-b', logger: new CapturingLogger() }, processorOf('b'));
    workers.push(b);
    await b.start();
    await waitFor(() => outcomes.filter((o) => o.startsWith('b:')).length === puts.length, 'worker b wrote every record');
    expect(tokens.get('a')).toMatchObject({ leaseKey: shardId, owner: 'worker-a' });
    expect(tokens.get('b')).toMatchObject({ leaseKey: shardId, owner: 'worker-b' });
    expect(tokens.get('b')!.counter).toBeGreaterThan(tokens.get('a')!.counter);
    openGate();
    await waitFor(() => outcomes.filter((o) => o.startsWith('a:')).length === 1 + puts.length, "worker a's late writes");
    expect(outcomes.filter((o) => o.startsWith('a:'))).toEqual([
      'a: batch started',
      ...puts.map((put) => `a: ${put.partitionKey} refused`),
    ]);
    expect(outcomes.filter((o) => o.startsWith('b:'))).toEqual(puts.map((put) => `b: ${put.partitionKey} written`));
    // Worker a learns it lost the lease once its call returns: ZOMBIE, no checkpoint.
    await waitFor(() => shutdowns.includes('a: ZOMBIE'), "worker a's shutdown(ZOMBIE)");
    const item = await dynamo.send(new GetItemCommand({ TableName: sinkTable, Key: { leaseKey: { S: shardId } }, ConsistentRead: true }));
    expect(Number(item.Item!.fence.N)).toBe(tokens.get('b')!.counter);
    expect(item.Item!.lastWriter.S).toBe('worker-b');
    expect([...item.Item!.records.SS!].sort()).toEqual(puts.map((put) => put.sequenceNumber).sort());
  });
});
