import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { isResourceNotFound } from '../core/aws-errors';
import { conditionalWrite } from './conditional-write';
import { ENTITY_TYPE, entityTypeOf, isSingleTable, tableNameOf, workerMetricsKeyName, type Kcl3Table } from './kcl3-layout';
import { leaseFromItem, rowProblem, type Lease } from './lease';

/**
 * The tables and lease-row writes a KCL 3.x worker needs beyond the 2.x ones (docs/kcl3-protocol.md):
 * the WorkerMetricStats item of this worker, the lease-owner GSI, and the 3.x attributes of a lease row
 * (throughputKBps, checkpointOwner). Every write returns false on a failed condition: an answer, not an error.
 */

/** The GSI on the lease table that lists one worker's leases (leaseOwner HASH, leaseKey RANGE, KEYS_ONLY). */
export const LEASE_OWNER_TO_LEASE_KEY_INDEX = 'LeaseOwnerToLeaseKeyIndex';

export const defaultCoordinatorStateTable = (appName: string): string => `${appName}-CoordinatorState`;
export const defaultWorkerMetricsTable = (appName: string): string => `${appName}-WorkerMetricStats`;

/** One WorkerMetricStats item as the Java WorkerMetricStatsReporter writes it. */
export interface WorkerMetricStatsItem {
  readonly workerId: string;
  /** Epoch seconds: the leader judges the entry's freshness by it. */
  readonly lastUpdateTimeSeconds: number;
  /** Per metric (e.g. CPU), the last samples in percent, oldest first. */
  readonly metricStats: Readonly<Record<string, readonly number[]>>;
  /** Per metric, the ceiling (first element) the leader must not assign beyond. */
  readonly operatingRange: Readonly<Record<string, readonly number[]>>;
}

/**
 * The Java 3.5 support code (WorkerMetricStats.Features: 1 = SINGLE_TABLE_MIGRATION), written with the time it
 * was last heartbeated (`slu`). A 3.5 leader moves a 3.0–3.4 application's table migration on only when every
 * live worker reports it; 3.0–3.4 workers ignore both attributes. The native engine reads and writes the
 * single-table layout, so it reports the same code.
 */
export const WORKER_SUPPORT_CODE = 1;

export function workerMetricStatsToItem(stats: WorkerMetricStatsItem, table: Kcl3Table): Record<string, AttributeValue> {
  const numbers = (values: readonly number[]): AttributeValue => ({ L: values.map((value) => ({ N: String(value) })) });
  const map = (entries: Readonly<Record<string, readonly number[]>>): AttributeValue => ({
    M: Object.fromEntries(Object.entries(entries).map(([name, values]) => [name, numbers(values)])),
  });
  return {
    [workerMetricsKeyName(table)]: { S: stats.workerId },
    ...entityTypeOf(table, ENTITY_TYPE.workerMetricStats),
    lut: { N: String(stats.lastUpdateTimeSeconds) },
    sts: map(stats.metricStats),
    opr: map(stats.operatingRange),
    sup: { N: String(WORKER_SUPPORT_CODE) },
    slu: { N: String(stats.lastUpdateTimeSeconds) },
  };
}

/**
 * Writes this worker's item. In the lease table the write must never replace a lease whose key happens to
 * be the worker id: it is conditional on the row being absent or a worker metrics row.
 */
export async function putWorkerMetricStats(
  client: DynamoDBClient,
  table: Kcl3Table,
  stats: WorkerMetricStatsItem,
  abortSignal?: AbortSignal,
): Promise<void> {
  const item = workerMetricStatsToItem(stats, table);
  if (!isSingleTable(table)) {
    await client.send(new PutItemCommand({ TableName: table, Item: item }), { abortSignal });
    return;
  }
  await client.send(
    new PutItemCommand({
      TableName: table.tableName,
      Item: item,
      ConditionExpression: 'attribute_not_exists(leaseKey) OR entityType = :wms',
      ExpressionAttributeValues: { ':wms': { S: ENTITY_TYPE.workerMetricStats } },
    }),
    { abortSignal },
  );
}

