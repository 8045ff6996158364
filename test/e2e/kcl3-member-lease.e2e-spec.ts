import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { LeaseLostError } from '../../lib/core/errors';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { AssignedLeaseFollower } from '../../lib/engines/native/kcl3/assigned-lease-follower';
import { Kcl3HeldLease } from '../../lib/engines/native/kcl3/kcl3-held-lease';
import { readKcl3Lease } from '../../lib/leases/kcl3-tables';
import { LeaseTable } from '../../lib/leases/lease-table';
import { dynamoClient, uniqueName, tableActive } from '../support/aws';

/**
 * The 3.x lease writes on dynalite, with the Java leader's writes played by the test (docs/kcl3-protocol.md,
 * section 4): GSI discovery, the hand-over wait and its timeout, renewal with throughputKBps, a hand-over
 * met by a renewal or by a checkpoint, and a reassignment without hand-over (lost, ZOMBIE).
 */
const dynamo = dynamoClient();
afterAll(() => dynamo.destroy());
const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };

async function table(): Promise<LeaseTable> {
  const name = uniqueName('kcl3-lease');
  await createKcl3LeaseTable(dynamo, name).then(() => tableActive(dynamo, name));
  return new LeaseTable(dynamo, name);
}

async function putLease(leases: LeaseTable, leaseKey: string, owner: string | undefined, extra: Record<string, { S: string }> = {}) {
  await dynamo.send(
    new PutItemCommand({
      TableName: leases.tableName,
      Item: {
        leaseKey: { S: leaseKey },
        leaseCounter: { N: '5' },
        ownerSwitchesSinceCheckpoint: { N: '0' },
        checkpoint: { S: 'TRIM_HORIZON' },
        checkpointSubSequenceNumber: { N: '0' },
        ...(owner ? { leaseOwner: { S: owner } } : {}),
        ...extra,
      },
    }),
  );
}

/** The leader's write: move the lease, optionally with a graceful hand-over. */
async function leaderMoves(leases: LeaseTable, leaseKey: string, from: string, to: string, graceful: boolean) {
  await dynamo.send(
    new UpdateItemCommand({
      TableName: leases.tableName,
      Key: { leaseKey: { S: leaseKey } },
      UpdateExpression: `SET leaseOwner = :to, leaseCounter = leaseCounter + :one${graceful ? ', checkpointOwner = :from' : ''}`,
      ConditionExpression: 'leaseOwner = :from AND attribute_not_exists(checkpointOwner)',
      ExpressionAttributeValues: { ':to': { S: to }, ':from': { S: from }, ':one': { N: '1' } },
    }),
  );
}

const config = { workerId: 'native-1', failoverTimeMs: 10_000, gracefulLeaseHandoffTimeoutMs: 200 };

