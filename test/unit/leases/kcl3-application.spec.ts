import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readKcl3Mode, readKcl3ModeAtStart } from '../../../lib/leases/kcl3-application';
import { Kcl3StateLocations, LeaseTableEntities } from '../../../lib/leases/kcl3-layout';
import { readLeaderLockItem } from '../../../lib/leases/kcl3-leader-lock';

/** A client whose GetItem answers with `answer` (an item, or an error to throw); records the requests. */
function fakeClient(answer: unknown) {
  const requests: unknown[] = [];
  const client = {
    // eslint-disable-next-line @typescript-eslint/require-await -- a stubbed DynamoDB send
    send: async (command: { input: unknown }) => {
      requests.push(command.input);
      if (answer instanceof Error) throw answer;
      return { Item: answer };
    },
  } as unknown as DynamoDBClient;
  return { client, requests };
}

const awsError = (name: string) => Object.assign(new Error(name), { name });
const silent = { log: () => undefined, warn: jest.fn(), error: () => undefined };

describe('reading the KCL 3.x migration state', () => {
  it('reads Migration3.0 of <app>-CoordinatorState, consistently', async () => {
    const { client, requests } = fakeClient({ key: { S: 'Migration3.0' }, cv: { S: 'CLIENT_VERSION_UPGRADE_FROM_2X' }, mb: { S: 'w1' } });
    expect(await readKcl3Mode(client, 'orders')).toEqual({
      kind: 'compatible',
      clientVersion: 'CLIENT_VERSION_UPGRADE_FROM_2X',
      modifiedBy: 'w1',
      table: 'orders-CoordinatorState',
    });
    expect(requests).toEqual([{ TableName: 'orders-CoordinatorState', Key: { key: { S: 'Migration3.0' } }, ConsistentRead: true }]);
  });

  it.each([
    ['no coordinator state table', awsError('ResourceNotFoundException')],
    ['no Migration3.0 item', undefined],
    ['an item without cv', { key: { S: 'Migration3.0' } }],
  ])('%s: no 3.x fleet', async (_, answer) => {
    expect(await readKcl3Mode(fakeClient(answer).client, 'orders')).toEqual({ kind: 'none' });
  });

  it('a table-name override is read instead of the default', async () => {
    const { client, requests } = fakeClient({ cv: { S: 'CLIENT_VERSION_3X' } });
    expect(await readKcl3Mode(client, 'orders', 'fleet-coordination')).toMatchObject({ kind: '3.x', table: 'fleet-coordination' });
    expect(requests).toEqual([expect.objectContaining({ TableName: 'fleet-coordination' })]);
  });

  it.each([
    ['CLIENT_VERSION_2X', 'compatible'],
    ['CLIENT_VERSION_UPGRADE_FROM_2X', 'compatible'],
    ['CLIENT_VERSION_3X_WITH_ROLLBACK', '3.x'],
    ['CLIENT_VERSION_3X', '3.x'],
  ])('%s is read as %s', async (cv, kind) => {
    expect(await readKcl3ModeAtStart(fakeClient({ cv: { S: cv } }).client, 'orders', 'orders-CoordinatorState', silent)).toMatchObject({
      kind,
      clientVersion: cv,
    });
  });

  it('an unreadable state (permissions): the worker starts by the 2.x rules, with a warning naming the table, the permission and the option', async () => {
    const warn = jest.fn();
    expect(
      await readKcl3ModeAtStart(fakeClient(awsError('AccessDeniedException')).client, 'orders', 'orders-CoordinatorState', {
        ...silent,
        warn,
      }),
    ).toEqual({ kind: 'none' });
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/Could not read orders-CoordinatorState .*AccessDeniedException.*dynamodb:GetItem.*coordinatorStateTableName/),
    );
  });

  it('the Leader lock item as the lock client writes it', async () => {
    const { client } = fakeClient({
      key: { S: 'Leader' },
      ownerName: { S: 'java-1' },
      recordVersionNumber: { S: 'v1' },
      leaseDuration: { S: '120000' },
    });
    expect(await readLeaderLockItem(client, 'orders-CoordinatorState')).toEqual({
      ownerName: 'java-1',
      recordVersionNumber: 'v1',
      leaseDurationMs: 120000,
      released: false,
    });
    expect(
      await readLeaderLockItem(
        fakeClient({
          key: { S: 'Leader' },
          ownerName: { S: 'java-1' },
          recordVersionNumber: { S: 'v2' },
          leaseDuration: { S: '120000' },
          isReleased: { S: '1' },
        }).client,
        'orders-CoordinatorState',
      ),
    ).toMatchObject({ released: true });
    expect(await readLeaderLockItem(fakeClient(undefined).client, 'orders-CoordinatorState')).toBeUndefined();
  });
});

describe('a KCL 3.5 single-table application', () => {
  it('Migration3.0 as an entity row of the lease table: the mode, with the lease table rows as where the state lives, read consistently by leaseKey', async () => {
    const { client, requests } = fakeClient({
      leaseKey: { S: 'Migration3.0' },
      entityType: { S: 'CLIENT_VERSION_MIGRATION' },
      cv: { S: 'CLIENT_VERSION_3X' },
      mb: { S: 'java-1' },
    });
    const mode = await readKcl3Mode(client, 'orders', new LeaseTableEntities('orders'));
    expect(mode).toEqual({
      kind: '3.x',
      clientVersion: 'CLIENT_VERSION_3X',
      modifiedBy: 'java-1',
      table: new LeaseTableEntities('orders'),
    });
    expect(requests).toEqual([{ TableName: 'orders', Key: { leaseKey: { S: 'Migration3.0' } }, ConsistentRead: true }]);
  });

  it.each([
    ['no lease table yet', awsError('ResourceNotFoundException')],
    ['no such row', undefined],
    [
      'a row without entityType (never a 3.5 entity: kept as a lease row)',
      { leaseKey: { S: 'Migration3.0' }, leaseCounter: { N: '1' }, cv: { S: 'x' } },
    ],
  ])('%s: no single-table state', async (_, answer) => {
    expect(await readKcl3Mode(fakeClient(answer).client, 'orders', new LeaseTableEntities('orders'))).toEqual({ kind: 'none' });
  });

  it('both places (the monitor): the lease table row first; without one, the coordinator state table', async () => {
    const requests: { TableName: string }[] = [];
    const client = {
      send: (command: { input: { TableName: string } }) => {
        requests.push(command.input);
        return Promise.resolve({
          Item: command.input.TableName === 'orders' ? undefined : { key: { S: 'Migration3.0' }, cv: { S: 'CLIENT_VERSION_2X' } },
        });
      },
    } as unknown as DynamoDBClient;
    const mode = await readKcl3Mode(client, 'orders', new Kcl3StateLocations('orders', 'orders-CoordinatorState'));
    expect(mode).toMatchObject({ kind: 'compatible', clientVersion: 'CLIENT_VERSION_2X', table: 'orders-CoordinatorState' });
    expect(requests.map((r) => r.TableName)).toEqual(['orders', 'orders-CoordinatorState']);
  });

  it('other errors (permissions) are not swallowed', async () => {
    await expect(
      readKcl3Mode(fakeClient(awsError('AccessDeniedException')).client, 'orders', new LeaseTableEntities('orders')),
    ).rejects.toThrow('AccessDeniedException');
  });
});
