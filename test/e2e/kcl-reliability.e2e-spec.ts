/* eslint-disable @typescript-eslint/require-await -- processors that answer at once */
import { createStream, putRecords } from '../../lib/testing';
import { createWorker, type KinesisRecordProcessor, type KinesisWorker, type StreamWorkerOptions, type WorkerEvent } from '../../lib';
import { KclWorker } from '../../lib/engines/kcl/kcl-worker';
import { dynamoClient, kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import { expectNoOrphans, processesMentioning, traceKclWorker } from '../support/kcl-processes';
import { readLeases } from '../support/lease-table';
import { FAST } from '../support/recording-processor';
import { records } from '../support/records';
import { listShards, splitShard } from '../support/reshard';
import { waitFor } from '../support/wait-for';

/** The kcl engine with the real MultiLangDaemon: a failing TERMINATE, stop during start, a hung processRecords. */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const workers = new Set<KinesisWorker>();
afterEach(async () => {
  await Promise.all([...workers].map((worker) => worker.stop().catch(() => undefined)));
  workers.clear();
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

function kclWorker(
  options: Partial<StreamWorkerOptions> & { appName: string; streamName: string },
  factory: Parameters<typeof createWorker>[1],
): KclWorker {
  const worker = createWorker({ ...workerClientOptions(), ...FAST, engine: 'kcl', ...options }, factory) as KclWorker;
  workers.add(worker);
  return worker;
}

async function stopAndCheck(worker: KclWorker): Promise<void> {
  const trace = traceKclWorker(worker);
  await worker.stop();
  expectNoOrphans(trace);
}

const checkpointOf = async (table: string, shardId: string) =>
  (await readLeases(dynamo, table)).find((l) => l.shardId === shardId)?.checkpoint;

describe('the kcl engine at SHARD_END when shutdown(TERMINATE) throws (real MultiLangDaemon)', () => {
  async function splitAfterDelivery(stream: string, delivered: () => boolean): Promise<{ parent: string; children: string[] }> {
    await waitFor(delivered, 'the records put before the split');
    const [parent] = await listShards(kinesis, stream);
    await splitShard(kinesis, stream, parent.ShardId!);
    const children = (await listShards(kinesis, stream)).filter((s) => s.ParentShardId === parent.ShardId).map((s) => s.ShardId!);
    return { parent: parent.ShardId!, children };
  }

  it('throws twice, then checkpoints and returns: SHARD_END is stored only after that call, and the children deliver', async () => {
    const stream = uniqueName('terminate');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 1);
    await putRecords(kinesis, stream, records('before', 5));
    const delivered: { shardId: string; data: string }[] = [];
    const seenAtFailure: (string | undefined)[] = [];
    const seenBeforeSuccess: (string | undefined)[] = [];
    let attempts = 0;
    const events: WorkerEvent[] = [];
    const onEvent = (event: WorkerEvent) => void events.push(event);
    const worker = kclWorker(
      { appName, streamName: stream, onEvent, processingRetry: { baseDelayMs: 300, maxDelayMs: 300 } },
      ({ shardId }): KinesisRecordProcessor => ({
        processRecords: async ({ records: batch, checkpointer }) => {
          delivered.push(...batch.map((r) => ({ shardId, data: r.data.toString() })));
          await checkpointer.checkpoint();
        },
        shutdown: async ({ reason, checkpointer }) => {
          if (reason !== 'TERMINATE') return;
          if (++attempts <= 2) {
            seenAtFailure.push(await checkpointOf(appName, shardId));
            throw new Error(`TERMINATE attempt ${attempts} fails`);
          }
          // Recorded, asserted in the test body: an expect failing here would be a processor error the engine retries.
          seenBeforeSuccess.push(await checkpointOf(appName, shardId));
          await checkpointer!.checkpoint();
        },
      }),
    );
    await worker.start();
    const { parent, children } = await splitAfterDelivery(stream, () => delivered.length >= 5);
    await waitFor(async () => (await checkpointOf(appName, parent)) === 'SHARD_END', 'SHARD_END on the parent');
    expect(attempts).toBe(3);
    expect(seenAtFailure).toHaveLength(2);
    expect(seenAtFailure).not.toContain('SHARD_END');
    expect(seenBeforeSuccess).toHaveLength(1);
    expect(seenBeforeSuccess).not.toContain('SHARD_END');

    const after = await putRecords(kinesis, stream, records('after', 10));
    await waitFor(() => after.every((p) => delivered.some((d) => d.data === p.data.toString())), 'the records put on the children');
    expect(new Set(delivered.filter((d) => d.data.startsWith('after')).map((d) => d.shardId))).toEqual(new Set(children));
    await stopAndCheck(worker);

    // The lease events the kcl engine reports: the daemon's assignments, the parent's end and release,
    // and at the graceful stop the release of the children only (the parent's was reported at its end).
    const of = (shardId: string) =>
      events.filter((e) => e.shardId === shardId).map((e) => `${e.type}:${'how' in e ? e.how : 'reason' in e ? e.reason : ''}`);
    // The two throwing shutdown calls are reported as processorFailed events, then the shard ends.
    expect(of(parent)).toEqual(['leaseTaken:assigned', 'processorFailed:', 'processorFailed:', 'shardEnded:', 'leaseReleased:SHARD_END']);
    const ended = events.find((e) => e.type === 'shardEnded') as Extract<WorkerEvent, { type: 'shardEnded' }>;
    expect([...ended.childShardIds].sort()).toEqual([...children].sort());
    for (const child of children) expect(of(child)).toEqual(['leaseTaken:assigned', 'leaseReleased:REQUESTED']);
  });

  it('always throws, with a finite processingRetry: SHARD_END is never stored and the children never start', async () => {
    const stream = uniqueName('terminate-fails');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 1);
    await putRecords(kinesis, stream, records('before', 5));
    const delivered: { shardId: string; data: string }[] = [];
    const terminates: string[] = [];
    const logger = new CapturingLogger();
    const worker = kclWorker(
      { appName, streamName: stream, logger, processingRetry: { maxAttempts: 2, baseDelayMs: 100, maxDelayMs: 100 } },
      ({ shardId }): KinesisRecordProcessor => ({
        processRecords: async ({ records: batch, checkpointer }) => {
          delivered.push(...batch.map((r) => ({ shardId, data: r.data.toString() })));
          await checkpointer.checkpoint();
        },
        shutdown: ({ reason }) => {
          if (reason !== 'TERMINATE') return;
          terminates.push(shardId);
          throw new Error('TERMINATE always fails');
        },
      }),
    );
    await worker.start();
    const { parent, children } = await splitAfterDelivery(stream, () => delivered.length >= 5);
    await putRecords(kinesis, stream, records('after', 6));
    // The shard is given up after 2 attempts, taken again, and TERMINATE runs again: it is not a one-off.
    await waitFor(() => terminates.length >= 4, 'TERMINATE attempted again after the lease was given up', 90_000);
    expect(logger.lines.some((l) => l.startsWith('ERROR') && l.includes(`shutdown(TERMINATE) on ${stream}/${parent} failed 2 times`))).toBe(
      true,
    );
    expect(await checkpointOf(appName, parent)).not.toBe('SHARD_END');
    expect(delivered.filter((d) => children.includes(d.shardId))).toEqual([]);
    await stopAndCheck(worker);
    expect(await checkpointOf(appName, parent)).not.toBe('SHARD_END');
  });
});

describe('stopping the kcl worker', () => {
  let stream: string;
  beforeAll(async () => {
    stream = uniqueName('kcl-stop');
    await createStream(kinesis, stream, 2);
    await putRecords(kinesis, stream, records('r', 10));
  });

  it('stop() during start(): the JVM that was starting is ended, start() resolves with nothing running, a second stop() is the same stop', async () => {
    const appName = uniqueName('app');
    const worker = kclWorker({ appName, streamName: stream }, () => ({ processRecords: async () => undefined }));
    const starting = worker.start();
    await waitFor(() => worker.daemonPid !== undefined, 'the JVM to be spawned');
    const trace = traceKclWorker(worker);
    const first = worker.stop();
    const second = worker.stop();
    expect(second).toBe(first);
    await Promise.all([starting, first]);
    expect(worker.describe().running).toBe(false);
    expectNoOrphans(trace);
    expect((await readLeases(dynamo, appName)).filter((l) => l.owner === worker.workerId)).toEqual([]);
    await expect(worker.start()).rejects.toThrow(/was stopped; create a new worker/);
  });

  it('stop() before start() got far: nothing is spawned', async () => {
    const worker = kclWorker({ appName: uniqueName('app'), streamName: stream }, () => ({ processRecords: async () => undefined }));
    const starting = worker.start();
    await worker.stop();
    await starting;
    expect(worker.daemonPid).toBeUndefined();
    expect(worker.runDirectory).toBeUndefined();
  });

  it('a processRecords that never returns: stop() gives up after shutdownTimeoutMs, names the shard, ends JVM and relays, releases the leases', async () => {
    const appName = uniqueName('app');
    const logger = new CapturingLogger();
    const hung: string[] = [];
    const worker = kclWorker({ appName, streamName: stream, logger, shutdownTimeoutMs: 3_000 }, ({ shardId }) => ({
      processRecords: () => {
        hung.push(shardId);
        return new Promise<void>(() => undefined);
      },
    }));
    await worker.start();
    await waitFor(() => hung.length === 2, 'both shards stuck in processRecords');
    const trace = traceKclWorker(worker);
    expect(processesMentioning(trace.runDirs[0]).filter((p) => p.args.includes('relay.js'))).toHaveLength(2);
    await worker.stop();
    expectNoOrphans(trace);
    const gaveUp = logger.lines.filter((l) => l.includes('Shards that did not finish'));
    expect(gaveUp.length).toBeGreaterThan(0);
    for (const shardId of hung) expect(gaveUp.join('\n')).toContain(`${shardId} (processRecords)`);
    expect((await readLeases(dynamo, appName)).filter((l) => l.owner === worker.workerId)).toEqual([]);
  });
});
