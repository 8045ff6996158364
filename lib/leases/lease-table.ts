import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { isConditionalCheckFailed, isResourceNotFound } from '../core/aws-errors';
import type { ExtendedSequenceNumber } from '../core/record';
import { sleep } from '../core/sleep';
import type { WorkerLogger } from '../core/logger';
import { leaseFromItem, newLeaseItem, rowProblem, type Lease } from './lease';
import { otherEntityType } from './entity-rows';
import { SkippedRowWarnings } from './skipped-rows';

/**
 * Every read and conditional write of the lease table (the KCL's LeaseRefresher).
 * Each write method returns the lease as written, or undefined when its condition failed:
 * a failed condition is an answer, not an error.
 */
export class LeaseTable {
  private readonly skippedRows: SkippedRowWarnings;

  /** @param logger where rows that are not usable leases are reported (rate-limited); they are skipped. */
  constructor(
    readonly client: DynamoDBClient,
    readonly tableName: string,
    logger?: WorkerLogger,
  ) {
    this.skippedRows = new SkippedRowWarnings(logger, tableName);
  }

  /** Creates the table with the KCL schema when it is missing, and waits until it is ACTIVE. */
  async ensureExists(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let status = await this.status();
    if (status === undefined) {
      try {
        await this.client.send(
          new CreateTableCommand({
            TableName: this.tableName,
            AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        );
      } catch (error) {
        // Another worker created it first.
        if ((error as Error).name !== 'ResourceInUseException') throw error;
      }
      status = await this.status();
    }
    while (status !== 'ACTIVE') {
      if (Date.now() > deadline) throw new Error(`Lease table ${this.tableName} is not ACTIVE after ${timeoutMs} ms (status ${status}).`);
      await sleep(100);
      status = await this.status();
    }
  }

  private async status(): Promise<string | undefined> {
    try {
      const { Table } = await this.client.send(new DescribeTableCommand({ TableName: this.tableName }));
      return Table?.TableStatus;
    } catch (error) {
      if (isResourceNotFound(error)) return undefined;
      throw error;
    }
  }

  async listLeases(): Promise<Lease[]> {
    const leases: Lease[] = [];
    let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(new ScanCommand({ TableName: this.tableName, ConsistentRead: true, ExclusiveStartKey }));
      for (const item of page.Items ?? []) {
        const lease = this.usableLease(item);
        if (lease) leases.push(lease);
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return leases;
  }

  async getLease(leaseKey: string): Promise<Lease | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { leaseKey: { S: leaseKey } }, ConsistentRead: true }),
    );
    return Item ? this.usableLease(Item) : undefined;
  }

  /**
   * A corrupt or foreign row is skipped (and reported), never a reason to stop the worker. A KCL 3.5 entity
   * row (leader lock, migration state, worker metrics) is skipped silently: it belongs there.
   */
  private usableLease(item: Record<string, AttributeValue>): Lease | undefined {
    if (otherEntityType(item) !== undefined) return undefined;
    const problem = rowProblem(item);
    if (problem === undefined) return leaseFromItem(item);
    this.skippedRows.skipped(item.leaseKey?.S ?? JSON.stringify(item.leaseKey ?? null), problem);
    return undefined;
  }

  /** Returns false when a lease with that key exists already. */
  async createLeaseIfNotExists(lease: Parameters<typeof newLeaseItem>[0]): Promise<boolean> {
    return this.conditional(
      new PutItemCommand({
        TableName: this.tableName,
        Item: newLeaseItem(lease),
        ConditionExpression: 'attribute_not_exists(leaseKey)',
      }),
    );
  }

  /** @param abortSignal ends the request (and the SDK's retries) when the renewal would come too late. */
  async renewLease(lease: Lease, abortSignal?: AbortSignal): Promise<Lease | undefined> {
    const ok = await this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(lease),
        UpdateExpression: 'SET leaseCounter = :next',
        ConditionExpression: 'leaseCounter = :counter AND leaseOwner = :owner',
        ExpressionAttributeValues: { ...this.counterValues(lease), ':owner': { S: lease.leaseOwner! } },
      }),
      abortSignal,
    );
    return ok ? { ...lease, leaseCounter: lease.leaseCounter + 1 } : undefined;
  }

  /** Take an expired lease, or steal one: the condition is the counter the taker saw. */
  async takeLease(lease: Lease, owner: string): Promise<Lease | undefined> {
    const switched = lease.leaseOwner !== owner;
    const ok = await this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(lease),
        UpdateExpression: `SET leaseCounter = :next, leaseOwner = :owner${switched ? ' ADD ownerSwitchesSinceCheckpoint :one' : ''}`,
        ConditionExpression: 'leaseCounter = :counter',
        ExpressionAttributeValues: {
          ...this.counterValues(lease),
          ':owner': { S: owner },
          ...(switched ? { ':one': { N: '1' } } : {}),
        },
      }),
    );
    return ok
      ? {
          ...lease,
          leaseOwner: owner,
          leaseCounter: lease.leaseCounter + 1,
          ownerSwitchesSinceCheckpoint: lease.ownerSwitchesSinceCheckpoint + (switched ? 1 : 0),
        }
      : undefined;
  }

  /** Give a lease up: no owner, so any worker's taker sees it as expired at once. */
  async evictLease(lease: Lease): Promise<boolean> {
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(lease),
        UpdateExpression: 'REMOVE leaseOwner SET leaseCounter = leaseCounter + :one',
        ConditionExpression: 'leaseOwner = :owner',
        ExpressionAttributeValues: { ':owner': { S: lease.leaseOwner! }, ':one': { N: '1' } },
      }),
    );
  }

  async updateCheckpoint(lease: Lease, checkpoint: ExtendedSequenceNumber): Promise<Lease | undefined> {
    const ok = await this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(lease),
        UpdateExpression:
          'SET leaseCounter = :next, checkpoint = :checkpoint, checkpointSubSequenceNumber = :sub, ownerSwitchesSinceCheckpoint = :zero ' +
          'REMOVE pendingCheckpoint, pendingCheckpointSubSequenceNumber, pendingCheckpointState',
        ConditionExpression: 'leaseCounter = :counter AND leaseOwner = :owner',
        ExpressionAttributeValues: {
          ...this.counterValues(lease),
          ':owner': { S: lease.leaseOwner! },
          ':checkpoint': { S: checkpoint.sequenceNumber },
          ':sub': { N: String(checkpoint.subSequenceNumber) },
          ':zero': { N: '0' },
        },
      }),
    );
    return ok
      ? { ...lease, leaseCounter: lease.leaseCounter + 1, checkpoint, ownerSwitchesSinceCheckpoint: 0, pendingCheckpoint: undefined }
      : undefined;
  }

  /**
   * An operator's reset (the CLI): the checkpoint moves to `checkpoint` unless the lease changed since
   * it was read, so a worker's concurrent write is never overwritten unseen.
   */
  async resetCheckpoint(lease: Lease, checkpoint: ExtendedSequenceNumber): Promise<boolean> {
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(lease),
        UpdateExpression:
          'SET leaseCounter = :next, checkpoint = :checkpoint, checkpointSubSequenceNumber = :sub, ownerSwitchesSinceCheckpoint = :zero ' +
          'REMOVE pendingCheckpoint, pendingCheckpointSubSequenceNumber, pendingCheckpointState',
        ConditionExpression: 'leaseCounter = :counter',
        ExpressionAttributeValues: {
          ...this.counterValues(lease),
          ':checkpoint': { S: checkpoint.sequenceNumber },
          ':sub': { N: String(checkpoint.subSequenceNumber) },
          ':zero': { N: '0' },
        },
      }),
    );
  }

  async updateChildShards(lease: Lease, childShardIds: readonly string[]): Promise<Lease | undefined> {
    const ok = await this.conditional(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: this.key(lease),
        UpdateExpression: 'SET leaseCounter = :next, childShardIds = :children',
        ConditionExpression: 'leaseCounter = :counter AND leaseOwner = :owner',
        ExpressionAttributeValues: {
          ...this.counterValues(lease),
          ':owner': { S: lease.leaseOwner! },
          ':children': { SS: [...childShardIds] },
        },
      }),
    );
    return ok ? { ...lease, leaseCounter: lease.leaseCounter + 1, childShardIds } : undefined;
  }

  /** Deletes a finished lease, only if it is still finished. */
  async deleteFinishedLease(leaseKey: string): Promise<boolean> {
    return this.conditional(
      new DeleteItemCommand({
        TableName: this.tableName,
        Key: { leaseKey: { S: leaseKey } },
        ConditionExpression: 'checkpoint = :end',
        ExpressionAttributeValues: { ':end': { S: 'SHARD_END' } },
      }),
    );
  }

  private key(lease: Lease) {
    return { leaseKey: { S: lease.leaseKey } };
  }

  private counterValues(lease: Lease) {
    return { ':counter': { N: String(lease.leaseCounter) }, ':next': { N: String(lease.leaseCounter + 1) } };
  }

  private async conditional(command: PutItemCommand | UpdateItemCommand | DeleteItemCommand, abortSignal?: AbortSignal): Promise<boolean> {
    try {
      await this.client.send(command as never, { abortSignal });
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
