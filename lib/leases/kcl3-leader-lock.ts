import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type PutItemCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import { conditionalWrite } from './conditional-write';
import { LEADER_LOCK_KEY } from './kcl3-application';
import { coordinatorKeyName, ENTITY_TYPE, entityTypeOf, tableNameOf, type Kcl3Table } from './kcl3-layout';

/**
 * The `Leader` item of a KCL 3.x application, written exactly as the DynamoDB lock client 1.4.0
 * (com.amazonaws:dynamodb-lock-client, used by the Java DynamoDBLockBasedLeaderDecider) writes it, so a
 * Java worker reading it sees an ordinary lock (docs/kcl3-protocol.md, sections 1 and 5):
 * - item: `key` = "Leader", `ownerName`, `leaseDuration` (a string of milliseconds), `recordVersionNumber`
 *   (a fresh UUID at every write), and `isReleased` = "1" once released without deleting;
 * - acquire: PutItem on `attribute_not_exists(key)` (no lock), or on the recordVersionNumber last seen
 *   (a released lock, or one whose holder stopped heartbeating for leaseDuration);
 * - heartbeat: SET leaseDuration and a new recordVersionNumber, on the holder's name and previous version;
 * - release: DeleteItem on the holder's name and version (the lock client's default deleteLockOnRelease).
 * Every write answers false on a failed condition: somebody else holds the lock, which is an answer.
 * In the KCL 3.5 single-table layout (a LeaseTableEntities) the item is the lease table's row `leaseKey` =
 * "Leader" with `entityType` = "LEADER", which the Java decider passes to the lock client as an
 * additional attribute of its PutItem (docs/kcl3-protocol.md, section 7); heartbeats leave it in place.
 */
export interface LeaderLockItem {
  readonly ownerName: string;
  readonly recordVersionNumber: string;
  readonly leaseDurationMs: number;
  readonly released: boolean;
}

const keyOf = (table: Kcl3Table): Record<string, AttributeValue> => ({ [coordinatorKeyName(table)]: { S: LEADER_LOCK_KEY } });

export async function readLeaderLockItem(
  client: DynamoDBClient,
  table: Kcl3Table,
  abortSignal?: AbortSignal,
): Promise<LeaderLockItem | undefined> {
  const { Item } = await client.send(new GetItemCommand({ TableName: tableNameOf(table), Key: keyOf(table), ConsistentRead: true }), {
    abortSignal,
  });
  if (!Item) return undefined;
  const duration = Number(Item.leaseDuration?.S ?? Item.leaseDuration?.N);
  return {
    ownerName: Item.ownerName?.S ?? '',
    recordVersionNumber: Item.recordVersionNumber?.S ?? '',
    leaseDurationMs: Number.isFinite(duration) && duration > 0 ? duration : 120_000,
    released: Item.isReleased !== undefined,
  };
}

/**
 * Takes the lock. `over` is the item this worker saw and judged free (released, or unchanged for its
 * lease duration); without it, the lock must not exist. Returns the new recordVersionNumber, or
 * undefined when another worker wrote the item first.
 */
export async function acquireLeaderLock(
  client: DynamoDBClient,
  table: Kcl3Table,
  holder: { readonly workerId: string; readonly leaseDurationMs: number },
  over: LeaderLockItem | undefined,
  abortSignal?: AbortSignal,
): Promise<string | undefined> {
  const version = randomUUID();
  const condition: Pick<PutItemCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> = over
    ? {
        ConditionExpression: 'attribute_exists(#pk) AND #rvn = :rvn',
        ExpressionAttributeNames: { '#pk': coordinatorKeyName(table), '#rvn': 'recordVersionNumber' },
        ExpressionAttributeValues: { ':rvn': { S: over.recordVersionNumber } },
      }
    : { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': coordinatorKeyName(table) } };
  const written = await conditionalWrite(
    client,
    new PutItemCommand({
      TableName: tableNameOf(table),
      Item: {
        ...keyOf(table),
        ...entityTypeOf(table, ENTITY_TYPE.leader),
        ownerName: { S: holder.workerId },
        leaseDuration: { S: String(holder.leaseDurationMs) },
        recordVersionNumber: { S: version },
      },
      ...condition,
    }),
    abortSignal,
  );
  return written ? version : undefined;
}

/** The holder's heartbeat. Returns the new recordVersionNumber, or undefined when the lock is no longer this worker's. */
export async function heartbeatLeaderLock(
  client: DynamoDBClient,
  table: Kcl3Table,
  holder: { readonly workerId: string; readonly leaseDurationMs: number },
  currentVersion: string,
  abortSignal?: AbortSignal,
): Promise<string | undefined> {
  const version = randomUUID();
  const written = await conditionalWrite(
    client,
    new UpdateItemCommand({
      TableName: tableNameOf(table),
      Key: keyOf(table),
      UpdateExpression: 'SET #ld = :ld, #rvn = :newRvn',
      ConditionExpression: 'attribute_exists(#pk) AND #rvn = :rvn AND #on = :on',
      ExpressionAttributeNames: {
        '#pk': coordinatorKeyName(table),
        '#ld': 'leaseDuration',
        '#rvn': 'recordVersionNumber',
        '#on': 'ownerName',
      },
      ExpressionAttributeValues: {
        ':ld': { S: String(holder.leaseDurationMs) },
        ':newRvn': { S: version },
        ':rvn': { S: currentVersion },
        ':on': { S: holder.workerId },
      },
    }),
    abortSignal,
  );
  return written ? version : undefined;
}

/** Deletes the lock if it is still this worker's at that version; false when it was not. */
export async function releaseLeaderLock(
  client: DynamoDBClient,
  table: Kcl3Table,
  workerId: string,
  currentVersion: string,
  abortSignal?: AbortSignal,
): Promise<boolean> {
  return conditionalWrite(
    client,
    new DeleteItemCommand({
      TableName: tableNameOf(table),
      Key: keyOf(table),
      ConditionExpression: 'attribute_exists(#pk) AND #rvn = :rvn AND #on = :on',
      ExpressionAttributeNames: { '#pk': coordinatorKeyName(table), '#rvn': 'recordVersionNumber', '#on': 'ownerName' },
      ExpressionAttributeValues: { ':rvn': { S: currentVersion }, ':on': { S: workerId } },
    }),
    abortSignal,
  );
}