/**
 * Deletes this worker's own item (at a graceful stop). In the lease table only a worker metrics row:
 * never a lease whose key happens to be the worker id.
 */
export async function deleteOwnWorkerMetricStats(
  client: DynamoDBClient,
  table: Kcl3Table,
  workerId: string,
  abortSignal?: AbortSignal,
): Promise<void> {
  const key = { [workerMetricsKeyName(table)]: { S: workerId } };
  if (!isSingleTable(table)) {
    await client.send(new DeleteItemCommand({ TableName: table, Key: key }), { abortSignal });
    return;
  }
  await conditionalWrite(
    client,
    new DeleteItemCommand({
      TableName: table.tableName,
      Key: key,
      ConditionExpression: 'entityType = :wms',
      ExpressionAttributeValues: { ':wms': { S: ENTITY_TYPE.workerMetricStats } },
    }),
    abortSignal,
  );
}

/** The keys of the leases whose leaseOwner is `workerId`, from the GSI (eventually consistent, as in the Java KCL). */
export async function listLeaseKeysOwnedBy(
  client: DynamoDBClient,
  leaseTable: string,
  workerId: string,
  abortSignal?: AbortSignal,
): Promise<string[]> {
  const keys: string[] = [];
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        TableName: leaseTable,
        IndexName: LEASE_OWNER_TO_LEASE_KEY_INDEX,
        KeyConditionExpression: 'leaseOwner = :owner',
        ExpressionAttributeValues: { ':owner': { S: workerId } },
        ExclusiveStartKey,
      }),
      { abortSignal },
    );
    for (const item of page.Items ?? []) if (item.leaseKey?.S) keys.push(item.leaseKey.S);
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return keys;
}

/** Whether the lease table has the lease-owner GSI, ACTIVE (a follower cannot find its leases without it). */
export async function leaseOwnerIndexStatus(client: DynamoDBClient, leaseTable: string): Promise<string | undefined> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: leaseTable }));
  return Table?.GlobalSecondaryIndexes?.find((index) => index.IndexName === LEASE_OWNER_TO_LEASE_KEY_INDEX)?.IndexStatus ?? undefined;
}

/** A lease row with its 3.x attributes. */
export interface Kcl3LeaseRow {
  readonly lease: Lease;
  /** Set during a graceful hand-over: the previous owner, which must finish (and checkpoint) first. */
  readonly checkpointOwner?: string;
  readonly throughputKBps?: number;
}

/** Reads one lease row (strongly consistent); undefined when it is gone or not a usable lease. */
export async function readKcl3Lease(
  client: DynamoDBClient,
  leaseTable: string,
  leaseKey: string,
  abortSignal?: AbortSignal,
): Promise<Kcl3LeaseRow | undefined> {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: leaseTable, Key: { leaseKey: { S: leaseKey } }, ConsistentRead: true }),
    { abortSignal },
  );
  if (!Item || rowProblem(Item) !== undefined) return undefined;
  const kbps = Item.throughputKBps?.N;
  return {
    lease: leaseFromItem(Item),
    checkpointOwner: Item.checkpointOwner?.S,
    throughputKBps: kbps === undefined ? undefined : Number(kbps),
  };
}

/**
 * The 3.x renewal: leaseCounter + 1 and the owner's measured throughput (what the leader balances by;
 * undefined: not written, for a lease renewed under the 2.x rules).
 * Condition: the counter this worker last wrote, and either leaseOwner = us (normal) or, during a hand-over
 * away from us, checkpointOwner = us (the Java KCL's renewer keeps a lease it is handing over renewed too).
 */
