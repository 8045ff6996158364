import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** What another worker's take does to the row: a new owner and a bumped counter, so the holder's next renewal fails. */
export async function writeLeaseOwner(dynamo: DynamoDBClient, table: string, leaseKey: string, owner: string): Promise<void> {
  await dynamo.send(
    new UpdateItemCommand({
      TableName: table,
      Key: { leaseKey: { S: leaseKey } },
      UpdateExpression: 'SET leaseOwner = :owner ADD leaseCounter :one',
      ExpressionAttributeValues: { ':owner': { S: owner }, ':one': { N: '1' } },
    }),
  );
}
