import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { AssignedLeaseFollower } from '../../lib/engines/native/kcl3/assigned-lease-follower';
import { Kcl3HeldLease } from '../../lib/engines/native/kcl3/kcl3-held-lease';
import { assignKcl3Lease, initiateKcl3Handoff, readKcl3Lease, takeOverFromCheckpointOwner } from '../../lib/leases/kcl3-tables';
import { LeaseTable } from '../../lib/leases/lease-table';
import { startFaultProxy, type FaultProxy } from '../../lib/testing';
import { dynamoClient, endpoints, tableActive, uniqueName } from '../support/aws';

/**
 * The two writes that end a KCL 3.x hand-over (docs/kcl3-protocol.md, section 5) on dynalite: the old
 * owner's clear of checkpointOwner and the new owner's take-over after gracefulLeaseHandoffTimeoutMs.
 * A hung call (the fault proxy blackholes it) is cut off after failoverTimeMs instead of holding the
 * hand-over or the worker's stop; and a late clear never ends a later hand-over of the same lease.
 * The leader's writes are made with the native leader's own functions, as the Java leader writes them.
 */
const dynamo = dynamoClient();
let proxy: FaultProxy;
let proxied: DynamoDBClient;
beforeAll(async () => {
  proxy = await startFaultProxy({ target: endpoints().dynamodb });
  proxied = new DynamoDBClient({ endpoint: proxy.url, maxAttempts: 1 });
});
afterEach(() => proxy.clear());
afterAll(async () => {
  dynamo.destroy();
  proxied.destroy();
  await proxy.close();
});
const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };
const FAILOVER_MS = 1_500;

/** A 3.x lease table with one lease at counter 5, owned by `owner`, and the same table seen through the proxy. */
async function tableWithLease(owner: string, checkpointOwner?: string) {
  const name = uniqueName('kcl3-clear');
  await createKcl3LeaseTable(dynamo, name).then(() => tableActive(dynamo, name));
  await dynamo.send(
    new PutItemCommand({
      TableName: name,
      Item: {
        leaseKey: { S: 'shardId-0' },
        leaseCounter: { N: '5' },
        ownerSwitchesSinceCheckpoint: { N: '0' },
        checkpoint: { S: 'TRIM_HORIZON' },
        checkpointSubSequenceNumber: { N: '0' },
        leaseOwner: { S: owner },
        ...(checkpointOwner ? { checkpointOwner: { S: checkpointOwner } } : {}),
      },
    }),
  );
  return { direct: new LeaseTable(dynamo, name), viaProxy: new LeaseTable(proxied, name) };
}

const row = async (leases: LeaseTable) => (await readKcl3Lease(dynamo, leases.tableName, 'shardId-0'))!;

/** native-1 holds the lease, the leader hands it over to `to`, and native-1's renewal meets the hand-over. */
async function heldInHandover(to: string) {
  const { direct, viaProxy } = await tableWithLease('native-1');
  const held = new Kcl3HeldLease((await row(direct)).lease, viaProxy, 'native-1', FAILOVER_MS);
  expect(await initiateKcl3Handoff(dynamo, direct.tableName, { leaseKey: 'shardId-0', leaseOwner: 'native-1' }, to)).toBe(true);
  await held.renew();
  expect(held.handingOverTo).toBe(to);
  return { direct, held };
}

const onLeaseUpdates = (tableName: string) => (request: { operation: string; body?: Readonly<Record<string, unknown>> }) =>
  request.operation === 'UpdateItem' && request.body?.TableName === tableName;

