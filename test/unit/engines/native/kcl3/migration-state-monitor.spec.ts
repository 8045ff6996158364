import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Kcl3Mode } from '../../../../../lib/leases/kcl3-application';
import { MigrationStateMonitor } from '../../../../../lib/engines/native/kcl3/migration-state-monitor';

function monitorWith(answers: unknown[], initial: Kcl3Mode = { kind: 'none' }) {
  const changes: [string, string][] = [];
  const warn = jest.fn();
  const client = {
    // eslint-disable-next-line @typescript-eslint/require-await -- a stubbed DynamoDB send
    send: async () => {
      const answer = answers.shift();
      if (answer instanceof Error) throw answer;
      return { Item: answer };
    },
  } as unknown as DynamoDBClient;
  const monitor = new MigrationStateMonitor(
    client,
    'orders',
    'orders-CoordinatorState',
    60_000,
    { log: jest.fn(), warn, error: jest.fn() },
    initial,
    (mode, previous) => {
      changes.push([previous.kind === 'none' ? 'none' : previous.clientVersion, mode.kind === 'none' ? 'none' : mode.clientVersion]);
    },
  );
  return { monitor, changes, warn };
}

const state = (cv: string) => ({ key: { S: 'Migration3.0' }, cv: { S: cv } });

describe('MigrationStateMonitor', () => {
  it('calls back only when the lease rules change: a flip to 3.x and a rollback, not 2X -> UPGRADE_FROM_2X nor 3X_WITH_ROLLBACK -> 3X', async () => {
    const { monitor, changes } = monitorWith([
      state('CLIENT_VERSION_UPGRADE_FROM_2X'),
      state('CLIENT_VERSION_3X_WITH_ROLLBACK'),
      state('CLIENT_VERSION_3X'),
      state('CLIENT_VERSION_2X'),
    ]);
    for (let i = 0; i < 4; i++) await monitor.poll();
    expect(changes).toEqual([
      ['CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_3X_WITH_ROLLBACK'],
      ['CLIENT_VERSION_3X', 'CLIENT_VERSION_2X'],
    ]);
    expect(monitor.mode).toMatchObject({ clientVersion: 'CLIENT_VERSION_2X' });
  });

  it('a failed read keeps the current rules and warns (once per ten failures)', async () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException' });
    const { monitor, changes, warn } = monitorWith([throttled, throttled], {
      kind: '3.x',
      clientVersion: 'CLIENT_VERSION_3X',
      table: 'orders-CoordinatorState',
    });
    await monitor.poll();
    await monitor.poll();
    expect(changes).toEqual([]);
    expect(monitor.mode.kind).toBe('3.x');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(
      /Could not read the migration state in orders-CoordinatorState .*ThrottlingException.*keeping the current lease rules/,
    );
  });
});