export async function renewKcl3Lease(
  client: DynamoDBClient,
  leaseTable: string,
  lease: Lease,
  holder: { readonly workerId: string; readonly handingOver: boolean },
  throughputKBps: number | undefined,
  abortSignal?: AbortSignal,
): Promise<boolean> {
  return conditionalWrite(
    client,
    new UpdateItemCommand({
      TableName: leaseTable,
      Key: { leaseKey: { S: lease.leaseKey } },
      UpdateExpression: `SET leaseCounter = :next${throughputKBps === undefined ? '' : ', throughputKBps = :kbps'}`,
      ConditionExpression: `leaseCounter = :counter AND ${holder.handingOver ? 'checkpointOwner' : 'leaseOwner'} = :me`,
      ExpressionAttributeValues: {
        ':counter': { N: String(lease.leaseCounter) },
        ':next': { N: String(lease.leaseCounter + 1) },
        ...(throughputKBps === undefined ? {} : { ':kbps': { N: String(throughputKBps) } }),
        ':me': { S: holder.workerId },
      },
    }),
    abortSignal,
  );
}

/**
 * Ends a hand-over as the previous owner: checkpointOwner goes, and the new owner may start.
 * `handover` is the row as this worker last read or wrote it during that hand-over (leaseOwner = the new
 * owner, checkpointOwner = us). The condition pins exactly that state (counter, new owner, checkpoint
 * owner): a late clear (a stop that ran out of time, a write the SDK retried) must not end a later
 * hand-over of the same lease from this worker, after the lease came back to it, and the leader's
 * assignment or the new owner's take-over always move the counter.
 * The abort signal bounds the call: a hung write must not hold the hand-over or the worker's stop.
 */
export async function clearCheckpointOwner(
  client: DynamoDBClient,
  leaseTable: string,
  handover: Lease,
  workerId: string,
  abortSignal?: AbortSignal,
): Promise<boolean> {
  if (handover.leaseOwner === undefined) return false;
  return conditionalWrite(
    client,
    new UpdateItemCommand({
      TableName: leaseTable,
      Key: { leaseKey: { S: handover.leaseKey } },
      UpdateExpression: 'REMOVE checkpointOwner SET leaseCounter = :next',
      ConditionExpression: 'leaseCounter = :counter AND leaseOwner = :newOwner AND checkpointOwner = :me',
      ExpressionAttributeValues: {
        ':counter': { N: String(handover.leaseCounter) },
        ':next': { N: String(handover.leaseCounter + 1) },
        ':newOwner': { S: handover.leaseOwner },
        ':me': { S: workerId },
      },
    }),
    abortSignal,
  );
}

/**
 * The new owner's end of a hand-over whose previous owner never cleared checkpointOwner (it died, or
 * its shutdown failed) within the hand-over timeout: checkpointOwner goes, so the leader may hand the
 * lease over again later. Condition: the row is exactly as read (counter, owner = us, that checkpoint owner).
 * The abort signal bounds the call: a hung write must not hold the discovery pass.
 */
export async function takeOverFromCheckpointOwner(
  client: DynamoDBClient,
  leaseTable: string,
  lease: Lease,
  workerId: string,
  previous: string,
  abortSignal?: AbortSignal,
): Promise<Lease | undefined> {
  const ok = await conditionalWrite(
    client,
    new UpdateItemCommand({
      TableName: leaseTable,
      Key: { leaseKey: { S: lease.leaseKey } },
      UpdateExpression: 'REMOVE checkpointOwner SET leaseCounter = :next',
      ConditionExpression: 'leaseCounter = :counter AND leaseOwner = :me AND checkpointOwner = :previous',
      ExpressionAttributeValues: {
        ':counter': { N: String(lease.leaseCounter) },
        ':next': { N: String(lease.leaseCounter + 1) },
        ':me': { S: workerId },
        ':previous': { S: previous },
      },
    }),
    abortSignal,
  );
  return ok ? { ...lease, leaseCounter: lease.leaseCounter + 1 } : undefined;
}

