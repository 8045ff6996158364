import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { createStream, putRecords } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, tableActive, tableExists, uniqueName } from '../support/aws';
import { KCL35_FAST, Kcl35Consumer, killAll } from '../support/kcl35-consumer';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';

/**
 * What a fresh Java KCL 3.5.1 application writes, on dynalite: the single-table layout documented in
 * docs/kcl3-protocol.md ("KCL 3.5: the single-table layout"). Every row is in the lease table, told apart
 * by `entityType`; no <app>-CoordinatorState or <app>-WorkerMetricStats table is created.
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const consumers: Kcl35Consumer[] = [];
afterEach(() => killAll(consumers.splice(0)));
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

type Row = Record<string, AttributeValue>;
/** A row's attribute names and DynamoDB types: { leaseKey: 'S', lut: 'N', ... }. */
const shape = (row: Row) => Object.fromEntries(Object.entries(row).map(([name, value]) => [name, Object.keys(value)[0]]));
const byKey = (rows: Row[], key: string) => rows.find((row) => row.leaseKey.S === key);

it.each([
  ['CLIENT_VERSION_CONFIG_3X', 'CLIENT_VERSION_3X'],
  ['CLIENT_VERSION_CONFIG_COMPATIBLE_WITH_2X', 'CLIENT_VERSION_UPGRADE_FROM_2X'],
] as const)(
  'a fresh KCL 3.5.1 application in %s keeps its migration state, worker metrics and (3.x) leader lock as entityType rows of the lease table',
  async (config, clientVersion) => {
    const stream = uniqueName('k35rows');
    const app = uniqueName('k35app');
    await createStream(kinesis, stream, 2);
    await createKcl3LeaseTable(dynamo, app);
    await tableActive(dynamo, app);
    await putRecords(kinesis, stream, records('rows', 10));
    const java = new Kcl35Consumer({ stream, applicationName: app, workerId: 'java-1', clientVersionConfig: config, settings: KCL35_FAST });
    consumers.push(java);
    const startedAt = Date.now();
    await java.start();
    await java.waitFor(() => java.records().length >= 10, 'its 10 records', 240_000);
    const threeX = config === 'CLIENT_VERSION_CONFIG_3X';
    let rows: Row[] = [];
    await waitFor(async () => {
      rows = await scanRaw(dynamo, app);
      const renewed = rows.filter((row) => row.entityType?.S === 'LEASE' && row.throughputKBps !== undefined).length === 2;
      return renewed && byKey(rows, 'java-1') !== undefined && (!threeX || byKey(rows, 'Leader') !== undefined);
    }, 'the worker metrics row, both leases renewed with their throughput (and, in 3.x, the leader lock)');

    const migration = byKey(rows, 'Migration3.0')!;
    expect(shape(migration)).toEqual({ leaseKey: 'S', entityType: 'S', cv: 'S', mb: 'S', mts: 'N', h: 'L' });
    expect(migration.entityType.S).toBe('CLIENT_VERSION_MIGRATION');
    expect(migration.cv.S).toBe(clientVersion);
    expect(migration.mb.S).toBe('java-1');
    expect(Number(migration.mts.N)).toBeGreaterThanOrEqual(startedAt - 60_000);
    expect(migration.h.L!.map((entry) => shape(entry.M!))).toEqual([{ cv: 'S', mb: 'S', mts: 'N' }]);
    expect(migration.h.L![0].M!.cv.S).toBe('CLIENT_VERSION_INIT');

    const metrics = byKey(rows, 'java-1')!;
    expect(shape(metrics)).toEqual({ leaseKey: 'S', entityType: 'S', lut: 'N', sts: 'M', opr: 'M', sup: 'N', slu: 'N' });
    expect(metrics.entityType.S).toBe('WORKER_METRIC_STATS');
    // The support code: the highest "breaking" feature the worker knows (1 = SINGLE_TABLE_MIGRATION), heartbeated at slu.
    expect(metrics.sup.N).toBe('1');
    expect(Math.abs(Number(metrics.lut.N) - Date.now() / 1000)).toBeLessThan(600);
    expect(Math.abs(Number(metrics.slu.N) - Date.now() / 1000)).toBeLessThan(600);

    const leader = byKey(rows, 'Leader');
    if (threeX) {
      expect(shape(leader!)).toEqual({ leaseKey: 'S', entityType: 'S', ownerName: 'S', recordVersionNumber: 'S', leaseDuration: 'S' });
      expect(leader!.entityType.S).toBe('LEADER');
      expect(leader!.ownerName.S).toBe('java-1');
      expect(leader!.leaseDuration.S).toBe('120000');
    } else {
      // The 2.x rules elect no lock leader.
      expect(leader).toBeUndefined();
    }

    const leases = rows.filter((row) => row.leaseKey.S!.startsWith('shardId-'));
    expect(leases).toHaveLength(2);
    for (const lease of leases) {
      expect(lease.entityType.S).toBe('LEASE');
      expect(lease.leaseOwner.S).toBe('java-1');
      expect(lease.throughputKBps?.N).toBeDefined();
    }
    expect(rows).toHaveLength(leases.length + (threeX ? 3 : 2));
    expect(await tableExists(dynamo, `${app}-CoordinatorState`)).toBe(false);
    expect(await tableExists(dynamo, `${app}-WorkerMetricStats`)).toBe(false);

    // A graceful stop deletes the lock; the worker metrics row and the lease owners stay (Java 3.5.1 releases nothing).
    expect((await java.stop()).signal).toBeNull();
    const after = await scanRaw(dynamo, app);
    expect(byKey(after, 'Leader')).toBeUndefined();
    expect(byKey(after, 'java-1')?.entityType.S).toBe('WORKER_METRIC_STATS');
    expect(after.filter((row) => row.entityType?.S === 'LEASE').map((row) => row.leaseOwner?.S)).toEqual(['java-1', 'java-1']);
  },
  300_000,
);
