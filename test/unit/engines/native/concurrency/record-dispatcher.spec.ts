import { RecordDispatcher } from '../../../../../lib/engines/native/concurrency/record-dispatcher';

interface Rec {
  readonly id: number;
  readonly key: string;
}

/** Handlers the test finishes by hand: what runs at any moment is decided by the test, not by timers. */
class Handlers {
  readonly started: number[] = [];
  readonly running = new Map<number, (finished: boolean) => void>();
  maxRunning = 0;

  run = (record: Rec): Promise<boolean> => {
    this.started.push(record.id);
    this.maxRunning = Math.max(this.maxRunning, this.running.size + 1);
    return new Promise<boolean>((resolve) => this.running.set(record.id, resolve));
  };

  async finish(id: number, finished = true): Promise<void> {
    const resolve = this.running.get(id);
    if (!resolve) throw new Error(`${id} is not running (running: ${[...this.running.keys()].join(',')})`);
    this.running.delete(id);
    resolve(finished);
    // Let the dispatcher's .then run.
    await new Promise((r) => setImmediate(r));
  }
}

const byKey = (record: Rec) => record.key;

describe('RecordDispatcher', () => {
  it('runs at most `limit` records at once and every record once', async () => {
    const handlers = new Handlers();
    const dispatcher = new RecordDispatcher<Rec>(3, byKey, handlers.run);
    for (let id = 0; id < 10; id++) dispatcher.submit({ id, key: `k${id}` });
    expect(handlers.started).toEqual([0, 1, 2]);
    while (handlers.running.size > 0) await handlers.finish([...handlers.running.keys()][0]);
    expect(handlers.started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(handlers.maxRunning).toBe(3);
    await dispatcher.whenIdle();
  });

  it("ordering 'partitionKey': a key's next record starts only after its previous finished; other keys run meanwhile", async () => {
    const handlers = new Handlers();
    const dispatcher = new RecordDispatcher<Rec>(8, byKey, handlers.run);
    const records: Rec[] = [
      { id: 0, key: 'a' },
      { id: 1, key: 'a' },
      { id: 2, key: 'b' },
      { id: 3, key: 'a' },
      { id: 4, key: 'c' },
    ];
    records.forEach((r) => dispatcher.submit(r));
    expect(handlers.started).toEqual([0, 2, 4]);
    await handlers.finish(2);
    await handlers.finish(4);
    expect(handlers.started).toEqual([0, 2, 4]);
    await handlers.finish(0);
    expect(handlers.started).toEqual([0, 2, 4, 1]);
    await handlers.finish(1);
    expect(handlers.started).toEqual([0, 2, 4, 1, 3]);
    await handlers.finish(3);
    await dispatcher.whenIdle();
  });

  it("ordering 'none' (no key): records of one partition key run side by side", () => {
    const handlers = new Handlers();
    const dispatcher = new RecordDispatcher<Rec>(4, () => undefined, handlers.run);
    for (let id = 0; id < 4; id++) dispatcher.submit({ id, key: 'same' });
    expect(handlers.started).toEqual([0, 1, 2, 3]);
  });

  it('a record that did not finish blocks its key for good; the other keys go on; stop() returns what never started', async () => {
    const handlers = new Handlers();
    const dispatcher = new RecordDispatcher<Rec>(2, byKey, handlers.run);
    [
      { id: 0, key: 'poison' },
      { id: 1, key: 'ok' },
      { id: 2, key: 'poison' },
      { id: 3, key: 'ok' },
    ].forEach((r) => dispatcher.submit(r));
    await handlers.finish(0, false);
    await handlers.finish(1);
    await handlers.finish(3);
    expect(handlers.started).toEqual([0, 1, 3]);
    const notStarted = dispatcher.stop();
    expect(notStarted.map((r) => r.id)).toEqual([2]);
    await dispatcher.whenIdle();
    expect(() => dispatcher.submit({ id: 9, key: 'x' })).toThrow(/stopped/);
  });

  it('whenIdle after stop() waits for the records running, not for those that never started', async () => {
    const handlers = new Handlers();
    const dispatcher = new RecordDispatcher<Rec>(1, byKey, handlers.run);
    dispatcher.submit({ id: 0, key: 'a' });
    dispatcher.submit({ id: 1, key: 'b' });
    dispatcher.stop();
    let idle = false;
    const waiting = dispatcher.whenIdle().then(() => (idle = true));
    await new Promise((r) => setImmediate(r));
    expect(idle).toBe(false);
    await handlers.finish(0);
    await waiting;
    expect(handlers.started).toEqual([0]);
  });

  it('a handler that rejects counts as not finished', async () => {
    const started: number[] = [];
    const dispatcher = new RecordDispatcher<Rec>(2, byKey, (record) => {
      started.push(record.id);
      return record.id === 0 ? Promise.reject(new Error('boom')) : Promise.resolve(true);
    });
    dispatcher.submit({ id: 0, key: 'a' });
    dispatcher.submit({ id: 1, key: 'a' });
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0]);
    expect(dispatcher.waiting).toBe(1);
    expect(dispatcher.running).toBe(0);
  });
});