/** Creates the WorkerMetricStats table as the Java KCL 3.x does (key wid, on-demand); false when it exists already (or is being created). */
export async function createWorkerMetricsTable(client: DynamoDBClient, tableName: string, abortSignal?: AbortSignal): Promise<boolean> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'wid', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'wid', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
      { abortSignal },
    );
    return true;
  } catch (error) {
    if ((error as { name?: string })?.name === 'ResourceInUseException') return false;
    throw error;
  }
}

/** A WorkerMetricStats item as the leader reads it. */
export interface WorkerMetricStatsRow {
  readonly workerId: string;
  readonly lastUpdateTimeSeconds: number;
  /** The Java WorkerMetricStats.isValidWorkerMetric: every sts metric has an opr ceiling, and no ceiling is 0. */
  readonly valid: boolean;
  /** The Java isAnyWorkerMetricFailing: some metric's last sample is -1. */
  readonly failing: boolean;
}

/** Every WorkerMetricStats item (strongly consistent scan, all pages). */
export async function listWorkerMetricStats(
  client: DynamoDBClient,
  table: Kcl3Table,
  abortSignal?: AbortSignal,
): Promise<WorkerMetricStatsRow[]> {
  const rows: WorkerMetricStatsRow[] = [];
  // No table yet: no worker has published metrics (the reporters create it), which is an answer, not a failed pass.
  const items = await scanAll(
    client,
    tableNameOf(table),
    abortSignal,
    isSingleTable(table) ? ENTITY_TYPE.workerMetricStats : undefined,
  ).catch((error: unknown) => {
    if (isResourceNotFound(error)) return [];
    throw error;
  });
  const keyName = workerMetricsKeyName(table);
  for (const item of items) {
    const workerId = item[keyName]?.S;
    const lut = Number(item.lut?.N);
    if (!workerId) continue;
    const sts = item.sts?.M ?? {};
    const opr = item.opr?.M ?? {};
    const usesDefaultMetric = Object.keys(sts).length === 0 && Object.keys(opr).length === 0;
    const ceilings = Object.values(opr).map((range) => Number(range.L?.[0]?.N ?? 0));
    const valid =
      Number.isFinite(lut) &&
      (usesDefaultMetric || (Object.keys(sts).every((name) => opr[name] !== undefined) && ceilings.every((ceiling) => ceiling !== 0)));
    const failing = Object.values(sts).some(
      (samples) => samples.L !== undefined && samples.L.length > 0 && Number(samples.L[samples.L.length - 1].N) === -1,
    );
    rows.push({ workerId, lastUpdateTimeSeconds: Number.isFinite(lut) ? lut : 0, valid, failing });
  }
  return rows;
}

/** The leader's stale-entry cleanup: deletes a worker's item only if it was not written since it was read (Java's condition on lut). */
export async function deleteWorkerMetricStats(
  client: DynamoDBClient,
  table: Kcl3Table,
  row: WorkerMetricStatsRow,
  abortSignal?: AbortSignal,
): Promise<boolean> {
  const keyName = workerMetricsKeyName(table);
  return conditionalWrite(
    client,
    new DeleteItemCommand({
      TableName: tableNameOf(table),
      Key: { [keyName]: { S: row.workerId } },
      // In the lease table also on entityType: never a lease, whatever its key.
      ConditionExpression: `lut = :lut AND attribute_exists(${keyName})${isSingleTable(table) ? ' AND entityType = :wms' : ''}`,
      ExpressionAttributeValues: {
        ':lut': { N: String(row.lastUpdateTimeSeconds) },
        ...(isSingleTable(table) ? { ':wms': { S: ENTITY_TYPE.workerMetricStats } } : {}),
      },
    }),
    abortSignal,
  );
}

