import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LeaderElection } from '../../../../../lib/engines/native/kcl3/leader-election';

type Item = { ownerName: string; recordVersionNumber: string; leaseDuration: string };
const conditionFailed = () => Object.assign(new Error('ConditionalCheckFailedException'), { name: 'ConditionalCheckFailedException' });

/** The Leader item in memory, with the lock client's conditions; `loseNextAnswer` applies a write and then fails its answer (a request cut off after DynamoDB applied it). */
function lockTable() {
  const state: { item: Item | undefined; loseNextAnswer: boolean } = { item: undefined, loseNextAnswer: false };
  const client = {
    // eslint-disable-next-line @typescript-eslint/require-await -- a stubbed DynamoDB send
    send: async (command: { constructor: { name: string }; input: any }) => {
      const { input } = command;
      const values = input.ExpressionAttributeValues ?? {};
      const answer = <T>(result: T): T => {
        if (state.loseNextAnswer) {
          state.loseNextAnswer = false;
          throw Object.assign(new Error('aborted'), { name: 'AbortError' });
        }
        return result;
      };
      switch (command.constructor.name) {
        case 'GetItemCommand':
          return {
            Item: state.item && {
              ownerName: { S: state.item.ownerName },
              recordVersionNumber: { S: state.item.recordVersionNumber },
              leaseDuration: { S: state.item.leaseDuration },
            },
          };
        case 'PutItemCommand': {
          const ok = values[':rvn'] ? state.item?.recordVersionNumber === values[':rvn'].S : !state.item;
          if (!ok) throw conditionFailed();
          state.item = {
            ownerName: input.Item.ownerName.S,
            recordVersionNumber: input.Item.recordVersionNumber.S,
            leaseDuration: input.Item.leaseDuration.S,
          };
          return answer({});
        }
        case 'UpdateItemCommand': {
          if (!state.item || state.item.recordVersionNumber !== values[':rvn'].S || state.item.ownerName !== values[':on'].S)
            throw conditionFailed();
          state.item = { ...state.item, recordVersionNumber: values[':newRvn'].S, leaseDuration: values[':ld'].S };
          return answer({});
        }
        case 'DeleteItemCommand': {
          if (!state.item || state.item.recordVersionNumber !== values[':rvn'].S || state.item.ownerName !== values[':on'].S)
            throw conditionFailed();
          state.item = undefined;
          return answer({});
        }
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  } as unknown as DynamoDBClient;
  return { state, client };
}

function election(client: DynamoDBClient, workerId: string, clock: () => number) {
  const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
  const leader = new LeaderElection(
    client,
    { workerId, eligible: true, leaseDurationMs: 4000, coordinatorStateTableName: 'app-CoordinatorState' },
    logger,
    clock,
  );
  return { leader, logger };
}

describe('LeaderElection', () => {
  it("takes an absent lock, heartbeats it, releases it at stop; another worker takes a dead holder's lock only after its lease duration", async () => {
    const { state, client } = lockTable();
    let now = 0;
    const a = election(client, 'a', () => now);
    const b = election(client, 'b', () => now);
    await a.leader.tick();
    expect(a.leader.isLeader).toBe(true);
    expect(state.item?.ownerName).toBe('a');
    await b.leader.tick();
    expect(b.leader.isLeader).toBe(false);
    expect(b.leader.state).toEqual({ kind: 'live', leader: 'a' });
    // a dies: its version stops changing; b takes it once it has seen the same version for 4000 ms.
    now = 3999;
    await b.leader.tick();
    expect(b.leader.isLeader).toBe(false);
    expect(a.leader.isLeader).toBe(false); // a's own write is too old for it to act as leader
    now = 4000;
    await b.leader.tick();
    expect(b.leader.isLeader).toBe(true);
    expect(state.item?.ownerName).toBe('b');
    await b.leader.stop();
    expect(state.item).toBeUndefined();
  });

  it("a heartbeat applied but answered too late is not a lost lock: the holder takes its own lock back without the 'another worker' warning", async () => {
    const { state, client } = lockTable();
    let now = 0;
    const { leader, logger } = election(client, 'a', () => now);
    await leader.tick();
    state.loseNextAnswer = true;
    now = 1000;
    await leader.tick(); // the heartbeat is applied, its answer lost: the election still has the old version
    now = 2000;
    await leader.tick(); // refused on the old version; the lock still names a
    expect(leader.isLeader).toBe(true);
    expect(state.item?.ownerName).toBe('a');
    expect(logger.warn.mock.calls.map((c) => c[0]).filter((m: string) => m.includes('another worker wrote it'))).toEqual([]);
    expect(logger.log).toHaveBeenLastCalledWith(expect.stringContaining('the answer to its last heartbeat was lost'));
  });
});