describe('the writes that end a KCL 3.x hand-over (dynalite, fault proxy)', () => {
  it('a hung clear of checkpointOwner is cut off after failoverTimeMs: the release returns and the lease is let go', async () => {
    const { direct, held } = await heldInHandover('native-2');
    const hang = proxy.set(onLeaseUpdates(direct.tableName), 'blackhole');
    await held.release();
    expect(held.lost).toBe(true);
    expect(proxy.count('UpdateItem')).toBeGreaterThan(0);
    hang.remove();
    // The clear never reached the table: the new owner starts after gracefulLeaseHandoffTimeoutMs instead.
    expect(await row(direct)).toMatchObject({ lease: { leaseOwner: 'native-2', leaseCounter: 6 }, checkpointOwner: 'native-1' });
  });

  it('a hung clear in abandon() (a stop that ran out of time) is cut off after failoverTimeMs too', async () => {
    const { direct, held } = await heldInHandover('native-2');
    proxy.set(onLeaseUpdates(direct.tableName), 'blackhole');
    await expect(held.abandon()).rejects.toThrow();
    expect(held.lost).toBe(true);
  });

  it('a hung take-over from an old owner that never cleared checkpointOwner is cut off after failoverTimeMs; the next pass takes over', async () => {
    const { direct, viaProxy } = await tableWithLease('native-2', 'native-1');
    const follower = new AssignedLeaseFollower(
      viaProxy,
      { workerId: 'native-2', failoverTimeMs: FAILOVER_MS, gracefulLeaseHandoffTimeoutMs: 0 },
      silent,
    );
    const hang = proxy.set(onLeaseUpdates(direct.tableName), 'blackhole');
    await expect(follower.discover(() => false)).rejects.toThrow();
    expect(await row(direct)).toMatchObject({ lease: { leaseOwner: 'native-2', leaseCounter: 5 }, checkpointOwner: 'native-1' });
    hang.remove();
    const [taken] = await follower.discover(() => false);
    expect(taken).toMatchObject({ how: 'assigned', previousOwner: 'native-1', held: { lease: { leaseCounter: 6 } } });
    expect((await row(direct)).checkpointOwner).toBeUndefined();
  });

  it('a release that meets a hand-over it has not seen yet clears exactly that hand-over (the counter it holds), so the new owner starts at once', async () => {
    const { direct, viaProxy } = await tableWithLease('native-1');
    const held = new Kcl3HeldLease((await row(direct)).lease, viaProxy, 'native-1', FAILOVER_MS);
    expect(await initiateKcl3Handoff(dynamo, direct.tableName, { leaseKey: 'shardId-0', leaseOwner: 'native-1' }, 'native-2')).toBe(true);
    await held.release();
    const after = await row(direct);
    expect(after).toMatchObject({ lease: { leaseOwner: 'native-2', leaseCounter: 6 } });
    expect(after.checkpointOwner).toBeUndefined();
  });

  it('a late clear from an earlier hand-over never ends a later hand-over of the same lease from the same worker', async () => {
    const { direct, held } = await heldInHandover('native-2');
    const { tableName } = direct;
    // native-1 stalls; native-2 takes over after the timeout, the leader gives the lease back to native-1
    // (a new hold) and later hands it over again, to java-1: checkpointOwner = native-1 once more.
    const assigned = await row(direct);
    expect(await takeOverFromCheckpointOwner(dynamo, tableName, assigned.lease, 'native-2', 'native-1')).toBeDefined();
    expect(await assignKcl3Lease(dynamo, tableName, { leaseKey: 'shardId-0', leaseOwner: 'native-2' }, 'native-1')).toBe(true);
    expect(await initiateKcl3Handoff(dynamo, tableName, { leaseKey: 'shardId-0', leaseOwner: 'native-1' }, 'java-1')).toBe(true);
    const later = await row(direct);
    expect(later).toMatchObject({ lease: { leaseOwner: 'java-1' }, checkpointOwner: 'native-1' });

    // The first hold's stop comes late: its clear must not let java-1 start while the later hold still runs.
    await held.abandon();
    expect(await row(direct)).toMatchObject({
      lease: { leaseOwner: 'java-1', leaseCounter: later.lease.leaseCounter },
      checkpointOwner: 'native-1',
    });
  });
});