describe('KCL 3.x leases of the native engine (dynalite)', () => {
  it('the follower finds exactly the leases assigned to it through the GSI, and holds them without a write', async () => {
    const leases = await table();
    await putLease(leases, 'shardId-0', 'native-1');
    await putLease(leases, 'shardId-1', 'java-1');
    await putLease(leases, 'shardId-2', undefined);
    const follower = new AssignedLeaseFollower(leases, config, silent);
    const found = await follower.discover(() => false);
    expect(found.map((f) => [f.held.leaseKey, f.how])).toEqual([['shardId-0', 'assigned']]);
    expect((await readKcl3Lease(dynamo, leases.tableName, 'shardId-0'))!.lease.leaseCounter).toBe(5);
    expect(await follower.discover((key) => key === 'shardId-0')).toEqual([]);
  });

  it('a lease handed over to it waits for checkpointOwner to clear; after the hand-over timeout it clears it itself and starts', async () => {
    const leases = await table();
    await putLease(leases, 'shardId-0', 'native-1', { checkpointOwner: { S: 'java-1' } });
    await putLease(leases, 'shardId-1', 'native-1', { checkpointOwner: { S: 'java-1' } });
    const follower = new AssignedLeaseFollower(leases, config, silent);
    expect(await follower.discover(() => false)).toEqual([]);
    // The previous owner finishes one of them.
    await dynamo.send(
      new UpdateItemCommand({
        TableName: leases.tableName,
        Key: { leaseKey: { S: 'shardId-0' } },
        UpdateExpression: 'REMOVE checkpointOwner',
      }),
    );
    expect((await follower.discover(() => false)).map((f) => f.held.leaseKey)).toEqual(['shardId-0']);
    await new Promise((resolve) => setTimeout(resolve, config.gracefulLeaseHandoffTimeoutMs + 50));
    const late = await follower.discover((key) => key === 'shardId-0');
    expect(late.map((f) => [f.held.leaseKey, f.previousOwner])).toEqual([['shardId-1', 'java-1']]);
    const row = await readKcl3Lease(dynamo, leases.tableName, 'shardId-1');
    expect(row).toMatchObject({ checkpointOwner: undefined, lease: { leaseOwner: 'native-1', leaseCounter: 6 } });
  });

  it('renewal writes throughputKBps; a graceful hand-over met by a renewal keeps the lease, tells the listeners, accepts the checkpoint, and release clears checkpointOwner only', async () => {
    const leases = await table();
    await putLease(leases, 'shardId-0', 'native-1');
    const [found] = await new AssignedLeaseFollower(leases, config, silent).discover(() => false);
    const held = found.held as Kcl3HeldLease;
    held.noteBytesRead(4096);
    await held.renew();
    expect(Number((await readKcl3Lease(dynamo, leases.tableName, 'shardId-0'))!.throughputKBps)).toBeGreaterThan(0);

    const handedTo: string[] = [];
    held.onHandoff((to) => handedTo.push(to));
    await leaderMoves(leases, 'shardId-0', 'native-1', 'java-1', true);
    await held.renew();
    await new Promise((resolve) => setImmediate(resolve));
    expect(handedTo).toEqual(['java-1']);
    expect(held.lost).toBe(false);
    // The processor's shutdown checkpoint is accepted while checkpointOwner names us.
    await held.update(
      (lease) => leases.updateCheckpoint(lease, { sequenceNumber: '12345', subSequenceNumber: 0 }),
      'checkpoint',
      () => false,
    );
    await held.release();
    const row = await readKcl3Lease(dynamo, leases.tableName, 'shardId-0');
    expect(row).toMatchObject({ checkpointOwner: undefined, lease: { leaseOwner: 'java-1', checkpoint: { sequenceNumber: '12345' } } });
  });

  it('a hand-over met first by a checkpoint: the checkpoint is made on the row as it is now', async () => {
    const leases = await table();
    await putLease(leases, 'shardId-0', 'native-1');
    const [found] = await new AssignedLeaseFollower(leases, config, silent).discover(() => false);
    const held = found.held as Kcl3HeldLease;
    await leaderMoves(leases, 'shardId-0', 'native-1', 'java-1', true);
    await held.update(
      (lease) => leases.updateCheckpoint(lease, { sequenceNumber: '777', subSequenceNumber: 0 }),
      'checkpoint',
      () => false,
    );
    expect(held.handingOverTo).toBe('java-1');
    expect((await readKcl3Lease(dynamo, leases.tableName, 'shardId-0'))!.lease.checkpoint.sequenceNumber).toBe('777');
  });

  it("a hand-over that timed out: the old owner never takes the new owner's take-over (counter + 1, owner the new one) for its own renewal, and cannot checkpoint under it", async () => {
    const leases = await table();
    await putLease(leases, 'shardId-0', 'native-1', { checkpoint: { S: '200' } });
    const [found] = await new AssignedLeaseFollower(leases, config, silent).discover(() => false);
    const held = found.held as Kcl3HeldLease;
    await leaderMoves(leases, 'shardId-0', 'native-1', 'native-2', true);
    await held.renew();
    expect(held.handingOverTo).toBe('native-2');

    // The old owner is stalled (its processor's shutdown hangs): the new owner waits out the hand-over
    // timeout, then removes checkpointOwner itself. That write moves the counter by exactly one.
    const newOwner = new AssignedLeaseFollower(leases, { ...config, workerId: 'native-2' }, silent);
    expect(await newOwner.discover(() => false)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, config.gracefulLeaseHandoffTimeoutMs + 50));
    const [taken] = await newOwner.discover(() => false);
    expect(taken.previousOwner).toBe('native-1');
    expect(taken.held.lease.leaseCounter).toBe(held.lease.leaseCounter + 1);

    // The old owner's next renewal is refused and must not be taken for its own retried write.
    await expect(held.renew()).rejects.toBeInstanceOf(LeaseLostError);
    expect(held.lost).toBe(true);
    // Its late shutdown checkpoint (an older position) cannot move the new owner's checkpoint backwards.
    await expect(
      held.update(
        (lease) => leases.updateCheckpoint(lease, { sequenceNumber: '100', subSequenceNumber: 0 }),
        'checkpoint',
        () => false,
      ),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await held.release();
    const row = await readKcl3Lease(dynamo, leases.tableName, 'shardId-0');
    expect(row).toMatchObject({ checkpointOwner: undefined, lease: { leaseOwner: 'native-2', checkpoint: { sequenceNumber: '200' } } });
    expect(row!.lease.leaseCounter).toBe(taken.held.lease.leaseCounter);
    // The new owner's lease is intact: it renews.
    await taken.held.renew();
  });

  it('a reassignment without hand-over loses the lease (ZOMBIE), and nothing is written over the new owner', async () => {
    const leases = await table();
    await putLease(leases, 'shardId-0', 'native-1');
    const [found] = await new AssignedLeaseFollower(leases, config, silent).discover(() => false);
    const held = found.held;
    await leaderMoves(leases, 'shardId-0', 'native-1', 'java-1', false);
    await expect(held.renew()).rejects.toBeInstanceOf(LeaseLostError);
    expect(held.lost).toBe(true);
    await held.release();
    expect((await readKcl3Lease(dynamo, leases.tableName, 'shardId-0'))!.lease).toMatchObject({ leaseOwner: 'java-1', leaseCounter: 6 });
  });
});
