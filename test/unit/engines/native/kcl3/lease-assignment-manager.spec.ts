import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LeaderElection } from '../../../../../lib/engines/native/kcl3/leader-election';
import { LeaseAssignmentManager } from '../../../../../lib/engines/native/kcl3/lease-assignment-manager';

/**
 * The leader's pass against an in-memory lease table and metrics table: two leases of a dead worker
 * (java-1, counters that never move) and one live worker (native-1). The write of one lease fails with
 * an error that is not a condition failure (a throttle, a cut-off request).
 */
function tables(failingKey: string | undefined) {
  const state = { failingKey };
  const leases = new Map([
    ['shardId-000000000000', { owner: 'java-1', counter: 7 }],
    ['shardId-000000000001', { owner: 'java-1', counter: 9 }],
  ]);
  const client = {
    // eslint-disable-next-line @typescript-eslint/require-await -- a stubbed DynamoDB send
    send: async (command: { constructor: { name: string }; input: any }) => {
      const { input } = command;
      switch (command.constructor.name) {
        case 'ScanCommand':
          if (input.TableName === 'leases')
            return {
              Items: [...leases].map(([key, row]) => ({
                leaseKey: { S: key },
                leaseOwner: { S: row.owner },
                leaseCounter: { N: String(row.counter) },
                checkpoint: { S: 'TRIM_HORIZON' },
              })),
            };
          return { Items: [{ wid: { S: 'native-1' }, lut: { N: String(Math.floor(Date.now() / 1000)) }, sts: { M: {} }, opr: { M: {} } }] };
        case 'UpdateItemCommand': {
          const key = input.Key.leaseKey.S as string;
          if (key === state.failingKey)
            throw Object.assign(new Error('Rate of requests exceeds the allowed throughput'), { name: 'ThrottlingException' });
          const row = leases.get(key)!;
          if (row.owner !== input.ExpressionAttributeValues[':owner']?.S)
            throw Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' });
          leases.set(key, { owner: input.ExpressionAttributeValues[':new'].S, counter: row.counter + 1 });
          return {};
        }
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  } as unknown as DynamoDBClient;
  return { leases, client, state };
}

function leader(client: DynamoDBClient, clock: () => number) {
  const lines: string[] = [];
  const logger = {
    log: (m: string) => lines.push(`log ${m}`),
    warn: (m: string) => lines.push(`warn ${m}`),
    error: (m: string) => lines.push(`error ${m}`),
  };
  const election = { isLeader: true, standDown: () => Promise.resolve() } as unknown as LeaderElection;
  const manager = new LeaseAssignmentManager(
    client,
    election,
    {
      workerId: 'native-1',
      tableName: 'leases',
      workerMetricsTableName: 'metrics',
      leaseAssignmentIntervalMs: 1000,
      failoverTimeMs: 3000,
      workerMetricsReporterFreqMs: 60_000,
      staleWorkerMetricsCleanupMs: 86_400_000,
      gracefulLeaseHandoffTimeoutMs: 10_000,
      maxLeasesForWorker: 100,
    },
    logger,
    clock,
  );
  return { manager, lines };
}

describe('LeaseAssignmentManager: a pass whose writes partly fail', () => {
  it('logs the assignment it made when another write of the same pass failed, names the failed write, and counts the pass as failed', async () => {
    const { leases, client } = tables('shardId-000000000001');
    let now = 0;
    const { manager, lines } = leader(client, () => now);
    // A new leader's first look counts each owned lease as renewed now: nothing expires yet.
    await manager.runPass();
    expect(lines).toEqual([]);
    now += 3001;
    await manager.runPass();

    expect(leases.get('shardId-000000000000')).toEqual({ owner: 'native-1', counter: 8 });
    expect(leases.get('shardId-000000000001')).toEqual({ owner: 'java-1', counter: 9 });
    expect(lines).toEqual([
      'log KCL 3.x leader: shardId-000000000000 assigned to native-1 (expired, was java-1).',
      'warn KCL 3.x leader: write(s) of this pass failed: shardId-000000000001 to native-1 (expired, was java-1): ThrottlingException: Rate of requests exceeds the allowed throughput.',
      'warn KCL 3.x leader: the lease assignment pass failed (ThrottlingException: Rate of requests exceeds the allowed throughput); 1 failed pass(es) in a row.',
    ]);
  });

  it('assigns and logs the lease left over once its write goes through on the next pass', async () => {
    const { leases, client, state } = tables('shardId-000000000001');
    let now = 0;
    const { manager, lines } = leader(client, () => now);
    await manager.runPass();
    now += 3001;
    await manager.runPass();
    // The throttle is over: the next pass reads the rows again and assigns what is still java-1's.
    state.failingKey = undefined;
    now += 1000;
    await manager.runPass();

    expect([...leases.values()].map((row) => row.owner)).toEqual(['native-1', 'native-1']);
    expect(lines.at(-1)).toBe('log KCL 3.x leader: shardId-000000000001 assigned to native-1 (expired, was java-1).');
  });
});