/** Every usable lease row with its 3.x attributes (strongly consistent scan, all pages); rows of other entity types are skipped. */
export async function listKcl3Leases(client: DynamoDBClient, leaseTable: string, abortSignal?: AbortSignal): Promise<Kcl3LeaseRow[]> {
  return (await scanAll(client, leaseTable, abortSignal))
    .filter((item) => rowProblem(item) === undefined)
    .map((item) => ({
      lease: leaseFromItem(item),
      checkpointOwner: item.checkpointOwner?.S,
      throughputKBps: item.throughputKBps?.N === undefined ? undefined : Number(item.throughputKBps.N),
    }));
}

/**
 * The leader's assignment (Java DynamoDBLeaseRefresher.assignLease): leaseOwner = the new owner, the
 * counter moves (so the previous owner's next renewal fails and it lets go), checkpointOwner goes.
 * Condition: the row still has the owner and checkpoint owner the leader read, and exists.
 */
export async function assignKcl3Lease(
  client: DynamoDBClient,
  leaseTable: string,
  row: { readonly leaseKey: string; readonly leaseOwner?: string; readonly checkpointOwner?: string },
  newOwner: string,
  abortSignal?: AbortSignal,
): Promise<boolean> {
  const ownerChanges = (row.leaseOwner !== undefined && row.leaseOwner !== newOwner) || row.checkpointOwner === newOwner;
  const values: Record<string, AttributeValue> = { ':new': { S: newOwner }, ':one': { N: '1' }, ':key': { S: row.leaseKey } };
  if (row.leaseOwner !== undefined) values[':owner'] = { S: row.leaseOwner };
  if (row.checkpointOwner !== undefined) values[':cpo'] = { S: row.checkpointOwner };
  return conditionalWrite(
    client,
    new UpdateItemCommand({
      TableName: leaseTable,
      Key: { leaseKey: { S: row.leaseKey } },
      UpdateExpression: `SET leaseOwner = :new REMOVE checkpointOwner ADD leaseCounter :one${ownerChanges ? ', ownerSwitchesSinceCheckpoint :one' : ''}`,
      ConditionExpression: [
        'leaseKey = :key',
        row.leaseOwner === undefined ? 'attribute_not_exists(leaseOwner)' : 'leaseOwner = :owner',
        row.checkpointOwner === undefined ? 'attribute_not_exists(checkpointOwner)' : 'checkpointOwner = :cpo',
      ].join(' AND '),
      ExpressionAttributeValues: values,
    }),
    abortSignal,
  );
}

/**
 * The leader's graceful move (Java initiateGracefulLeaseHandoff): leaseOwner = the new owner and
 * checkpointOwner = the current one, without touching the counter, so the current owner keeps renewing,
 * finishes its processor (which may checkpoint) and then clears checkpointOwner.
 */
export async function initiateKcl3Handoff(
  client: DynamoDBClient,
  leaseTable: string,
  row: { readonly leaseKey: string; readonly leaseOwner: string },
  newOwner: string,
  abortSignal?: AbortSignal,
): Promise<boolean> {
  return conditionalWrite(
    client,
    new UpdateItemCommand({
      TableName: leaseTable,
      Key: { leaseKey: { S: row.leaseKey } },
      UpdateExpression: 'SET leaseOwner = :new, checkpointOwner = :owner',
      ConditionExpression: 'leaseKey = :key AND leaseOwner = :owner AND attribute_not_exists(checkpointOwner)',
      ExpressionAttributeValues: { ':new': { S: newOwner }, ':owner': { S: row.leaseOwner }, ':key': { S: row.leaseKey } },
    }),
    abortSignal,
  );
}

/** Every item of the table (all pages, strongly consistent); with `entityType`, only the rows of that entity type (the Java 3.5 filter). */
async function scanAll(
  client: DynamoDBClient,
  tableName: string,
  abortSignal?: AbortSignal,
  entityType?: string,
): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  const filter = entityType
    ? {
        FilterExpression: '#et = :et',
        ExpressionAttributeNames: { '#et': 'entityType' },
        ExpressionAttributeValues: { ':et': { S: entityType } },
      }
    : {};
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey, ...filter }), {
      abortSignal,
    });
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}
