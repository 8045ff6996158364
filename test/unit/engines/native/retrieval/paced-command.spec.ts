import { Readable } from 'node:stream';
import { GetRecordsCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { ConfiguredRetryStrategy } from '@smithy/core/retry';
import { CallPacer, type PacerClock } from '../../../../../lib/engines/native/retrieval/call-pacer';
import { pacedBy } from '../../../../../lib/engines/native/retrieval/paced-command';

/**
 * pacedBy with the real SDK client and its retry middleware: only the HTTP layer (the client's
 * requestHandler) and the pacer's clock are the test's. The fake clock moves only when the pacer waits
 * for a turn, and by the round trip of each answer, so the spacing of the calls is read off it exactly:
 * no real time passes, nothing depends on the speed of the machine.
 */
describe('pacedBy (every HTTP attempt, the SDK retries included, waits for its turn)', () => {
  const ROUND_TRIP_MS = 30;
  let now: number;
  const clock: PacerClock = {
    now: () => now,
    pause: (ms) => {
      now += ms;
      return Promise.resolve(true);
    },
  };

  /** A client whose HTTP layer answers attempt n with answers[n] (then 200 with no records), on the fake clock. */
  type Answer = 'throttle' | 'http500' | 'ok';
  function kinesisAnswering(answers: Answer[]) {
    const arrivals: number[] = [];
    const client = new KinesisClient({
      region: 'us-east-1',
      endpoint: 'http://kinesis.invalid',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 3,
      // The SDK's backoff between its attempts would be real timers; the pacer's spacing is the subject here.
      retryStrategy: new ConfiguredRetryStrategy(3, () => 0),
      requestHandler: {
        handle: () => {
          arrivals.push(now);
          now += ROUND_TRIP_MS;
          const answer = answers[arrivals.length - 1] ?? 'ok';
          const [statusCode, body] =
            answer === 'throttle'
              ? [400, { __type: 'ProvisionedThroughputExceededException', message: 'Rate exceeded for shard' }]
              : answer === 'http500'
                ? [500, { __type: 'InternalFailure', message: 'boom' }]
                : [200, { Records: [], NextShardIterator: 'next', MillisBehindLatest: 0 }];
          return Promise.resolve({
            response: {
              statusCode,
              headers: { 'content-type': 'application/x-amz-json-1.1' },
              body: Readable.from([Buffer.from(JSON.stringify(body))]),
            },
          });
        },
      },
    });
    return { client, arrivals };
  }

  beforeEach(() => {
    now = 1_000;
  });

  it('the SDK retries of one call are spaced like separate calls: one interval after each answer', async () => {
    const { client, arrivals } = kinesisAnswering(['http500', 'http500', 'ok']);
    const pacer = new CallPacer(5, clock);
    const signal = new AbortController().signal;
    await client.send(pacedBy(new GetRecordsCommand({ ShardIterator: 'i' }), pacer, signal));
    expect(arrivals).toHaveLength(3); // the SDK retried twice, below the pacing
    // The first goes at once; each retry an interval (200 ms, rounded up by a ms) after the previous answer.
    expect(arrivals.slice(1).map((t, i) => t - (arrivals[i] + ROUND_TRIP_MS))).toEqual([201, 201]);
    client.destroy();
  });

  it('throttled attempts stretch the spacing before the SDK tries again, and each is reported', async () => {
    const { client, arrivals } = kinesisAnswering(['throttle', 'throttle', 'ok']);
    const pacer = new CallPacer(5, clock);
    let throttles = 0;
    await client.send(pacedBy(new GetRecordsCommand({ ShardIterator: 'i' }), pacer, new AbortController().signal, () => throttles++));
    expect(throttles).toBe(2);
    const waits = arrivals.slice(1).map((t, i) => t - (arrivals[i] + ROUND_TRIP_MS));
    // 200 ms doubled (rounded up by a ms); then the stretch, faded for the 431 ms since, doubled again.
    expect(waits).toEqual([401, Math.ceil(200 * 2 * 0.5 ** ((401 + ROUND_TRIP_MS) / 1_000) * 2) + 1]);
    expect(waits[1]).toBeGreaterThan(waits[0]);
    client.destroy();
  });

  it('over many calls with SDK retries and throttling, no second sees more than 5 attempts at the service', async () => {
    // A deterministic mix (no flakiness): every third attempt throttled, every fifth a 500.
    const answers = Array.from({ length: 200 }, (_, i): Answer => (i % 3 === 0 ? 'throttle' : i % 5 === 0 ? 'http500' : 'ok'));
    const { client, arrivals } = kinesisAnswering(answers);
    const pacer = new CallPacer(5, clock);
    const signal = new AbortController().signal;
    for (let call = 0; call < 80; call++) {
      await client.send(pacedBy(new GetRecordsCommand({ ShardIterator: 'i' }), pacer, signal)).catch(() => undefined);
    }
    expect(arrivals.length).toBeGreaterThan(80); // retries happened
    const mostInOneSecond = Math.max(...arrivals.map((at, i) => arrivals.slice(i).filter((later) => later < at + 1_000).length));
    expect(mostInOneSecond).toBeLessThanOrEqual(5);
    expect(Math.min(...arrivals.slice(1).map((t, i) => t - (arrivals[i] + ROUND_TRIP_MS)))).toBeGreaterThanOrEqual(200);
    client.destroy();
  });
});
