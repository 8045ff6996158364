import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { otherEntityType } from '../../../lib/leases/entity-rows';
import { LeaseTable } from '../../../lib/leases/lease-table';

/** The rows of a KCL 3.5 single-table application, as the 3.5.1 worker writes them (test/e2e/kcl35-rows.e2e-spec.ts). */
const lease = (shard: number, entityType?: string): Record<string, AttributeValue> => ({
  leaseKey: { S: `shardId-00000000000${shard}` },
  leaseCounter: { N: '4' },
  leaseOwner: { S: 'java-1' },
  checkpoint: { S: 'TRIM_HORIZON' },
  ...(entityType ? { entityType: { S: entityType } } : {}),
});
const entities: Record<string, AttributeValue>[] = [
  { leaseKey: { S: 'Migration3.0' }, entityType: { S: 'CLIENT_VERSION_MIGRATION' }, cv: { S: 'CLIENT_VERSION_3X' }, mb: { S: 'java-1' } },
  {
    leaseKey: { S: 'Leader' },
    entityType: { S: 'LEADER' },
    ownerName: { S: 'java-1' },
    recordVersionNumber: { S: 'v' },
    leaseDuration: { S: '120000' },
  },
  { leaseKey: { S: 'java-1' }, entityType: { S: 'WORKER_METRIC_STATS' }, lut: { N: '1' }, sts: { M: {} }, opr: { M: {} }, sup: { N: '1' } },
  { leaseKey: { S: 'TableMigration3.5' }, entityType: { S: 'TABLE_MIGRATION' }, tm: { S: 'TABLE_MIGRATION_STATUS_INIT' } },
  { leaseKey: { S: 'acct:s:1' }, entityType: { S: 'STREAM' }, streamId: { S: 'id' } },
];

describe('KCL 3.5 entity rows in the lease table', () => {
  it('a row with an entityType other than LEASE is another entity; a row without one, or with LEASE, is a lease', () => {
    expect(entities.map(otherEntityType)).toEqual([
      'CLIENT_VERSION_MIGRATION',
      'LEADER',
      'WORKER_METRIC_STATS',
      'TABLE_MIGRATION',
      'STREAM',
    ]);
    expect(otherEntityType(lease(0))).toBeUndefined();
    expect(otherEntityType(lease(0, 'LEASE'))).toBeUndefined();
    // Not a string: not a KCL entity, so left to the corrupt-row checks (which report it).
    expect(otherEntityType({ ...lease(0), entityType: { N: '1' } })).toBeUndefined();
  });

  it('listLeases (the taker, renewer, shard sync, CLI leases and reset) returns the leases of both layouts, skips the entity rows silently and still reports a corrupt row', async () => {
    const items = [
      lease(0, 'LEASE'),
      ...entities,
      lease(1),
      { leaseKey: { S: 'shardId-000000000002' } },
      { ...lease(3), entityType: { N: '1' } },
    ];
    // Two pages, as a real Scan would return them.
    const pages = [items.slice(0, 4), items.slice(4)];
    const sent: ScanCommand[] = [];
    const client = {
      send: (command: ScanCommand) => {
        sent.push(command);
        const page = pages[sent.length - 1];
        return Promise.resolve({ Items: page, LastEvaluatedKey: sent.length < pages.length ? { leaseKey: { S: 'x' } } : undefined });
      },
    } as unknown as DynamoDBClient;
    const warnings: string[] = [];
    const table = new LeaseTable(client, 'app', { log() {}, warn: (m) => void warnings.push(m), error() {} });

    const leases = await table.listLeases();

    expect(leases.map((l) => l.leaseKey)).toEqual(['shardId-000000000000', 'shardId-000000000001']);
    expect(sent).toHaveLength(2);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/row shardId-000000000002 skipped, leaseCounter is missing/);
    expect(warnings[1]).toMatch(/row shardId-000000000003 skipped, entityType \{"N":"1"\} is not a lease/);
    expect(warnings.join('\n')).not.toMatch(/Leader|Migration3\.0|java-1|TableMigration|acct:s:1/);
  });
});
