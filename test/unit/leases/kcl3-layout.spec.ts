import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LeaseTableEntities } from '../../../lib/leases/kcl3-layout';
import { acquireLeaderLock, heartbeatLeaderLock, readLeaderLockItem, releaseLeaderLock } from '../../../lib/leases/kcl3-leader-lock';
import {
  deleteOwnWorkerMetricStats,
  deleteWorkerMetricStats,
  listWorkerMetricStats,
  putWorkerMetricStats,
} from '../../../lib/leases/kcl3-tables';

/**
 * The same coordinator-state and worker-metrics writes in both layouts (docs/kcl3-protocol.md, sections 1
 * and 7): what each request names (table, key, entityType, conditions). The rows they produce on dynalite,
 * and a Java KCL 3.5.1 fleet reading them, are in test/e2e/kcl35-mixed-fleet.e2e-spec.ts.
 */
function recordingClient(answer: (input: Record<string, unknown>) => unknown = () => ({})) {
  const inputs: Record<string, unknown>[] = [];
  const client = {
    send: (command: { input: Record<string, unknown> }) => {
      inputs.push(command.input);
      return Promise.resolve(answer(command.input));
    },
  } as unknown as DynamoDBClient;
  return { client, inputs };
}

const single = new LeaseTableEntities('orders');
const holder = { workerId: 'native-1', leaseDurationMs: 120_000 };
const stats = { workerId: 'native-1', lastUpdateTimeSeconds: 1_800_000_000, metricStats: { CPU: [3, 4] }, operatingRange: { CPU: [100] } };

describe('the leader lock in both layouts', () => {
  it('two tables: key "key", no entityType', async () => {
    const { client, inputs } = recordingClient();
    await acquireLeaderLock(client, 'orders-CoordinatorState', holder, undefined);
    expect(inputs[0]).toMatchObject({
      TableName: 'orders-CoordinatorState',
      Item: { key: { S: 'Leader' }, ownerName: { S: 'native-1' }, leaseDuration: { S: '120000' } },
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': 'key' },
    });
    expect((inputs[0].Item as Record<string, unknown>).entityType).toBeUndefined();
  });

  it('the lease table: the row leaseKey "Leader" with entityType LEADER; heartbeat, release and read by leaseKey', async () => {
    const { client, inputs } = recordingClient((input) =>
      'ConsistentRead' in input
        ? {
            Item: {
              leaseKey: { S: 'Leader' },
              entityType: { S: 'LEADER' },
              ownerName: { S: 'java-1' },
              recordVersionNumber: { S: 'v' },
              leaseDuration: { S: '120000' },
            },
          }
        : {},
    );
    const version = await acquireLeaderLock(client, single, holder, undefined);
    expect(inputs[0]).toEqual({
      TableName: 'orders',
      Item: {
        leaseKey: { S: 'Leader' },
        entityType: { S: 'LEADER' },
        ownerName: { S: 'native-1' },
        leaseDuration: { S: '120000' },
        recordVersionNumber: { S: version },
      },
      ConditionExpression: 'attribute_not_exists(#pk)',
      ExpressionAttributeNames: { '#pk': 'leaseKey' },
    });
    await heartbeatLeaderLock(client, single, holder, version!);
    expect(inputs[1]).toMatchObject({
      TableName: 'orders',
      Key: { leaseKey: { S: 'Leader' } },
      ExpressionAttributeNames: { '#pk': 'leaseKey' },
    });
    await releaseLeaderLock(client, single, 'native-1', 'v2');
    expect(inputs[2]).toMatchObject({
      TableName: 'orders',
      Key: { leaseKey: { S: 'Leader' } },
      ExpressionAttributeNames: { '#pk': 'leaseKey' },
    });
    expect(await readLeaderLockItem(client, single)).toEqual({
      ownerName: 'java-1',
      recordVersionNumber: 'v',
      leaseDurationMs: 120_000,
      released: false,
    });
    expect(inputs[3]).toEqual({ TableName: 'orders', Key: { leaseKey: { S: 'Leader' } }, ConsistentRead: true });
  });
});

