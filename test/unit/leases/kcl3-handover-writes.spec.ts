import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Lease } from '../../../lib/leases/lease';
import { clearCheckpointOwner, renewKcl3Lease, takeOverFromCheckpointOwner } from '../../../lib/leases/kcl3-tables';

/**
 * The conditions and the abort signal of the two writes that end a KCL 3.x hand-over, on a faked client
 * (the e2e behaviour on dynalite is in test/e2e/kcl3-handover-clear.e2e-spec.ts).
 */
interface Sent {
  readonly input: { ConditionExpression: string; UpdateExpression: string; ExpressionAttributeValues: Record<string, unknown> };
  readonly abortSignal?: AbortSignal;
}

/** A client whose every call hangs until its abort signal fires (a blackholed connection), recording what was sent. */
function hangingClient() {
  const sent: Sent[] = [];
  const client = {
    send: (command: { input: Sent['input'] }, options: { abortSignal?: AbortSignal } = {}) => {
      sent.push({ input: command.input, abortSignal: options.abortSignal });
      return new Promise((_resolve, reject) =>
        options.abortSignal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))),
      );
    },
  } as unknown as DynamoDBClient;
  return { client, sent };
}

/** A client that refuses every write on its condition. */
function refusingClient() {
  const sent: Sent[] = [];
  const client = {
    send: (command: { input: Sent['input'] }, options: { abortSignal?: AbortSignal } = {}) => {
      sent.push({ input: command.input, abortSignal: options.abortSignal });
      return Promise.reject(Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' }));
    },
  } as unknown as DynamoDBClient;
  return { client, sent };
}

const handover: Lease = { leaseKey: 'shardId-0', leaseOwner: 'native-2', leaseCounter: 7 } as Lease;

describe('clearCheckpointOwner', () => {
  it('pins the hand-over it ends: the counter, the new owner and checkpointOwner as read', async () => {
    const { client, sent } = refusingClient();
    expect(await clearCheckpointOwner(client, 'app', handover, 'native-1')).toBe(false);
    expect(sent[0].input.ConditionExpression).toBe('leaseCounter = :counter AND leaseOwner = :newOwner AND checkpointOwner = :me');
    expect(sent[0].input.ExpressionAttributeValues).toEqual({
      ':counter': { N: '7' },
      ':next': { N: '8' },
      ':newOwner': { S: 'native-2' },
      ':me': { S: 'native-1' },
    });
    expect(sent[0].input.UpdateExpression).toBe('REMOVE checkpointOwner SET leaseCounter = :next');
  });

  it('writes nothing for a lease with no new owner (no hand-over to end)', async () => {
    const { client, sent } = refusingClient();
    expect(await clearCheckpointOwner(client, 'app', { ...handover, leaseOwner: undefined }, 'native-1')).toBe(false);
    expect(sent).toHaveLength(0);
  });

  it('a hung call ends at its abort signal with the abort error', async () => {
    const { client, sent } = hangingClient();
    const signal = AbortSignal.timeout(20);
    await expect(clearCheckpointOwner(client, 'app', handover, 'native-1', signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(sent[0].abortSignal).toBe(signal);
  });
});

describe('takeOverFromCheckpointOwner', () => {
  it('pins the row as read (counter, owner = us, that checkpoint owner) and ends a hung call at its abort signal', async () => {
    const { client, sent } = hangingClient();
    const signal = AbortSignal.timeout(20);
    const lease = { ...handover, leaseOwner: 'native-2' };
    await expect(takeOverFromCheckpointOwner(client, 'app', lease, 'native-2', 'native-1', signal)).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(sent[0].abortSignal).toBe(signal);
    expect(sent[0].input.ConditionExpression).toBe('leaseCounter = :counter AND leaseOwner = :me AND checkpointOwner = :previous');
    expect(sent[0].input.ExpressionAttributeValues).toMatchObject({
      ':counter': { N: '7' },
      ':me': { S: 'native-2' },
      ':previous': { S: 'native-1' },
    });
  });
});

describe('renewKcl3Lease', () => {
  it('writes throughputKBps under the 3.x rules, and leaves it out for a lease renewed under the 2.x rules (the row stays 2.x)', async () => {
    const { client, sent } = refusingClient();
    const lease = { ...handover, leaseOwner: 'native-1' };
    await renewKcl3Lease(client, 'app', lease, { workerId: 'native-1', handingOver: false }, 1.5);
    await renewKcl3Lease(client, 'app', lease, { workerId: 'native-1', handingOver: false }, undefined);
    expect(sent.map((s) => s.input.UpdateExpression)).toEqual([
      'SET leaseCounter = :next, throughputKBps = :kbps',
      'SET leaseCounter = :next',
    ]);
    expect(sent[1].input.ExpressionAttributeValues).not.toHaveProperty(':kbps');
    expect(sent[1].input.ConditionExpression).toBe('leaseCounter = :counter AND leaseOwner = :me');
  });
});
