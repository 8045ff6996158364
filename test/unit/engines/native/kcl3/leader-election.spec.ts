import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LeaderElection } from '../../../../../lib/engines/native/kcl3/leader-election';

const TABLE = 'app-CoordinatorState';
type Item = Record<string, AttributeValue>;
type Sent = { op: string; input: Record<string, any> };

const awsError = (name: string) => Object.assign(new Error(name), { name });

/**
 * A one-item CoordinatorState table that evaluates the lock client's conditions as DynamoDB would
 * (attribute_not_exists(key); attribute_exists(key) AND rvn = :rvn [AND ownerName = :on]). `fault`
 * may throw for an operation, to play throttling or an unreachable endpoint.
 */
class FakeCoordinatorState {
  item: Item | undefined;
  readonly sent: Sent[] = [];
  fault: ((op: string) => Error | undefined) | undefined;
  /** Awaited before the operation is applied: a slow or in-flight request. */
  delay: ((op: string) => Promise<void> | undefined) | undefined;
  /** Awaited after the operation is applied, before the answer: a write that landed but whose answer is late. */
  answerDelay: ((op: string) => Promise<void> | undefined) | undefined;

  readonly client = {
    send: async (command: { constructor: { name: string }; input: Record<string, any> }) => {
      const op = command.constructor.name.replace(/Command$/, '');
      const input = command.input;
      this.sent.push({ op, input });
      const error = this.fault?.(op);
      if (error) throw error;
      await this.delay?.(op);
      const answer = this.apply(op, input);
      await this.answerDelay?.(op);
      return answer;
    },
  } as unknown as DynamoDBClient;

  private apply(op: string, input: Record<string, any>): unknown {
    expect(input.TableName).toBe(TABLE);
    expect(input.Key?.key ?? input.Item?.key).toEqual({ S: 'Leader' });
    switch (op) {
      case 'GetItem':
        return { Item: this.item && structuredClone(this.item) };
      case 'PutItem':
        this.check(input);
        this.item = structuredClone(input.Item);
        return {};
      case 'UpdateItem': {
        this.check(input);
        const values = input.ExpressionAttributeValues;
        this.item = { ...this.item!, leaseDuration: values[':ld'], recordVersionNumber: values[':newRvn'] };
        return {};
      }
      case 'DeleteItem':
        this.check(input);
        this.item = undefined;
        return {};
      default:
        throw new Error(`unexpected ${op}`);
    }
  }

  private check(input: Record<string, any>): void {
    const condition: string = input.ConditionExpression;
    const values = input.ExpressionAttributeValues ?? {};
    const ok =
      condition === 'attribute_not_exists(#pk)'
        ? this.item === undefined
        : this.item !== undefined &&
          this.item.recordVersionNumber?.S === values[':rvn']?.S &&
          (!condition.includes('#on = :on') || this.item.ownerName?.S === values[':on']?.S);
    if (!ok) throw awsError('ConditionalCheckFailedException');
  }

  writes(): Sent[] {
    return this.sent.filter((s) => s.op !== 'GetItem');
  }
}

function setup(options: { workerId?: string; eligible?: boolean; leaseDurationMs?: number } = {}) {
  const table = new FakeCoordinatorState();
  let now = 1_000_000;
  const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
  const election = new LeaderElection(
    table.client,
    {
      workerId: options.workerId ?? 'native-1',
      eligible: options.eligible ?? true,
      leaseDurationMs: options.leaseDurationMs ?? 10_000,
      coordinatorStateTableName: TABLE,
    },
    logger,
    () => now,
  );
  return {
    table,
    election,
    logger,
    advance: (ms: number) => (now += ms),
  };
}

const javaLock = (rvn = 'java-rvn-1', extra: Item = {}): Item => ({
  key: { S: 'Leader' },
  ownerName: { S: 'java-x' },
  leaseDuration: { S: '120000' },
  recordVersionNumber: { S: rvn },
  ...extra,
});

