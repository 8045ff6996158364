/** A first-in first-out queue without Array.shift's copying. */
class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as T;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  drain(): T[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }
}

/**
 * Runs the records of one shard, up to `limit` at once, keeping the order of records that share an
 * ordering key: a record starts only after the previous record with its key finished. Records without
 * a key (ordering 'none') start in the order submitted, as room allows. No I/O: `run` is the handler
 * with its retries, and says whether the record finished. A record that did not finish (its retries
 * ran out, or the shard is stopping) keeps its key blocked: nothing after it on that key ever starts.
 */
export class RecordDispatcher<T> {
  /** Records ready to start (the first of their key), in submission order. */
  private readonly ready = new Queue<T>();
  /** Per key with a record running or ready: the records behind it, in submission order. */
  private readonly lanes = new Map<string, Queue<T>>();
  private runningCount = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly keyOf: (record: T) => string | undefined,
    private readonly run: (record: T) => Promise<boolean>,
  ) {}

  get running(): number {
    return this.runningCount;
  }

  /** Records submitted that have not started. */
  get waiting(): number {
    let count = this.ready.length;
    for (const lane of this.lanes.values()) count += lane.length;
    return count;
  }

  /** Hands a record on; records must be submitted in shard order. */
  submit(record: T): void {
    if (this.stopped) throw new Error('the dispatcher was stopped');
    const key = this.keyOf(record);
    if (key === undefined) this.ready.push(record);
    else {
      const lane = this.lanes.get(key);
      if (lane) lane.push(record);
      else {
        // The key is taken from now until its last record finishes: a later record of it waits in the lane.
        this.lanes.set(key, new Queue<T>());
        this.ready.push(record);
      }
    }
    this.pump();
  }

  /** Starts nothing more; returns the records that never started (their room in the budget is given back by the caller). */
  stop(): T[] {
    this.stopped = true;
    const notStarted = this.ready.drain();
    for (const lane of this.lanes.values()) notStarted.push(...lane.drain());
    this.lanes.clear();
    this.notifyIdle();
    return notStarted;
  }

  /** Resolves when nothing runs and nothing waits (or, once stopped, nothing runs). */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private get idle(): boolean {
    return this.runningCount === 0 && (this.stopped || this.waiting === 0);
  }

  private pump(): void {
    while (!this.stopped && this.runningCount < this.limit && this.ready.length > 0) this.start(this.ready.shift()!);
  }

  private start(record: T): void {
    this.runningCount++;
    void this.run(record).then(
      (finished) => this.settle(record, finished),
      () => this.settle(record, false),
    );
  }

  private settle(record: T, finished: boolean): void {
    this.runningCount--;
    const key = this.keyOf(record);
    if (finished && key !== undefined && !this.stopped) {
      const lane = this.lanes.get(key)!;
      const next = lane.shift();
      if (next === undefined) this.lanes.delete(key);
      else this.ready.push(next);
    }
    this.pump();
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (!this.idle) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
