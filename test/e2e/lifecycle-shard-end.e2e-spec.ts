import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { createStream, faults, putRecords, startFaultProxy, type ProxiedRequest } from '../../lib/testing';
import { dynamoClient, endpoints, kinesisClient, uniqueName } from '../support/aws';
import { readLeases } from '../support/lease-table';
import { records } from '../support/records';
import { listShards, splitShard } from '../support/reshard';
import { waitFor } from '../support/wait-for';
import { ObservedWorker, expectedData } from './lifecycle-harness';

const kinesis = kinesisClient();
const dynamo = dynamoClient();
const PARENT = 'shardId-000000000000';
let running: ObservedWorker | undefined;
afterEach(async () => {
  await running?.worker.stop();
  running = undefined;
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

const checkpointOf = async (appName: string, shardId: string) =>
  (await readLeases(dynamo, appName)).find((l) => l.shardId === shardId)?.checkpoint;

/** The lease-table writes of a shard's end, told apart by their body. */
const SHARD_END_WRITES = ['child lease', 'childShardIds', 'SHARD_END checkpoint'] as const;
function shardEndWrite(request: ProxiedRequest): (typeof SHARD_END_WRITES)[number] | undefined {
  const body = request.body as
    | { Item?: Record<string, AttributeValue>; UpdateExpression?: string; ExpressionAttributeValues?: Record<string, AttributeValue> }
    | undefined;
  if (request.operation === 'PutItem' && body?.Item?.parentShardId?.SS?.includes(PARENT)) return 'child lease';
  if (request.operation !== 'UpdateItem') return undefined;
  if (body?.UpdateExpression?.includes('childShardIds =')) return 'childShardIds';
  if (body?.ExpressionAttributeValues?.[':checkpoint']?.S === 'SHARD_END') return 'SHARD_END checkpoint';
  return undefined;
}

/** One shard with records, consumed by one worker, then split with more records put into the children. */
async function splitWhileConsumed(makeWorker: (appName: string, stream: string) => ObservedWorker, beforeSplit?: () => void) {
  const stream = uniqueName('shardend');
  const appName = uniqueName('app');
  await createStream(kinesis, stream, 1);
  const parentPuts = await putRecords(kinesis, stream, records('parent', 8));
  const observed = (running = makeWorker(appName, stream));
  await observed.worker.start();
  await waitFor(() => observed.delivered(parentPuts), 'the parent records');
  beforeSplit?.();
  await splitShard(kinesis, stream, PARENT);
  const children = (await listShards(kinesis, stream)).filter((s) => s.ParentShardId === PARENT).map((s) => s.ShardId!);
  const childPuts = await putRecords(kinesis, stream, records('child', 12));
  return { stream, appName, observed, parentPuts, childPuts, children };
}

describe('SHARD_END and shutdown(TERMINATE) (native engine)', () => {
  it('retries a shutdown(TERMINATE) that throws twice; SHARD_END is stored only after it returned, then the children deliver', async () => {
    const seenByFailedAttempts: (string | undefined)[] = [];
    let attempts = 0;
    let appName = '';
    const { observed, parentPuts, childPuts, children } = await splitWhileConsumed((app, stream) => {
      appName = app;
      return new ObservedWorker(
        { appName: app, streamName: stream, processingRetry: { maxAttempts: Infinity, baseDelayMs: 100, maxDelayMs: 200 } },
        {
          shutdown: async ({ reason, checkpointer }) => {
            if (reason !== 'TERMINATE') return;
            if (++attempts <= 2) {
              seenByFailedAttempts.push(await checkpointOf(appName, PARENT));
              throw new Error(`flush to the warehouse failed (${attempts})`);
            }
            await checkpointer!.checkpoint();
          },
        },
      );
    });
    await waitFor(() => observed.delivered(childPuts), 'every child record');

    expect(attempts).toBe(3);
    expect(seenByFailedAttempts).toHaveLength(2);
    expect(seenByFailedAttempts).not.toContain('SHARD_END');
    const terminateAttempts = observed.observed.filter((o) => o.shardId === PARENT && o.reason === 'TERMINATE');
    const childStarts = observed.observed.filter((o) => children.includes(o.shardId) && o.type === 'initialize');
    expect(Math.min(...childStarts.map((o) => o.at))).toBeGreaterThanOrEqual(terminateAttempts.at(-1)!.at);
    // SHARD_END, or already cleaned up since the children started.
    expect([undefined, 'SHARD_END']).toContain(await checkpointOf(appName, PARENT));
    expect(observed.firstDeliveries(PARENT)).toEqual(expectedData(parentPuts, PARENT));
    for (const child of children) expect(observed.firstDeliveries(child)).toEqual(expectedData(childPuts, child));
    expect(observed.lines(/shutdown\(TERMINATE\).*failed \(attempt \d\), retrying/)).toHaveLength(2);
  });

  it('never stores SHARD_END for a processor whose shutdown(TERMINATE) always throws (finite processingRetry): the children never start', async () => {
    let attempts = 0;
    const { observed, appName, children } = await splitWhileConsumed(
      (app, stream) =>
        new ObservedWorker(
          { appName: app, streamName: stream, processingRetry: { maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 100 } },
          {
            shutdown: ({ reason }) => {
              if (reason === 'TERMINATE') throw new Error(`shutdown bug (${++attempts})`);
            },
          },
        ),
    );
    // Two rounds of retries, the lease given up in between and taken again: TERMINATE runs again each time.
    await waitFor(() => attempts >= 4, 'TERMINATE retried by a second owner');
    expect(await checkpointOf(appName, PARENT)).not.toBe('SHARD_END');
    expect(observed.lines(/SHARD_END is not recorded/).length).toBeGreaterThanOrEqual(2);
    expect(observed.events).toContainEqual(expect.objectContaining({ type: 'leaseReleased', shardId: PARENT, reason: 'GAVE_UP' }));
    expect(observed.events.filter((e) => e.type === 'shardEnded')).toEqual([]);
    expect(observed.observed.filter((o) => children.includes(o.shardId) && o.type !== 'build')).toEqual([]);
    expect(observed.deliveries.filter((d) => children.includes(d.shardId))).toEqual([]);
    const leases = await readLeases(dynamo, appName);
    for (const child of children) expect(leases.find((l) => l.shardId === child)?.checkpoint).toBe('TRIM_HORIZON');
  });

  it('a processor factory that throws the first 3 times: retried with backoff, then every record is delivered without a restart', async () => {
    const stream = uniqueName('factory');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 1);
    const puts = await putRecords(kinesis, stream, records('f', 10));
    let builds = 0;
    const observed = (running = new ObservedWorker(
      { appName, streamName: stream, processingRetry: { maxAttempts: Infinity, baseDelayMs: 100, maxDelayMs: 200 } },
      {
        build: () => {
          if (++builds <= 3) throw new Error(`database pool not ready (${builds})`);
        },
      },
    ));
    await observed.worker.start();
    await waitFor(() => observed.delivered(puts), 'every record');
    expect(builds).toBe(4);
    expect(observed.firstDeliveries(PARENT)).toEqual(expectedData(puts, PARENT));
    expect(observed.orderViolations()).toEqual([]);
    expect(observed.lines(/the processor factory on .*failed \(attempt \d\)/)).toHaveLength(3);
    await waitFor(async () => (await checkpointOf(appName, PARENT)) === puts.at(-1)!.sequenceNumber, 'the checkpoint at the last record');
  });
  it('DynamoDB failing (HTTP 500 and throttling) while the shard ends: the child leases, childShardIds and SHARD_END are retried, and once DynamoDB answers again the children deliver, without a restart', async () => {
    const proxy = await startFaultProxy({ target: endpoints().dynamodb });
    try {
      let appName = '';
      let faultsOn = false;
      const { observed, parentPuts, childPuts, children } = await splitWhileConsumed(
        (app, stream) => {
          appName = app;
          // The lease outlives the outage (failover 10 s), so what is tested is the SHARD_END path, not a failover.
          return new ObservedWorker({
            appName: app,
            streamName: stream,
            failoverTimeMs: 10_000,
            dynamodb: { endpoint: proxy.url, maxAttempts: 1 },
          });
        },
        () => {
          // From just before the split, DynamoDB fails every write and read of the lease table for 5 s:
          // the child-lease creation, the parent lookups, childShardIds and SHARD_END all meet it.
          faultsOn = true;
          // Lowest precedence: once no fault answers them, the shard-end writes are logged under their own name.
          for (const write of SHARD_END_WRITES) proxy.set((r) => shardEndWrite(r) === write, { ...faults.pass(), name: `pass ${write}` });
          proxy.set(['PutItem', 'UpdateItem', 'GetItem'], 'http500', { forMs: 5_000 });
          proxy.set(['PutItem', 'UpdateItem', 'GetItem'], 'throttle', { forMs: 5_000, probability: 0.5 });
          // Whenever they come (the window above may be over by then), the first of each shard-end write fails.
          for (const write of SHARD_END_WRITES)
            proxy.set((r) => shardEndWrite(r) === write, { ...faults.http500(), name: `http500 ${write}` }, { times: 1 });
        },
      );
      await waitFor(() => observed.delivered(childPuts), 'every child record after the outage', 60_000);
      expect(faultsOn).toBe(true);
      expect(proxy.requests.filter((r) => r.fault === 'http500' || r.fault === 'throttle').length).toBeGreaterThan(0);
      // Each shard-end write was itself answered 500, then written (the proxy log names them).
      for (const write of SHARD_END_WRITES) {
        const log = proxy.requests.filter((r) => r.fault === `http500 ${write}` || r.fault === `pass ${write}`);
        expect({ write, first: log.at(0) }).toMatchObject({ write, first: { fault: `http500 ${write}`, status: 500 } });
        // A later one succeeded (a child lease also meets 400s: the conditional put of a lease that exists by then).
        expect({ write, succeeded: log.some((r) => r.fault === `pass ${write}` && r.status === 200) }).toEqual({ write, succeeded: true });
      }
      expect(observed.firstDeliveries(PARENT)).toEqual(expectedData(parentPuts, PARENT));
      for (const child of children) expect(observed.firstDeliveries(child)).toEqual(expectedData(childPuts, child));
      expect([undefined, 'SHARD_END']).toContain(await checkpointOf(appName, PARENT));
      expect(observed.worker.describe().running).toBe(true);
    } finally {
      await running?.worker.stop();
      running = undefined;
      await proxy.close();
    }
  });
});
