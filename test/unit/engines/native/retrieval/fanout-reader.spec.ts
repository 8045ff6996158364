/* eslint-disable @typescript-eslint/require-await -- a stubbed subscription client that answers at once */
import type { KinesisClient, SubscribeToShardEvent } from '@aws-sdk/client-kinesis';
import { FanoutReader, type FanoutReaderConfig } from '../../../../../lib/engines/native/retrieval/fanout-reader';
import { FetchAbortedError } from '../../../../../lib/engines/native/retrieval/shard-record-fetcher';
import { NotStreamingError } from '../../../../../lib/engines/native/retrieval/shard-subscription';
import { LATEST_ANCHOR_TIMEOUT_MS } from '../../../../../lib/engines/native/retrieval/start-position';
import type { PacerClock } from '../../../../../lib/engines/native/retrieval/call-pacer';
import { CapturingLogger } from '../../../../support/capturing-logger';
import { waitFor } from '../../../../support/wait-for';

const seq = (n: number) => `4968064262957964619552409976618518528699811806203766${String(n).padStart(4, '0')}`;
const record = (n: number) => ({
  SequenceNumber: seq(n),
  PartitionKey: 'p',
  Data: Buffer.from(`r${n}`),
  ApproximateArrivalTimestamp: new Date(0),
});
const event = (from: number, to: number, extra: Partial<SubscribeToShardEvent> = {}): SubscribeToShardEvent => ({
  Records: Array.from({ length: to - from + 1 }, (_, i) => record(from + i)),
  MillisBehindLatest: 0,
  ContinuationSequenceNumber: seq(to),
  ...extra,
});
const awsError = (name: string) => Object.assign(new Error(name), { name });

type Step = SubscribeToShardEvent | Error | 'end' | 'hang';

/** One scripted subscription: its events (or a thrown error, the stream's end, or silence), and how many the reader pulled. */
class FakeStream {
  pulled = 0;
  signal: AbortSignal | undefined;
  constructor(private readonly steps: Step[]) {}
  [Symbol.asyncIterator]() {
    return {
      next: async () => {
        this.pulled++;
        const step = this.steps.shift() ?? 'end';
        if (step === 'end') return { done: true, value: undefined };
        if (step === 'hang')
          return new Promise<never>((_, reject) => this.signal?.addEventListener('abort', () => reject(awsError('AbortError'))));
        if (step instanceof Error) throw step;
        return { done: false, value: { SubscribeToShardEvent: step } };
      },
      return: async () => ({ done: true, value: undefined }),
    };
  }
}

/** A clock for the reader that moves only when the reader waits (its pacing and backoff): no real time passes. */
function fakeClock() {
  let now = 1_000_000;
  const waits: number[] = [];
  const clock: PacerClock = {
    now: () => now,
    pause: (ms) => {
      waits.push(ms);
      now += ms;
      return Promise.resolve(true);
    },
  };
  return { clock, waits, now: () => now };
}

/** A subscriber client that answers SubscribeToShard with the next scripted stream (or rejection), and logs every call (at: on `now`). */
function fakeClients(
  subscriptions: Array<FakeStream | Error | 'no-stream' | 'no-answer'>,
  kinesisScript: Record<string, Array<() => unknown>> = {},
  now: () => number = Date.now,
) {
  const calls: { name: string; input: Record<string, unknown>; at: number; signal?: AbortSignal }[] = [];
  const make = (handle: (name: string, input: Record<string, unknown>, signal?: AbortSignal) => unknown) =>
    ({
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }, options?: { abortSignal?: AbortSignal }) => {
        const name = command.constructor.name.replace(/Command$/, '');
        calls.push({ name, input: command.input, at: now(), signal: options?.abortSignal });
        return handle(name, command.input, options?.abortSignal);
      },
    }) as unknown as KinesisClient;
  const subscriber = make((_name, _input, signal) => {
    const next = subscriptions.shift();
    if (!next) return new Promise(() => undefined);
    if (next instanceof Error) throw next;
    if (next === 'no-stream') return {};
    // A blackholed request: no answer ever, whatever happens to the signal.
    if (next === 'no-answer') return new Promise(() => undefined);
    next.signal = signal;
    return { EventStream: next };
  });
  const kinesis = make((name) => {
    const next = kinesisScript[name]?.shift();
    if (!next) throw new Error(`unscripted ${name}`);
    return next();
  });
  return { subscriber, kinesis, calls };
}

