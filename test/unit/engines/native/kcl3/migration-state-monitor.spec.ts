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
  it('calls back at every client version change, also when the lease rules stay (none -> UPGRADE_FROM_2X, 3X_WITH_ROLLBACK -> 3X)', async () => {
    const { monitor, changes } = monitorWith([
      state('CLIENT_VERSION_UPGRADE_FROM_2X'),
      state('CLIENT_VERSION_UPGRADE_FROM_2X'),
      state('CLIENT_VERSION_3X_WITH_ROLLBACK'),
      state('CLIENT_VERSION_3X'),
      state('CLIENT_VERSION_2X'),
      undefined,
    ]);
    for (let i = 0; i < 6; i++) await monitor.poll();
    expect(changes).toEqual([
      ['none', 'CLIENT_VERSION_UPGRADE_FROM_2X'],
      ['CLIENT_VERSION_UPGRADE_FROM_2X', 'CLIENT_VERSION_3X_WITH_ROLLBACK'],
      ['CLIENT_VERSION_3X_WITH_ROLLBACK', 'CLIENT_VERSION_3X'],
      ['CLIENT_VERSION_3X', 'CLIENT_VERSION_2X'],
      ['CLIENT_VERSION_2X', 'none'],
    ]);
    expect(monitor.mode).toEqual({ kind: 'none' });
  });

  it('a worker that started with no migration state is told when the fleet writes UPGRADE_FROM_2X (so it starts publishing worker metrics)', async () => {
    const { monitor, changes } = monitorWith([undefined, state('CLIENT_VERSION_UPGRADE_FROM_2X')]);
    await monitor.poll();
    expect(changes).toEqual([]);
    await monitor.poll();
    expect(changes).toEqual([['none', 'CLIENT_VERSION_UPGRADE_FROM_2X']]);
    expect(monitor.mode).toMatchObject({ kind: 'compatible', clientVersion: 'CLIENT_VERSION_UPGRADE_FROM_2X' });
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
