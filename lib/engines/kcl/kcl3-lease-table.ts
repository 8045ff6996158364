import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** The GSI KCL 3.x adds to the lease table: the leases of one worker, read by its lease renewer and the leader. */
export const LEASE_OWNER_INDEX = 'LeaseOwnerToLeaseKeyIndex';

/**
 * Creates the lease table of a KCL 3.x application with the lease-owner GSI in the same CreateTable call,
 * when the table does not exist yet (an existing table is left alone: the Java KCL adds the GSI itself).
 *
 * Why not let the Java KCL do it: 3.x creates the table without the GSI, then adds the GSI with
 * UpdateTable. On DynamoDB both ways end the same, but a new table with the GSI skips the backfill; and
 * dynalite (the test emulator) cannot add a GSI with UpdateTable at all (it requires provisioned
 * throughput for it and then ignores the request), while it serves a GSI given at CreateTable.
 * The GSI is exactly what 3.x creates: leaseOwner HASH, leaseKey RANGE, KEYS_ONLY.
 */
export async function createKcl3LeaseTable(client: DynamoDBClient, tableName: string): Promise<'created' | 'exists'> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: 'leaseKey', AttributeType: 'S' },
          { AttributeName: 'leaseOwner', AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        GlobalSecondaryIndexes: [
          {
            IndexName: LEASE_OWNER_INDEX,
            KeySchema: [
              { AttributeName: 'leaseOwner', KeyType: 'HASH' },
              { AttributeName: 'leaseKey', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      }),
    );
    return 'created';
  } catch (error) {
    if ((error as Error).name === 'ResourceInUseException') return 'exists';
    throw error;
  }
}
