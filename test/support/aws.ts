import { randomBytes } from 'node:crypto';
import { DescribeTableCommand, DynamoDBClient, ScanCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export function endpoints() {
  const kinesis = process.env.TEST_KINESIS_ENDPOINT;
  const dynamodb = process.env.TEST_DYNAMODB_ENDPOINT;
  if (!kinesis || !dynamodb) throw new Error('The emulators are not running: run the tests through jest (npm test).');
  return { kinesis, dynamodb };
}

/** Exactly what a user gives: the endpoints, nothing else (region and credentials from the environment). */
export function workerClientOptions() {
  return { kinesis: { endpoint: endpoints().kinesis }, dynamodb: { endpoint: endpoints().dynamodb } };
}

export function kinesisClient(): KinesisClient {
  return new KinesisClient({ endpoint: endpoints().kinesis, requestHandler: new NodeHttpHandler() });
}

export function dynamoClient(): DynamoDBClient {
  return new DynamoDBClient({ endpoint: endpoints().dynamodb });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function scanRaw(dynamo: DynamoDBClient, tableName: string) {
  const { Items } = await dynamo.send(new ScanCommand({ TableName: tableName, ConsistentRead: true }));
  return (Items ?? []).sort((a, b) => a.leaseKey.S!.localeCompare(b.leaseKey.S!));
}

/** dynalite answers CreateTable while the table is CREATING; a write right after can meet ResourceNotFound. */
export async function tableActive(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  await waitUntilTableExists({ client: dynamo, maxWaitTime: 30, minDelay: 0.1 }, { TableName: tableName });
}

/**
 * Whether a DynamoDB table exists, by DescribeTable: ResourceNotFoundException means absent, any other error is thrown.
 * (ListTables returns at most 100 names a page, so a name missing from one page proves nothing.)
 */
export async function tableExists(dynamo: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    await dynamo.send(new DescribeTableCommand({ TableName: tableName }));
    return true;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return false;
    throw error;
  }
}
