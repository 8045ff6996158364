import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createStream, faults, putRecords, startFaultProxy, type FaultProxy, type PutResult } from '../../lib/testing';
import type { StreamWorkerOptions } from '../../lib';
import { StreamConsumerError } from '../../lib/engines/native/retrieval/stream-consumer-registration';
import { dynamoClient, endpoints, kinesisClient, uniqueName } from '../support/aws';
import { BackgroundProducer } from '../support/producer';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';
import { TcpRelay } from './fanout-support/tcp-relay';
import { ObservedWorker, expectedData } from './lifecycle-harness';
import { writeLeaseOwner } from './fanout-support/steal-lease';
import { readLeases } from '../support/lease-table';

const kinesis = kinesisClient();
const dynamo = dynamoClient();
const running = new Set<ObservedWorker>();
let proxy: FaultProxy | undefined;
let relay: TcpRelay | undefined;
afterEach(async () => {
  await BackgroundProducer.stopAll();
  await Promise.all([...running].map((w) => w.worker.stop()));
  running.clear();
  await proxy?.close();
  await relay?.close();
  proxy = relay = undefined;
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

function fanoutWorker(endpoint: string, options: Partial<StreamWorkerOptions> & Pick<StreamWorkerOptions, 'appName' | 'streamName'>) {
  const worker = new ObservedWorker({
    kinesis: { endpoint },
    retrieval: { mode: 'fanout', requestHandler: new NodeHttpHandler() },
    ...options,
  });
  running.add(worker);
  return worker;
}

const shardsOf = (puts: readonly { shardId: string }[]) => [...new Set(puts.map((p) => p.shardId))];

function expectExactlyOnceInOrder(observed: ObservedWorker, puts: readonly PutResult[]) {
  for (const shardId of shardsOf(puts)) expect(observed.firstDeliveries(shardId)).toEqual(expectedData(puts, shardId));
  expect(observed.deliveries).toHaveLength(puts.length);
  expect(observed.orderViolations()).toEqual([]);
}

describe('enhanced fan-out under faults (native engine, kinesis-local)', () => {
  it('resubscribes after connections are reset mid-stream, with neither gap nor replay', async () => {
    const stream = uniqueName('fanout-drop');
    await createStream(kinesis, stream, 2);
    relay = await TcpRelay.start(endpoints().kinesis);
    const observed = fanoutWorker(relay.url, { appName: uniqueName('app'), streamName: stream });
    await observed.worker.start();
    const producer = new BackgroundProducer(kinesis, stream, 5, 100);
    producer.start();
    for (let drop = 0; drop < 3; drop++) {
      await waitFor(
        () =>
          relay!.openSubscriptions === 2 &&
          observed.deliveries.length >= producer.puts.length / 2 &&
          producer.puts.length > (drop + 1) * 20,
        'two live subscriptions with records flowing',
      );
      relay.dropAll();
    }
    await producer.stop();
    await waitFor(() => observed.delivered(producer.puts), 'every record put across the drops');
    expectExactlyOnceInOrder(observed, producer.puts);
    expect(observed.lines(/Fan-out subscription on .* failed/).length).toBeGreaterThan(0);
  });

  it('retries SubscribeToShard refused by throttling, ResourceInUseException, 500s and resets, one refusal at a time (the 1 s pacing: fanout-reader.spec), and loses nothing', async () => {
    const stream = uniqueName('fanout-refused');
    await createStream(kinesis, stream, 1);
    const puts = await putRecords(kinesis, stream, records('r', 20));
    proxy = await startFaultProxy({ target: endpoints().kinesis });
    const calls: number[] = [];
    proxy.set(
      'SubscribeToShard',
      faults.respond(() => void calls.push(Date.now())),
    );
    proxy.set('SubscribeToShard', faults.reset(), { times: 1 });
    proxy.set('SubscribeToShard', faults.http500(), { times: 1 });
    proxy.set(
      'SubscribeToShard',
      faults.error(400, 'ResourceInUseException', 'Another active subscription exists for consumer on shard shardId-000000000000'),
      { times: 1 },
    );
    proxy.set('SubscribeToShard', faults.throttle(), { times: 2 });
    const observed = fanoutWorker(proxy.url, { appName: uniqueName('app'), streamName: stream });
    await observed.worker.start();
    await waitFor(() => observed.delivered(puts), 'every record after the refusals');
    expectExactlyOnceInOrder(observed, puts);
    expect(proxy.count('SubscribeToShard')).toBeGreaterThanOrEqual(6);
    expect(proxy.count('GetRecords')).toBe(0);
    // Each refusal was answered once and followed by one new subscription, in the order the rules were
    // set (the latest first). The one-second spacing itself is asserted on the reader's clock in
    // test/unit/engines/native/retrieval/fanout-reader.spec.ts: arrival times here depend on the machine.
    const refused = proxy.requests
      .filter((r) => r.operation === 'SubscribeToShard')
      .slice(0, 6)
      .map((r) => r.fault);
    expect(refused).toEqual(['throttle', 'throttle', 'error', 'http500', 'reset', 'respond']);
    expect(observed.lines(/Another subscription on this shard and consumer is still open/)).toHaveLength(1);
    expect(observed.lines(/one call per second per shard and consumer/)).toHaveLength(1);
    expect(calls.length).toBeGreaterThanOrEqual(1);
  });

  it('gives up a SubscribeToShard that never answers (blackholed) after retrieval.subscribeTimeoutMs, subscribes again with backoff, says so, and loses nothing', async () => {
    const stream = uniqueName('fanout-blackhole');
    await createStream(kinesis, stream, 1);
    const puts = await putRecords(kinesis, stream, records('b', 20));
    proxy = await startFaultProxy({ target: endpoints().kinesis });
    // The proxy reads each request and never answers: a blackholed or half-open connection.
    const blackhole = proxy.set('SubscribeToShard', faults.blackhole(), { times: 2 });
    const observed = fanoutWorker(proxy.url, {
      appName: uniqueName('app'),
      streamName: stream,
      retrieval: { mode: 'fanout', requestHandler: new NodeHttpHandler(), subscribeTimeoutMs: 5_000 },
    });
    await observed.worker.start();
    await waitFor(() => observed.delivered(puts), 'every record after two unanswered subscriptions', 30_000);
    expectExactlyOnceInOrder(observed, puts);
    expect(blackhole.applied).toBe(2);
    expect(
      proxy.requests
        .filter((r) => r.operation === 'SubscribeToShard')
        .map((r) => r.fault)
        .slice(0, 3),
    ).toEqual(['blackhole', 'blackhole', 'pass']);
    expect(proxy.count('GetRecords')).toBe(0);
    // Logged once (the same failure is repeated at most every 30 s), with what it means and the option.
    expect(observed.lines(/did not answer within 5000 ms \(retrieval\.subscribeTimeoutMs\).*blackholed or half-open/)).toHaveLength(1);
    // The shard was read by the lease's owner throughout: nothing was lost or handed over.
    expect(observed.worker.describe().shards.map((s) => s.shardId)).toEqual([puts[0].shardId]);
  });

  it('retries a throttled RegisterStreamConsumer and DescribeStreamConsumer, and refuses to start when registration is denied', async () => {
    const stream = uniqueName('fanout-register');
    await createStream(kinesis, stream, 1);
    proxy = await startFaultProxy({ target: endpoints().kinesis });
    // The SDK's own three attempts absorb the first throttles; the fourth reaches the registration's retry loop.
    proxy.set('RegisterStreamConsumer', faults.throttle(), { times: 4 });
    proxy.set('DescribeStreamConsumer', faults.http500(), { times: 1 });
    const appName = uniqueName('app');
    const observed = fanoutWorker(proxy.url, { appName, streamName: stream });
    await observed.worker.start();
    const puts = await putRecords(kinesis, stream, records('r', 5));
    await waitFor(() => observed.delivered(puts), 'the records');
    expect(proxy.count('RegisterStreamConsumer')).toBe(5);
    expect(observed.lines(/RegisterStreamConsumer for .* failed \(attempt 1\), retrying .*LimitExceededException/)).toHaveLength(1);

    proxy.set(
      'RegisterStreamConsumer',
      faults.error(400, 'AccessDeniedException', 'User is not authorized to perform: kinesis:RegisterStreamConsumer'),
    );
    const denied = fanoutWorker(proxy.url, { appName: uniqueName('other'), streamName: stream });
    const failure = await denied.worker.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(StreamConsumerError);
    expect(String((failure as Error).message)).toMatch(/RegisterStreamConsumer .*failed.*kinesis:RegisterStreamConsumer on the stream/);
  });

  it('ends the subscription when the lease is lost and when the worker stops: no connection stays open', async () => {
    const stream = uniqueName('fanout-close');
    await createStream(kinesis, stream, 2);
    relay = await TcpRelay.start(endpoints().kinesis);
    const appName = uniqueName('app');
    const observed = fanoutWorker(relay.url, { appName, streamName: stream });
    await observed.worker.start();
    await waitFor(() => relay!.openSubscriptions === 2, 'a subscription per shard');

    await writeLeaseOwner(dynamo, appName, 'shardId-000000000000', 'another-worker');
    await waitFor(() => observed.events.some((e) => e.type === 'leaseLost'), 'the lease lost');
    await waitFor(() => relay!.openSubscriptions === 1, "the lost shard's subscription closed");

    await observed.worker.stop();
    running.delete(observed);
    await waitFor(() => relay!.openSubscriptions === 0, 'no subscription left after stop()');
  });
  it('a checkpoint it cannot start from (AT_TIMESTAMP, no timestamp configured) keeps the lease and reports it, as polling does, instead of giving it up in a loop', async () => {
    const stream = uniqueName('fanout-unreadable');
    await createStream(kinesis, stream, 1);
    const appName = uniqueName('app');
    // A worker configured with a start timestamp leaves the lease at the checkpoint AT_TIMESTAMP (nothing read).
    const timed = fanoutWorker(endpoints().kinesis, { appName, streamName: stream, initialPosition: { timestamp: new Date() } });
    await timed.worker.start();
    await timed.worker.stop();
    running.delete(timed);
    expect((await readLeases(dynamo, appName)).map((l) => l.checkpoint)).toEqual(['AT_TIMESTAMP']);

    const observed = fanoutWorker(endpoints().kinesis, { appName, streamName: stream });
    await observed.worker.start();
    await waitFor(() => observed.worker.describe().shards[0]?.error !== undefined, 'the shard reports the problem');
    expect(observed.worker.describe().shards[0].error).toContain('has the checkpoint AT_TIMESTAMP');
    // Several renewals later the lease is still this worker's, never given up and taken again.
    const counter = (await readLeases(dynamo, appName))[0].counter;
    await waitFor(async () => (await readLeases(dynamo, appName))[0].counter >= counter + 3, 'three more renewals');
    const [lease] = await readLeases(dynamo, appName);
    expect(lease.owner).toBe(observed.worker.describe().workerId);
    expect(lease.checkpoint).toBe('AT_TIMESTAMP');
    expect(observed.events.filter((e) => e.type === 'leaseReleased' || e.type === 'leaseLost')).toEqual([]);
    expect(observed.events.filter((e) => e.type === 'leaseTaken')).toHaveLength(1);
    expect(observed.lines(/has the checkpoint AT_TIMESTAMP/)).toHaveLength(1);
  });
});
