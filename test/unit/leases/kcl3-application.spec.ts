import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisWorkerConfigError } from '../../../lib/core/errors';
import { readKcl3Mode, refuseKcl3ModeApplication } from '../../../lib/leases/kcl3-application';

/** A client whose GetItem answers with `answer` (an item, or an error to throw); records the requests. */
function fakeClient(answer: unknown) {
  const requests: unknown[] = [];
  const client = {
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
    expect(await readKcl3Mode(client, 'orders')).toEqual({ kind: 'compatible', clientVersion: 'CLIENT_VERSION_UPGRADE_FROM_2X', modifiedBy: 'w1', table: 'orders-CoordinatorState' });
    expect(requests).toEqual([{ TableName: 'orders-CoordinatorState', Key: { key: { S: 'Migration3.0' } }, ConsistentRead: true }]);
  });

  it.each([
    ['no coordinator state table', awsError('ResourceNotFoundException')],
    ['no Migration3.0 item', undefined],
    ['an item without cv', { key: { S: 'Migration3.0' } }],
  ])('%s: no 3.x fleet', async (_, answer) => {
    expect(await readKcl3Mode(fakeClient(answer).client, 'orders')).toEqual({ kind: 'none' });
  });

  it.each(['CLIENT_VERSION_2X', 'CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_INIT'])('%s lets the native worker start', async (cv) => {
    await expect(refuseKcl3ModeApplication(fakeClient({ cv: { S: cv } }).client, 'orders', silent)).resolves.toBeUndefined();
  });

  it('an unreadable state (permissions): the worker starts, with a warning naming the table and the permission', async () => {
    const warn = jest.fn();
    await refuseKcl3ModeApplication(fakeClient(awsError('AccessDeniedException')).client, 'orders', { ...silent, warn });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/Could not read orders-CoordinatorState .*AccessDeniedException.*Allow GetItem/));
  });

  it('CLIENT_VERSION_3X: a config error on engine', async () => {
    const error = await refuseKcl3ModeApplication(fakeClient({ cv: { S: 'CLIENT_VERSION_3X' } }).client, 'orders', silent).catch((e) => e);
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect(error.option).toBe('engine');
  });
});
