import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LeaderWatch } from '../../../../../lib/engines/native/kcl3/leader-watch';

function watchWith(answers: () => unknown) {
  let now = 0;
  const warn = jest.fn();
  const log = jest.fn();
  const client = {
    send: async () => {
      const answer = answers();
      if (answer instanceof Error) throw answer;
      return { Item: answer };
    },
  } as unknown as DynamoDBClient;
  const watch = new LeaderWatch(client, 'app-CoordinatorState', { log, warn, error: jest.fn() }, () => now);
  return { watch, warn, log, advance: (ms: number) => (now += ms) };
}

const lock = (version: string) => ({ key: { S: 'Leader' }, ownerName: { S: 'java-1' }, recordVersionNumber: { S: version }, leaseDuration: { S: '120000' } });

describe('LeaderWatch (the lock client rule: a lock whose recordVersionNumber stays unchanged for leaseDuration is dead)', () => {
  it('a heartbeating leader is live', async () => {
    let version = 0;
    const { watch, advance, warn } = watchWith(() => lock(`v${version}`));
    expect(await watch.check()).toEqual({ kind: 'live', leader: 'java-1' });
    for (let i = 0; i < 10; i++) {
      advance(30_000);
      version++;
      expect(await watch.check()).toEqual({ kind: 'live', leader: 'java-1' });
    }
    expect(warn).not.toHaveBeenCalled();
  });

  it('a lock without heartbeat for leaseDuration: no leader, one clear warning naming the fix; live again when it moves', async () => {
    let version = 'v1';
    const { watch, advance, warn, log } = watchWith(() => lock(version));
    await watch.check();
    advance(119_000);
    expect((await watch.check()).kind).toBe('live');
    advance(1_000);
    expect(await watch.check()).toMatchObject({ kind: 'none', reason: expect.stringContaining('java-1 has had no heartbeat for 120 s') });
    advance(5_000);
    await watch.check();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/No KCL 3.x leader: .*needs at least one live Java KCL 3.x worker.*CLIENT_VERSION_2X/);
    version = 'v2';
    expect((await watch.check()).kind).toBe('live');
    expect(log).toHaveBeenCalledWith(expect.stringContaining('leader java-1 is live again'));
  });

  it('no Leader item for leaseDuration: no leader; a failed read keeps the judgement', async () => {
    let answer: unknown = undefined;
    const { watch, advance, warn } = watchWith(() => answer);
    expect((await watch.check()).kind).toBe('unknown');
    advance(120_000);
    expect(await watch.check()).toMatchObject({ kind: 'none', reason: expect.stringContaining('no worker has held the Leader lock') });
    answer = Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
    expect((await watch.check()).kind).toBe('none');
    expect(warn).toHaveBeenCalledTimes(1);
  });
});
