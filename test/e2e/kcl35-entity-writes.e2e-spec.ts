import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { LeaseTableEntities } from '../../lib/leases/kcl3-layout';
import { acquireLeaderLock, heartbeatLeaderLock, readLeaderLockItem, releaseLeaderLock } from '../../lib/leases/kcl3-leader-lock';
import { deleteOwnWorkerMetricStats, listWorkerMetricStats, putWorkerMetricStats } from '../../lib/leases/kcl3-tables';
import { dynamoClient, scanRaw, tableActive, uniqueName } from '../support/aws';

/**
 * The native engine's own rows in a KCL 3.5 lease table, on dynalite's real conditional writes: they never
 * replace or delete a lease, whatever its key, and the lock is the lock client's. The rows a Java 3.5.1
 * fleet accepts are proved in kcl35-mixed-fleet.e2e-spec.ts.
 */
const dynamo = dynamoClient();
afterAll(() => dynamo.destroy());

const lease = (key: string) => ({
  leaseKey: { S: key },
  leaseCounter: { N: '3' },
  leaseOwner: { S: 'java-1' },
  checkpoint: { S: 'TRIM_HORIZON' },
});

it('worker metrics rows: written and deleted by leaseKey with entityType; a lease whose key is the worker id is neither replaced nor deleted', async () => {
  const table = uniqueName('k35rows');
  await createKcl3LeaseTable(dynamo, table);
  await tableActive(dynamo, table);
  const single = new LeaseTableEntities(table);
  const stats = (workerId: string) => ({
    workerId,
    lastUpdateTimeSeconds: Math.floor(Date.now() / 1000),
    metricStats: { CPU: [1] },
    operatingRange: { CPU: [100] },
  });

  await putWorkerMetricStats(dynamo, single, stats('native-1'));
  await putWorkerMetricStats(dynamo, single, stats('native-1')); // its own row again: replaced
  expect((await listWorkerMetricStats(dynamo, single)).map((row) => row.workerId)).toEqual(['native-1']);

  await dynamo.send(new PutItemCommand({ TableName: table, Item: lease('clash') }));
  await expect(putWorkerMetricStats(dynamo, single, stats('clash'))).rejects.toMatchObject({ name: 'ConditionalCheckFailedException' });
  await deleteOwnWorkerMetricStats(dynamo, single, 'clash');
  expect((await scanRaw(dynamo, table)).find((row) => row.leaseKey.S === 'clash')).toEqual(lease('clash'));
  // The leader's list is the entity rows only.
  expect((await listWorkerMetricStats(dynamo, single)).map((row) => row.workerId)).toEqual(['native-1']);

  await deleteOwnWorkerMetricStats(dynamo, single, 'native-1');
  expect((await scanRaw(dynamo, table)).map((row) => row.leaseKey.S)).toEqual(['clash']);
});

it('the Leader row: taken when absent, with entityType LEADER; a second contender refused; heartbeat keeps entityType; release deletes it', async () => {
  const table = uniqueName('k35lock');
  await createKcl3LeaseTable(dynamo, table);
  await tableActive(dynamo, table);
  const single = new LeaseTableEntities(table);
  const version = await acquireLeaderLock(dynamo, single, { workerId: 'native-1', leaseDurationMs: 120_000 }, undefined);
  expect(version).toBeDefined();
  expect(await acquireLeaderLock(dynamo, single, { workerId: 'native-2', leaseDurationMs: 120_000 }, undefined)).toBeUndefined();
  const next = await heartbeatLeaderLock(dynamo, single, { workerId: 'native-1', leaseDurationMs: 120_000 }, version!);
  const [row] = await scanRaw(dynamo, table);
  expect(row).toEqual({
    leaseKey: { S: 'Leader' },
    entityType: { S: 'LEADER' },
    ownerName: { S: 'native-1' },
    leaseDuration: { S: '120000' },
    recordVersionNumber: { S: next },
  });
  expect(await readLeaderLockItem(dynamo, single)).toMatchObject({ ownerName: 'native-1', recordVersionNumber: next });
  expect(await releaseLeaderLock(dynamo, single, 'native-1', version!)).toBe(false);
  expect(await releaseLeaderLock(dynamo, single, 'native-1', next!)).toBe(true);
  expect(await scanRaw(dynamo, table)).toEqual([]);
});