function reader(clients: { subscriber: KinesisClient; kinesis: KinesisClient }, overrides: Partial<FanoutReaderConfig> = {}) {
  const logger = new CapturingLogger();
  const abort = new AbortController();
  const r = new FanoutReader({
    ...clients,
    consumerArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/app:1',
    streamName: 's',
    shardId: 'shardId-000000000000',
    start: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
    leaseTakenAt: new Date('2026-11-28T10:00:00Z'),
    shardEndCheckIntervalMs: 60_000,
    logger,
    signal: abort.signal,
    ...overrides,
  });
  return { r, logger, abort };
}

const positions = (calls: { name: string; input: Record<string, unknown> }[]) =>
  calls
    .filter((c) => c.name === 'SubscribeToShard')
    .map((c) => c.input.StartingPosition as { Type: string; SequenceNumber?: string; Timestamp?: Date });

describe('FanoutReader', () => {
  it('reads one event per next(): a slow processor leaves the rest in the stream (TCP flow control), nothing is buffered', async () => {
    const stream = new FakeStream([event(1, 2), event(3, 4), event(5, 6), event(7, 8)]);
    const { r } = reader(fakeClients([stream]));
    const first = await r.next();
    expect(first.records.map((x) => x.data.toString())).toEqual(['r1', 'r2']);
    expect(stream.pulled).toBe(1);
    await r.next();
    expect(stream.pulled).toBe(2);
  });

  it('subscribes again AFTER the last continuation when Kinesis ends the subscription (its 5 minutes), with neither gap nor replay', async () => {
    const clients = fakeClients([new FakeStream([event(1, 3), 'end']), new FakeStream([event(4, 5)])]);
    const { r } = reader(clients);
    const got = [...(await r.next()).records, ...(await r.next()).records].map((x) => x.data.toString());
    expect(got).toEqual(['r1', 'r2', 'r3', 'r4', 'r5']);
    expect(positions(clients.calls)).toEqual([{ Type: 'TRIM_HORIZON' }, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(3) }]);
  });

  it('an error event (InternalFailure, a reset) ends the subscription; the next one starts after the last event delivered, one second later at the earliest', async () => {
    const time = fakeClock();
    const clients = fakeClients(
      [new FakeStream([event(1, 2), awsError('InternalFailureException')]), new FakeStream([event(3, 3)])],
      {},
      time.now,
    );
    const { r, logger } = reader(clients, { clock: time.clock });
    await r.next();
    expect((await r.next()).records.map((x) => x.data.toString())).toEqual(['r3']);
    expect(positions(clients.calls)[1]).toEqual({ Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(2) });
    const [a, b] = clients.calls.filter((c) => c.name === 'SubscribeToShard');
    expect(b.at - a.at).toBeGreaterThanOrEqual(1_000); // on the reader's clock, which moved only by its own waits
    expect(logger.lines.some((l) => /Fan-out subscription on s\/shardId-000000000000 failed: .*InternalFailureException/.test(l))).toBe(
      true,
    );
  });

  it('refused subscriptions (throttling, ResourceInUse, a 500, a reset) are retried one second apart at the earliest, on the reader clock', async () => {
    const time = fakeClock();
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const clients = fakeClients(
      [
        awsError('LimitExceededException'),
        awsError('LimitExceededException'),
        awsError('ResourceInUseException'),
        Object.assign(awsError('InternalFailure'), { $metadata: { httpStatusCode: 500 } }),
        reset,
        new FakeStream([event(1, 1)]),
      ],
      {},
      time.now,
    );
    const { r } = reader(clients, { clock: time.clock });
    expect((await r.next()).records.map((x) => x.data.toString())).toEqual(['r1']);
    const at = clients.calls.filter((c) => c.name === 'SubscribeToShard').map((c) => c.at);
    expect(at).toHaveLength(6);
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBeGreaterThanOrEqual(1_000);
  });

  it('ResourceInUseException and LimitExceededException on subscribe are retried with a clear log line; throttling counts in the metrics', async () => {
    let throttled = 0;
    const clients = fakeClients([awsError('ResourceInUseException'), awsError('LimitExceededException'), new FakeStream([event(1, 1)])]);
    const { r, logger } = reader(clients, { onThrottled: () => throttled++ });
    expect((await r.next()).records).toHaveLength(1);
    expect(throttled).toBe(1);
    expect(logger.lines.some((l) => l.includes('Another subscription on this shard and consumer is still open'))).toBe(true);
    expect(logger.lines.some((l) => l.includes('one call per second per shard and consumer'))).toBe(true);
  });

  it('starts AT a checkpointed sequence number and drops what the checkpoint covers; LATEST is pinned to the lease taking, as polling does', async () => {
    const at = fakeClients([new FakeStream([event(5, 7)])]);
    const { r } = reader(at, { start: { sequenceNumber: seq(5), subSequenceNumber: 0 } });
    expect((await r.next()).records.map((x) => x.data.toString())).toEqual(['r6', 'r7']);
    expect(positions(at.calls)).toEqual([{ Type: 'AT_SEQUENCE_NUMBER', SequenceNumber: seq(5) }]);

    const latest = fakeClients([new FakeStream([event(1, 1)])]);
    await reader(latest, { start: { sequenceNumber: 'LATEST', subSequenceNumber: 0 } }).r.next();
    expect(positions(latest.calls)).toEqual([{ Type: 'AT_TIMESTAMP', Timestamp: new Date('2026-11-28T09:59:59Z') }]);
  });

  it('an event without continuation is the shard end, with the children Kinesis names', async () => {
    const children = [
      {
        ShardId: 'shardId-000000000001',
        ParentShards: ['shardId-000000000000'],
        HashKeyRange: { StartingHashKey: '0', EndingHashKey: '1' },
      },
    ];
    const { r } = reader(fakeClients([new FakeStream([event(1, 1, { ContinuationSequenceNumber: undefined, ChildShards: children })])]));
    await expect(r.next()).resolves.toMatchObject({
      shardEnded: true,
      childShards: [{ shardId: 'shardId-000000000001', parentShardIds: ['shardId-000000000000'] }],
    });
  });

  it('a caught-up subscription checks GetRecords after its position for a closed shard (kinesis-local never sends the end event)', async () => {
    const empty = (): SubscribeToShardEvent => ({ Records: [], MillisBehindLatest: 0, ContinuationSequenceNumber: seq(2) });
    const clients = fakeClients([new FakeStream([event(1, 2), empty()])], {
      GetShardIterator: [() => ({ ShardIterator: 'it' })],
      GetRecords: [() => ({ Records: [], ChildShards: [{ ShardId: 'shardId-000000000002', ParentShards: ['shardId-000000000000'] }] })],
    });
    const { r } = reader(clients, { shardEndCheckIntervalMs: 0 });
    await r.next();
    await expect(r.next()).resolves.toMatchObject({ shardEnded: true, childShards: [{ shardId: 'shardId-000000000002' }] });
    expect(clients.calls.find((c) => c.name === 'GetShardIterator')!.input).toMatchObject({
      ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
      StartingSequenceNumber: seq(2),
    });
  });

  it('a handler that cannot stream fails with a clear error naming retrieval.requestHandler', async () => {
    const { r } = reader(fakeClients(['no-stream']));
    await expect(r.next()).rejects.toBeInstanceOf(NotStreamingError);
    await expect(reader(fakeClients(['no-stream'])).r.next()).rejects.toThrow(/retrieval\.requestHandler/);
  });

  it('a lease lost (the signal) cancels the open SubscribeToShard request and ends next() with FetchAbortedError', async () => {
    const stream = new FakeStream(['hang']);
    const clients = fakeClients([stream]);
    const { r, abort } = reader(clients);
    const pending = r.next();
    await waitFor(() => stream.pulled === 1, 'the reader to wait on the open subscription', 5_000);
    abort.abort();
    await expect(pending).rejects.toBeInstanceOf(FetchAbortedError);
    expect(clients.calls[0].signal!.aborted).toBe(true);
  });

  it('a subscription silent for the idle timeout is cancelled and replaced from the last position', async () => {
    const silent = new FakeStream([event(1, 1), 'hang']);
    const clients = fakeClients([silent, new FakeStream([event(2, 2)])]);
    const { r, logger } = reader(clients, { idleTimeoutMs: 100 });
    await r.next();
    expect((await r.next()).records.map((x) => x.data.toString())).toEqual(['r2']);
    expect(silent.signal!.aborted).toBe(true);
    expect(positions(clients.calls)[1]).toEqual({ Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(1) });
    expect(logger.lines.some((l) => l.includes('no event from SubscribeToShard'))).toBe(true);
  });

  it('a SubscribeToShard that never answers is cancelled after subscribeTimeoutMs, logged, and made again (with backoff) from the same position', async () => {
    const clients = fakeClients(['no-answer', 'no-answer', new FakeStream([event(1, 2)])]);
    const { clock, waits } = fakeClock();
    const { r, logger } = reader(clients, { subscribeTimeoutMs: 100, clock });
    expect((await r.next()).records.map((x) => x.data.toString())).toEqual(['r1', 'r2']);
    expect(clients.calls.map((c) => c.name)).toEqual(['SubscribeToShard', 'SubscribeToShard', 'SubscribeToShard']);
    expect(clients.calls.slice(0, 2).map((c) => c.signal!.aborted)).toEqual([true, true]);
    expect(positions(clients.calls)).toEqual([{ Type: 'TRIM_HORIZON' }, { Type: 'TRIM_HORIZON' }, { Type: 'TRIM_HORIZON' }]);
    // The failures back off as any failed subscription (1 s, then 2 s, with jitter), not only the 1 s pacing.
    expect(waits.length).toBeGreaterThanOrEqual(2);
    const warnings = logger.lines.filter((l) => l.includes('did not answer within 100 ms (retrieval.subscribeTimeoutMs)'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/blackholed or half-open connection.*Raise retrieval\.subscribeTimeoutMs/);
  });

  it('an answered subscription whose first event never comes is given up after subscribeTimeoutMs, not the idle timeout', async () => {
    const silent = new FakeStream(['hang']);
    const clients = fakeClients([silent, new FakeStream([event(1, 1)])]);
    const { r, logger } = reader(clients, { subscribeTimeoutMs: 100, idleTimeoutMs: 600_000, clock: fakeClock().clock });
    expect((await r.next()).records.map((x) => x.data.toString())).toEqual(['r1']);
    expect(silent.signal!.aborted).toBe(true);
    expect(logger.lines.some((l) => l.includes('answered but sent no event within 100 ms'))).toBe(true);
  });

  it('an HTTP/2 failure is logged with the hint for kinesis-local (HTTP/1.1 only: pass NodeHttpHandler)', async () => {
    const h2 = Object.assign(new Error('Protocol error'), { code: 'ERR_HTTP2_ERROR' });
    const { r, logger } = reader(fakeClients([h2, new FakeStream([event(1, 1)])]));
    await r.next();
    expect(
      logger.lines.some((l) =>
        /Protocol error.*serves SubscribeToShard over HTTP\/1\.1 only; pass retrieval\.requestHandler: new NodeHttpHandler\(\)/s.test(l),
      ),
    ).toBe(true);
  });
  describe('a LATEST lease', () => {
    const LATEST = { sequenceNumber: 'LATEST', subSequenceNumber: 0 };
    const takenAt = new Date('2026-11-28T10:00:00Z');
    const pinned = new Date(takenAt.getTime() - 1_000);

    it('prime() subscribes at LATEST when the lease is taken; its events wait in the stream for next(), then reading goes on after the continuation', async () => {
      const first = new FakeStream([event(1, 1), 'end']);
      const clients = fakeClients([first, new FakeStream([event(2, 2)])]);
      const { r } = reader(clients, { start: LATEST, leaseTakenAt: takenAt, clock: fakeClock().clock });
      await r.prime();
      await r.prime(); // once per lease
      expect(positions(clients.calls)).toEqual([{ Type: 'LATEST' }]);
      expect(first.pulled).toBe(0);
      const got = [...(await r.next()).records, ...(await r.next()).records].map((x) => x.data.toString());
      expect(got).toEqual(['r1', 'r2']);
      expect(positions(clients.calls)).toEqual([{ Type: 'LATEST' }, { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: seq(1) }]);
    });

    it('the LATEST subscription lost before its first event was read: the next one starts at the take time less the margin, never a fresh LATEST', async () => {
      const clients = fakeClients([new FakeStream([awsError('InternalFailureException')]), new FakeStream([event(1, 1)])]);
      const { r } = reader(clients, { start: LATEST, leaseTakenAt: takenAt, clock: fakeClock().clock });
      await r.prime();
      expect((await r.next()).records.map((x) => x.data.toString())).toEqual(['r1']);
      expect(positions(clients.calls)).toEqual([{ Type: 'LATEST' }, { Type: 'AT_TIMESTAMP', Timestamp: pinned }]);
    });

    it("no LATEST subscription at the take (the previous owner's still open): one warning, and reading starts at the take time less the margin", async () => {
      const clients = fakeClients([awsError('ResourceInUseException'), new FakeStream([event(1, 1)])]);
      const { r, logger } = reader(clients, { start: LATEST, leaseTakenAt: takenAt, clock: fakeClock().clock });
      await expect(r.prime()).resolves.toBeUndefined();
      expect((await r.next()).records).toHaveLength(1);
      expect(positions(clients.calls)).toEqual([{ Type: 'LATEST' }, { Type: 'AT_TIMESTAMP', Timestamp: pinned }]);
      expect(
        logger.lines.filter((l) => l.startsWith('WARN') && l.includes('no LATEST subscription when the lease was taken')),
      ).toHaveLength(1);
    });

    it('a LATEST subscription that does not open in time is cancelled, and the start falls back to the take time less the margin', async () => {
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      try {
        // SubscribeToShard never answers; the request ends only when it is aborted, as the SDK's does.
        let sent: AbortSignal | undefined;
        const subscriber = {
          send: (_command: unknown, options: { abortSignal: AbortSignal }) =>
            new Promise((_, reject) => {
              sent = options.abortSignal;
              sent.addEventListener('abort', () => reject(awsError('AbortError')));
            }),
        } as unknown as KinesisClient;
        const { r, logger } = reader(
          { subscriber, kinesis: fakeClients([]).kinesis },
          { start: LATEST, leaseTakenAt: takenAt, clock: fakeClock().clock },
        );
        const primed = r.prime();
        await jest.advanceTimersByTimeAsync(LATEST_ANCHOR_TIMEOUT_MS);
        await primed;
        expect(sent!.aborted).toBe(true);
        expect(logger.lines.some((l) => l.includes(`no answer within ${LATEST_ANCHOR_TIMEOUT_MS} ms`))).toBe(true);
      } finally {
        jest.useRealTimers();
      }
    });
  });

  it('paces resubscription on a monotonic clock by default: a wall clock stepped back an hour does not hold the next subscription back', async () => {
    const realNow = Date.now.bind(Date);
    const clients = fakeClients([new FakeStream([event(1, 1), 'end']), new FakeStream([event(2, 2)])]);
    const { r } = reader(clients);
    expect((await r.next()).records).toHaveLength(1);
    const stepped = jest.spyOn(Date, 'now').mockImplementation(() => realNow() - 3_600_000);
    try {
      expect((await r.next()).records.map((x) => x.data.toString())).toEqual(['r2']);
    } finally {
      stepped.mockRestore();
    }
  });
  it('a checkpoint it cannot start from (AT_TIMESTAMP without a configured timestamp) keeps the lease, as polling does: shown in problem, one error line, retried slowly', async () => {
    const clients = fakeClients([]);
    let pauses = 0;
    let now = 0;
    const abort = new AbortController();
    // The reader's clock: each wait moves it on; the third ends the test as a stop() would.
    const clock: PacerClock = {
      now: () => now,
      pause: (ms) => {
        now += ms;
        if (++pauses < 3) return Promise.resolve(true);
        abort.abort();
        return Promise.resolve(false);
      },
    };
    const { r, logger } = reader(clients, { start: { sequenceNumber: 'AT_TIMESTAMP', subSequenceNumber: 0 }, clock, signal: abort.signal });
    await expect(r.next()).rejects.toBeInstanceOf(FetchAbortedError);
    expect(pauses).toBe(3);
    expect(r.problem).toContain('has the checkpoint AT_TIMESTAMP');
    expect(logger.lines.filter((l) => l.startsWith('ERROR') && l.includes('has the checkpoint AT_TIMESTAMP'))).toHaveLength(1);
    expect(positions(clients.calls)).toEqual([]);
  });
});