describe('worker metrics in both layouts', () => {
  it('two tables: the item keyed by wid, with the 3.5 support code, unconditional as before', async () => {
    const { client, inputs } = recordingClient();
    await putWorkerMetricStats(client, 'orders-WorkerMetricStats', stats);
    expect(inputs[0]).toEqual({
      TableName: 'orders-WorkerMetricStats',
      Item: {
        wid: { S: 'native-1' },
        lut: { N: '1800000000' },
        sts: { M: { CPU: { L: [{ N: '3' }, { N: '4' }] } } },
        opr: { M: { CPU: { L: [{ N: '100' }] } } },
        sup: { N: '1' },
        slu: { N: '1800000000' },
      },
    });
    await deleteOwnWorkerMetricStats(client, 'orders-WorkerMetricStats', 'native-1');
    expect(inputs[1]).toEqual({ TableName: 'orders-WorkerMetricStats', Key: { wid: { S: 'native-1' } } });
  });

  it('the lease table: the row leaseKey = workerId with entityType WORKER_METRIC_STATS, never written over or deleting a lease', async () => {
    const { client, inputs } = recordingClient();
    await putWorkerMetricStats(client, single, stats);
    expect(inputs[0]).toMatchObject({
      TableName: 'orders',
      Item: { leaseKey: { S: 'native-1' }, entityType: { S: 'WORKER_METRIC_STATS' }, sup: { N: '1' }, slu: { N: '1800000000' } },
      ConditionExpression: 'attribute_not_exists(leaseKey) OR entityType = :wms',
      ExpressionAttributeValues: { ':wms': { S: 'WORKER_METRIC_STATS' } },
    });
    expect((inputs[0].Item as Record<string, unknown>).wid).toBeUndefined();
    await deleteOwnWorkerMetricStats(client, single, 'native-1');
    expect(inputs[1]).toEqual({
      TableName: 'orders',
      Key: { leaseKey: { S: 'native-1' } },
      ConditionExpression: 'entityType = :wms',
      ExpressionAttributeValues: { ':wms': { S: 'WORKER_METRIC_STATS' } },
    });
  });

  it('the leader lists only the WORKER_METRIC_STATS rows of the lease table (a filtered scan), keyed by leaseKey, and deletes a stale one on lut and entityType', async () => {
    const { client, inputs } = recordingClient(() => ({
      Items: [
        {
          leaseKey: { S: 'java-1' },
          entityType: { S: 'WORKER_METRIC_STATS' },
          lut: { N: '10' },
          sts: { M: {} },
          opr: { M: {} },
          sup: { N: '1' },
        },
        {
          leaseKey: { S: 'native-1' },
          entityType: { S: 'WORKER_METRIC_STATS' },
          lut: { N: '20' },
          sts: { M: { CPU: { L: [{ N: '5' }] } } },
          opr: { M: { CPU: { L: [{ N: '100' }] } } },
        },
      ],
    }));
    const rows = await listWorkerMetricStats(client, single);
    expect(inputs[0]).toEqual({
      TableName: 'orders',
      ConsistentRead: true,
      ExclusiveStartKey: undefined,
      FilterExpression: '#et = :et',
      ExpressionAttributeNames: { '#et': 'entityType' },
      ExpressionAttributeValues: { ':et': { S: 'WORKER_METRIC_STATS' } },
    });
    expect(rows).toEqual([
      { workerId: 'java-1', lastUpdateTimeSeconds: 10, valid: true, failing: false },
      { workerId: 'native-1', lastUpdateTimeSeconds: 20, valid: true, failing: false },
    ]);
    await deleteWorkerMetricStats(client, single, rows[0]);
    expect(inputs[1]).toEqual({
      TableName: 'orders',
      Key: { leaseKey: { S: 'java-1' } },
      ConditionExpression: 'lut = :lut AND attribute_exists(leaseKey) AND entityType = :wms',
      ExpressionAttributeValues: { ':lut': { N: '10' }, ':wms': { S: 'WORKER_METRIC_STATS' } },
    });
  });

  it('two tables: the leader scans the whole metrics table, unfiltered, keyed by wid', async () => {
    const { client, inputs } = recordingClient(() => ({
      Items: [{ wid: { S: 'java-1' }, lut: { N: '10' }, sts: { M: {} }, opr: { M: {} } }],
    }));
    expect(await listWorkerMetricStats(client, 'orders-WorkerMetricStats')).toEqual([
      { workerId: 'java-1', lastUpdateTimeSeconds: 10, valid: true, failing: false },
    ]);
    expect(inputs[0]).toEqual({ TableName: 'orders-WorkerMetricStats', ConsistentRead: true, ExclusiveStartKey: undefined });
  });
});