describe('LeaderElection (the dynamodb-lock-client protocol on the Leader item)', () => {
  it("acquires an absent lock with attribute_not_exists(key), writing the lock client's attributes", async () => {
    const { table, election, logger } = setup();
    expect(election.heartbeatPeriodMs).toBe(2_500);
    await election.tick();
    expect(election.isLeader).toBe(true);
    expect(election.state).toEqual({ kind: 'live', leader: 'native-1' });
    const put = table.writes()[0];
    expect(put.op).toBe('PutItem');
    expect(put.input.ConditionExpression).toBe('attribute_not_exists(#pk)');
    expect(Object.keys(table.item!).sort()).toEqual(['key', 'leaseDuration', 'ownerName', 'recordVersionNumber']);
    expect(table.item!.ownerName).toEqual({ S: 'native-1' });
    expect(table.item!.leaseDuration).toEqual({ S: '10000' });
    expect(table.item!.recordVersionNumber.S).toMatch(/^[0-9a-f-]{36}$/);
    expect(logger.log).toHaveBeenCalledWith(expect.stringContaining('no worker held it'));
  });

  it('does not take a live lock: one whose recordVersionNumber keeps changing', async () => {
    const { table, election, advance } = setup();
    table.item = javaLock('v1');
    for (let i = 2; i < 200; i++) {
      await election.tick();
      expect(election.isLeader).toBe(false);
      expect(election.state).toEqual({ kind: 'live', leader: 'java-x' });
      advance(2_500);
      table.item = javaLock(`v${i}`); // the Java holder's heartbeat
    }
    expect(table.writes()).toEqual([]);
  });

  it("takes a lock whose recordVersionNumber is unchanged for the item's leaseDuration (on its own clock, from first sight), on that rvn", async () => {
    const { table, election, advance, logger } = setup();
    table.item = javaLock('dead-rvn', { leaseDuration: { S: '30000' } });
    await election.tick();
    advance(29_999);
    await election.tick();
    expect(election.isLeader).toBe(false);
    expect(table.writes()).toEqual([]);
    advance(1);
    await election.tick();
    expect(election.isLeader).toBe(true);
    const put = table.writes()[0];
    expect(put.op).toBe('PutItem');
    expect(put.input.ConditionExpression).toBe('attribute_exists(#pk) AND #rvn = :rvn');
    expect(put.input.ExpressionAttributeValues).toEqual({ ':rvn': { S: 'dead-rvn' } });
    expect(table.item.ownerName).toEqual({ S: 'native-1' });
    // Our own lease duration goes into the item, not the one we found.
    expect(table.item.leaseDuration).toEqual({ S: '10000' });
    expect(logger.log).toHaveBeenCalledWith(expect.stringMatching(/java-x had not renewed it for 30 s/));
  });

  it('a slow read does not start the silence timer early: it counts from when the read returned, not from when it was sent', async () => {
    const { table, election, advance } = setup();
    table.item = javaLock('v1', { leaseDuration: { S: '10000' } });
    // The read is sent, the holder heartbeats 3 s later (v2) while the read is in flight, and the read
    // returns v2 at that instant. Then the holder dies: v2 is its last write.
    table.delay = (op) =>
      op === 'GetItem'
        ? Promise.resolve().then(() => {
            advance(3_000);
            table.item = javaLock('v2', { leaseDuration: { S: '10000' } });
          })
        : undefined;
    await election.tick();
    table.delay = undefined;
    // v2 was written at this instant (t = 3 s): taking it before t = 13 s would be two leaders.
    advance(9_999);
    await election.tick();
    expect(election.isLeader).toBe(false);
    expect(table.writes()).toEqual([]);
    advance(1);
    await election.tick();
    expect(election.isLeader).toBe(true);
    expect(table.writes()[0].input.ExpressionAttributeValues).toEqual({ ':rvn': { S: 'v2' } });
  });

  it("the Java lock (leaseDuration 120000) is taken only after 120 s of silence, not after this worker's own shorter duration", async () => {
    const { table, election, advance } = setup({ leaseDurationMs: 10_000 });
    table.item = javaLock('dead-rvn');
    await election.tick();
    advance(119_999);
    await election.tick();
    expect(election.isLeader).toBe(false);
    advance(1);
    await election.tick();
    expect(election.isLeader).toBe(true);
  });

  it('takes a released lock (isReleased) at once, on its rvn', async () => {
    const { table, election } = setup();
    table.item = javaLock('released-rvn', { isReleased: { S: '1' } });
    await election.tick();
    expect(election.isLeader).toBe(true);
    expect(table.writes()[0].input.ExpressionAttributeValues).toEqual({ ':rvn': { S: 'released-rvn' } });
  });

  it('takes at once a lock held under its own worker id by an earlier run', async () => {
    const { table, election } = setup({ workerId: 'java-x' });
    table.item = javaLock('earlier-run');
    await election.tick();
    expect(election.isLeader).toBe(true);
  });

  it('heartbeats with SET leaseDuration and a new rvn on (previous rvn, ownerName)', async () => {
    const { table, election, advance } = setup();
    await election.tick();
    const first = table.item!.recordVersionNumber.S;
    advance(2_500);
    await election.tick();
    const update = table.writes()[1];
    expect(update.op).toBe('UpdateItem');
    expect(update.input.UpdateExpression).toBe('SET #ld = :ld, #rvn = :newRvn');
    expect(update.input.ConditionExpression).toBe('attribute_exists(#pk) AND #rvn = :rvn AND #on = :on');
    expect(update.input.ExpressionAttributeNames).toEqual({
      '#pk': 'key',
      '#ld': 'leaseDuration',
      '#rvn': 'recordVersionNumber',
      '#on': 'ownerName',
    });
    expect(update.input.ExpressionAttributeValues[':rvn']).toEqual({ S: first });
    expect(update.input.ExpressionAttributeValues[':on']).toEqual({ S: 'native-1' });
    expect(update.input.ExpressionAttributeValues[':ld']).toEqual({ S: '10000' });
    expect(table.item!.recordVersionNumber.S).not.toBe(first);
    expect(election.isLeader).toBe(true);
  });

  it('a failed heartbeat condition (another worker wrote the lock) ends leadership at once', async () => {
    const { table, election, advance, logger } = setup();
    await election.tick();
    table.item = javaLock('someone-else');
    advance(2_500);
    await election.tick();
    expect(election.isLeader).toBe(false);
    expect(election.state).toEqual({ kind: 'live', leader: 'java-x' });
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('Lost the KCL 3.x leader lock'));
  });

  it('a failed acquire (a contender wrote first) is not leadership', async () => {
    const { table, election } = setup();
    table.fault = (op) => {
      if (op !== 'PutItem') return undefined;
      table.item = javaLock('faster'); // written between our read and our put
      return undefined;
    };
    await election.tick();
    expect(election.isLeader).toBe(false);
    expect(table.item!.ownerName).toEqual({ S: 'java-x' });
  });

  it('failing heartbeats: isLeader turns false before leaseDuration has passed since the last successful write', async () => {
    const { table, election, advance, logger } = setup();
    await election.tick();
    table.fault = (op) => (op === 'UpdateItem' ? awsError('ProvisionedThroughputExceededException') : undefined);
    let sinceWrite = 0;
    while (election.isLeader) {
      advance(500);
      sinceWrite += 500;
      await election.tick();
      expect(sinceWrite).toBeLessThanOrEqual(10_000);
    }
    // Off by leaseDuration - one heartbeat period (7.5 s): a contender can only take it at 10 s.
    expect(sinceWrite).toBe(7_500);
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('ProvisionedThroughputExceededException'));
    expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('could not be renewed within its lease duration'));
    // A contender sees the same rvn and takes it only after its whole duration.
    const other = new LeaderElection(
      table.client,
      { workerId: 'native-2', eligible: true, leaseDurationMs: 10_000, coordinatorStateTableName: TABLE },
      logger,
      () => sinceWrite,
    );
    table.fault = undefined;
    await other.tick();
    expect(other.isLeader).toBe(false);
  });

  it('isLeader is false on the clock alone, even before a heartbeat tick reports the failure', async () => {
    const { election, advance } = setup();
    await election.tick();
    advance(7_499);
    expect(election.isLeader).toBe(true);
    advance(1);
    expect(election.isLeader).toBe(false);
  });

  it('a slow heartbeat does not stretch the term: isLeader is counted from when the write was sent, not from its answer', async () => {
    const { table, election, advance } = setup();
    await election.tick();
    advance(2_500);
    // The write lands at once but its answer takes 4 s (within the request's cut-off of two heartbeat periods).
    table.delay = (op) => (op === 'UpdateItem' ? Promise.resolve().then(() => void advance(4_000)) : undefined);
    await election.tick();
    table.delay = undefined;
    // A contender that saw this version at once may take it 10 s after the write; we must have stopped before.
    advance(10_000 - 4_000 - 2_500);
    expect(election.isLeader).toBe(false);
  });

  it("standDown while a heartbeat is in flight still releases the lock (the heartbeat's new version is not left held)", async () => {
    const { table, election, advance } = setup();
    await election.tick();
    advance(2_500);
    let land!: () => void;
    // The heartbeat has written its new version; its answer has not come back yet.
    table.answerDelay = (op) => (op === 'UpdateItem' ? new Promise<void>((resolve) => (land = resolve)) : undefined);
    const tick = election.tick();
    await new Promise((resolve) => setImmediate(resolve));
    const down = election.standDown();
    land();
    await Promise.all([tick, down]);
    table.answerDelay = undefined;
    expect(election.isLeader).toBe(false);
    expect(table.item).toBeUndefined();
    // And it does not come back to it on the next ticks (not contending for one lease duration).
    for (let i = 0; i < 3; i++) {
      advance(2_500);
      await election.tick();
    }
    expect(table.item).toBeUndefined();
    expect(election.isLeader).toBe(false);
  });

  it('stop() racing with a tick that started before it: the version that tick wrote is released too', async () => {
    const { table, election, advance } = setup();
    await election.tick();
    advance(2_500);
    let land!: () => void;
    table.answerDelay = (op) => (op === 'UpdateItem' ? new Promise<void>((resolve) => (land = resolve)) : undefined);
    const tick = election.tick();
    await new Promise((resolve) => setImmediate(resolve));
    // Release without waiting for the tick (what a standDown does when a tick starts just after it waited).
    const release = (election as unknown as { release(): Promise<void> }).release();
    await new Promise((resolve) => setImmediate(resolve));
    land();
    await Promise.all([tick, release]);
    expect(table.item).toBeUndefined();
    expect(election.isLeader).toBe(false);
  });

  it('standDown releases (DeleteItem on rvn and ownerName) and does not contend for one lease duration', async () => {
    const { table, election, advance } = setup();
    await election.tick();
    const rvn = table.item!.recordVersionNumber.S;
    await election.standDown();
    expect(election.isLeader).toBe(false);
    expect(table.item).toBeUndefined();
    const del = table.writes().at(-1)!;
    expect(del.op).toBe('DeleteItem');
    expect(del.input.ConditionExpression).toBe('attribute_exists(#pk) AND #rvn = :rvn AND #on = :on');
    expect(del.input.ExpressionAttributeValues).toEqual({ ':rvn': { S: rvn }, ':on': { S: 'native-1' } });
    advance(9_999);
    await election.tick();
    expect(election.isLeader).toBe(false);
    expect(table.item).toBeUndefined();
    advance(1);
    await election.tick();
    expect(election.isLeader).toBe(true);
  });

  it('stop() releases the lock it holds and never throws when the release fails', async () => {
    const { table, election, logger } = setup();
    await election.tick();
    await election.stop();
    expect(table.item).toBeUndefined();
    const second = setup();
    await second.election.tick();
    second.table.fault = (op) => (op === 'DeleteItem' ? awsError('InternalServerError') : undefined);
    await expect(second.election.stop()).resolves.toBeUndefined();
    expect(second.logger.warn).toHaveBeenCalledWith(expect.stringContaining('Could not release'));
    void logger;
  });

  it('kcl3LeaderEligible false never writes, and warns once while no leader is alive', async () => {
    const { table, election, advance, logger } = setup({ eligible: false });
    await election.tick();
    expect(election.state.kind).toBe('none');
    advance(2_500);
    await election.tick();
    table.item = javaLock('dead', { leaseDuration: { S: '5000' } });
    for (let i = 0; i < 6; i++) {
      advance(2_500);
      await election.tick();
    }
    expect(election.isLeader).toBe(false);
    expect(table.writes()).toEqual([]);
    const noLeader = logger.warn.mock.calls.filter(([message]) => /No KCL 3\.x leader/.test(message));
    // Once for "no lock", once when java-x's lock went silent; not at every tick.
    expect(noLeader.length).toBe(2);
    expect(noLeader[0]![0]).toMatch(/kcl3LeaderEligible: false/);
    // The warning is not repeated while the same holder stays silent.
    const before = logger.warn.mock.calls.length;
    for (let i = 0; i < 4; i++) {
      advance(2_500);
      await election.tick();
    }
    expect(logger.warn.mock.calls.length).toBe(before);
  });

  it('an eligible worker never warns that nobody leads: it takes the lock itself', async () => {
    const { election, logger } = setup();
    await election.tick();
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('a failed read is retried at the next tick; tick never rejects', async () => {
    const { table, election } = setup();
    table.fault = () => awsError('ThrottlingException');
    await expect(election.tick()).resolves.toBeUndefined();
    expect(election.isLeader).toBe(false);
    table.fault = undefined;
    await election.tick();
    expect(election.isLeader).toBe(true);
  });
});
