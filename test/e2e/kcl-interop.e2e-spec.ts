import type { TestingModule } from '@nestjs/testing';
import { createWorker, type EngineName, type KinesisRecordProcessor, type KinesisWorker } from '../../lib';
import { createStream, putRecords, type PutResult } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, uniqueName, workerClientOptions } from '../support/aws';
import { KclWorker } from '../../lib/engines/kcl/kcl-worker';
import { closeAndCheck, expectNoOrphans, prepareSharedLeaseTable, testedKclVersion, traceKclWorker } from '../support/kcl-processes';
import { isKcl3 } from '../../lib/engines/kcl/kcl-lines';
import { readLeases, ownerCounts } from '../support/lease-table';
import { BackgroundProducer } from '../support/producer';
import { FAST, Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';
import { records } from '../support/records';
import { listShards, splitShard } from '../support/reshard';

/**
 * The two engines on one application and one lease table. The Java KCL reads what the native engine
 * wrote and the other way round: checkpoints, owners, parent and child leases after a split.
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const open = new Set<TestingModule>();
afterEach(async () => {
  await BackgroundProducer.stopAll();
  await Promise.all([...open].map((app) => closeAndCheck(app).catch(() => undefined)));
  open.clear();
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

/** A new application for both engines (on a 3.x line its lease table is made ready for dynalite). */
async function sharedApp(): Promise<string> {
  const appName = uniqueName('app');
  await prepareSharedLeaseTable(dynamo, appName);
  return appName;
}

async function start(engine: EngineName, recorder: Recorder, stream: string, appName: string) {
  const app = await startApp(recorder, recordingProcessor(stream), { appName, engine });
  open.add(app);
  return app;
}

async function close(app: TestingModule) {
  open.delete(app);
  await closeAndCheck(app);
}

/** The last sequence number put on each shard. */
const lastPerShard = (puts: readonly PutResult[]) => new Map(puts.map((p) => [p.shardId, p.sequenceNumber]));

/** The attributes of a lease row the Java KCL leaves; 3.x adds the owner's measured throughput. */
const LEASE_KEYS = [
  'checkpoint',
  'checkpointSubSequenceNumber',
  'endingHashKey',
  'leaseCounter',
  'leaseKey',
  'ownerSwitchesSinceCheckpoint',
  'startingHashKey',
  ...(isKcl3(testedKclVersion()) ? ['throughputKBps'] : []),
];

describe('one lease table, both engines (kinesis-local + dynalite)', () => {
  it('native -> kcl: the Java KCL continues from the native checkpoints without redelivering a checkpointed record', async () => {
    const stream = uniqueName('interop');
    const appName = await sharedApp();
    await createStream(kinesis, stream, 3);
    const first = await putRecords(kinesis, stream, records('first', 45));

    const native = new Recorder();
    const nativeApp = await start('native', native, stream, appName);
    await waitFor(() => native.deliveries.length >= 45, '45 records on the native engine');
    await waitFor(async () => {
      const rows = await scanRaw(dynamo, appName);
      return rows.length === 3 && rows.every((row) => row.checkpoint?.S === lastPerShard(first).get(row.leaseKey.S!));
    }, 'native checkpoints at the last record of each shard');
    await close(nativeApp);
    const byNative = await scanRaw(dynamo, appName);
    expect(byNative.every((row) => row.leaseOwner === undefined)).toBe(true);

    const second = await putRecords(kinesis, stream, records('second', 30));
    const java = new Recorder();
    const kclApp = await start('kcl', java, stream, appName);
    await waitFor(() => java.deliveries.length >= 30, '30 new records on the kcl engine');
    // A little longer: nothing else may arrive.
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    expect(java.deliveries.filter((d) => d.data.startsWith('first'))).toEqual([]);
    expect(java.deliveries.map((d) => d.data).sort()).toEqual(second.map((p) => p.data.toString()).sort());
    const javaInits = java.events.filter((e) => e.type === 'initialize');
    expect(javaInits.length).toBeGreaterThan(0);
    for (const init of javaInits) {
      expect(init.checkpoint).toBe(lastPerShard(first).get(init.shardId));
    }
    // The first record the Java KCL delivers on each shard is the one right after the native checkpoint.
    for (const [shardId, seq] of lastPerShard(second)) {
      const expectedFirst = second.find((p) => p.shardId === shardId)!;
      expect(java.deliveries.find((d) => d.shardId === shardId)?.sequenceNumber).toBe(expectedFirst.sequenceNumber);
      // ... and the last one is the last record put there: the shard was read to its end.
      expect(java.deliveries.filter((d) => d.shardId === shardId).at(-1)?.sequenceNumber).toBe(seq);
    }
    await waitFor(async () => {
      const rows = await scanRaw(dynamo, appName);
      return rows.every((row) => row.checkpoint?.S === lastPerShard(second).get(row.leaseKey.S!));
    }, 'the Java KCL checkpoints at the last record of each shard');
    await close(kclApp);

    // Rows as the Java KCL leaves them: the KCL 2.x schema (plus throughputKBps on 3.x), owners released by the engine.
    for (const row of await scanRaw(dynamo, appName)) {
      expect(Object.keys(row).sort()).toEqual(LEASE_KEYS);
      expect(row.ownerSwitchesSinceCheckpoint.N).toBe('0');
      expect(row.checkpointSubSequenceNumber.N).toBe('0');
    }
  });

  it('kcl -> native, across a split: the native engine continues from the Java KCL checkpoints and from the child leases the Java KCL created', async () => {
    const stream = uniqueName('interop-split');
    const appName = await sharedApp();
    await createStream(kinesis, stream, 1);
    const before = await putRecords(kinesis, stream, records('before', 20));

    const java = new Recorder();
    const kclApp = await start('kcl', java, stream, appName);
    await waitFor(() => java.deliveries.length >= 20, '20 records on the kcl engine');
    const [parent] = await listShards(kinesis, stream);
    await splitShard(kinesis, stream, parent.ShardId!);
    const after = await putRecords(kinesis, stream, records('after', 30));
    const children = [...new Set(after.map((p) => p.shardId))].sort();
    expect(children).toHaveLength(2);
    await waitFor(() => java.deliveries.length >= 50, 'the children records on the kcl engine', 90_000);

    // The parent ended with TERMINATE and SHARD_END, the children were processed after it, in order.
    const terminate = java.events.find((e) => e.type === 'shutdown' && e.shardId === parent.ShardId);
    expect(terminate).toMatchObject({ reason: 'TERMINATE', hadCheckpointer: true });
    expect(java.byShard().get(parent.ShardId!)).toEqual(before.map((p) => p.data.toString()));
    for (const child of children) {
      expect(java.byShard().get(child)).toEqual(after.filter((p) => p.shardId === child).map((p) => p.data.toString()));
      const childInit = java.events.findIndex((e) => e.type === 'initialize' && e.shardId === child);
      expect(childInit).toBeGreaterThan(java.events.indexOf(terminate!));
    }
    await waitFor(async () => {
      const rows = await scanRaw(dynamo, appName);
      return children.every((child) => rows.find((row) => row.leaseKey.S === child)?.checkpoint?.S === lastPerShard(after).get(child));
    }, 'the Java KCL checkpoints on the children');
    await close(kclApp);

    // The lease rows the Java KCL wrote for the split.
    const rows = await scanRaw(dynamo, appName);
    const parentRow = rows.find((row) => row.leaseKey.S === parent.ShardId);
    // The Java KCL may have cleaned the finished parent up already (cleanupLeasesUponShardCompletion).
    if (parentRow) {
      expect(parentRow.checkpoint.S).toBe('SHARD_END');
      expect(parentRow.childShardIds?.SS?.sort()).toEqual(children);
    }
    for (const child of children) {
      const row = rows.find((r) => r.leaseKey.S === child)!;
      expect(row.parentShardId.SS).toEqual([parent.ShardId]);
      expect(row.leaseOwner).toBeUndefined();
    }

    const later = await putRecords(kinesis, stream, records('later', 20));
    const native = new Recorder();
    const nativeApp = await start('native', native, stream, appName);
    await waitFor(() => native.deliveries.length >= 20, '20 new records on the native engine');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(native.deliveries.map((d) => d.data).sort()).toEqual(later.map((p) => p.data.toString()).sort());
    for (const child of children) {
      const init = native.events.find((e) => e.type === 'initialize' && e.shardId === child);
      expect(init?.checkpoint).toBe(lastPerShard(after).get(child));
    }
    expect(native.events.some((e) => e.type === 'initialize' && e.shardId === parent.ShardId)).toBe(false);
    await close(nativeApp);
  });

  describe('two workers, one per engine, on one application', () => {
    interface Batch {
      readonly worker: EngineName;
      readonly shardId: string;
      readonly start: number;
      readonly end: number;
      readonly seqs: readonly string[];
    }

    function runPair(stream: string, appName: string, extra: { maxLeasesForWorker?: number }) {
      const batches: Batch[] = [];
      const processor =
        (worker: EngineName) =>
        ({ shardId }: { shardId: string }): KinesisRecordProcessor => ({
          processRecords: async ({ records, checkpointer }) => {
            const start = Date.now();
            // A batch takes a while, so that two owners at once would show as overlapping batches.
            await new Promise((resolve) => setTimeout(resolve, 50));
            batches.push({ worker, shardId, start, end: Date.now(), seqs: records.map((r) => r.sequenceNumber) });
            await checkpointer.checkpoint();
          },
          shutdown: async ({ reason, checkpointer }) => {
            if (reason === 'TERMINATE') await checkpointer!.checkpoint();
          },
        });
      const quiet = { log() {}, warn() {}, error: (m: string) => console.error(m) };
      const base = { ...workerClientOptions(), ...FAST, appName, streamName: stream, logger: quiet, ...extra };
      const workers: KinesisWorker[] = [];
      const native = createWorker({ ...base, engine: 'native', workerId: 'native-worker' }, processor('native'));
      workers.push(native);
      const java = createWorker({ ...base, engine: 'kcl', workerId: 'kcl-worker' }, processor('kcl'));
      workers.push(java);
      const stopAll = async () => {
        const trace = traceKclWorker(java as KclWorker);
        await Promise.all(workers.map((w) => w.stop()));
        expectNoOrphans(trace);
      };
      return { batches, native, java, stopAll };
    }

    /** For each shard, the batches of the two workers never overlap in time. */
    function overlaps(batches: readonly Batch[]): string[] {
      const found: string[] = [];
      for (const a of batches) {
        for (const b of batches) {
          if (a.worker === 'native' && b.worker === 'kcl' && a.shardId === b.shardId && a.start < b.end && b.start < a.end) {
            found.push(`${a.shardId}: native ${a.start}-${a.end} and kcl ${b.start}-${b.end}`);
          }
        }
      }
      return found;
    }

    function expectEveryRecordDelivered(producer: BackgroundProducer, batches: readonly Batch[]) {
      const delivered = new Set(batches.flatMap((b) => b.seqs));
      expect(producer.puts.filter((p) => !delivered.has(p.sequenceNumber)).map((p) => `${p.shardId}/${p.data.toString()}`)).toEqual([]);
    }

    it('split 4 shards 2/2 (maxLeasesForWorker 2): each shard is processed by one worker only, every record once', async () => {
      const stream = uniqueName('pair');
      const appName = await sharedApp();
      await createStream(kinesis, stream, 4);
      const producer = new BackgroundProducer(kinesis, stream, 8, 100);
      producer.start();
      const pair = runPair(stream, appName, { maxLeasesForWorker: 2 });
      try {
        await pair.native.start();
        await waitFor(
          async () => ownerCounts(await readLeases(dynamo, appName)).byOwner.get('native-worker') === 2,
          'the native worker to take 2',
        );
        await pair.java.start();
        await waitFor(async () => {
          const { byOwner, unowned } = ownerCounts(await readLeases(dynamo, appName));
          return unowned === 0 && byOwner.get('native-worker') === 2 && byOwner.get('kcl-worker') === 2;
        }, '2/2 across the engines');
        const owners = new Map((await readLeases(dynamo, appName)).map((l) => [l.shardId, l.owner]));
        await waitFor(
          () => new Set(pair.batches.filter((b) => b.worker === 'kcl').map((b) => b.shardId)).size === 2,
          'the kcl worker to process its 2 shards',
        );
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        await producer.stop();
        await waitFor(() => {
          const delivered = new Set(pair.batches.flatMap((b) => b.seqs));
          return producer.puts.every((p) => delivered.has(p.sequenceNumber));
        }, 'every record');
        expectEveryRecordDelivered(producer, pair.batches);
        // One worker per shard, from the first batch to the last: the split never moved.
        for (const batch of pair.batches)
          expect(`${batch.shardId} ${batch.worker}-worker`).toBe(`${batch.shardId} ${owners.get(batch.shardId)}`);
        const seqs = pair.batches.flatMap((b) => b.seqs);
        expect(seqs.length).toBe(new Set(seqs).size);
        expect(overlaps(pair.batches)).toEqual([]);
        expect(
          pair.java
            .describe()
            .shards.map((s) => s.shardId)
            .sort(),
        ).toEqual(
          [...owners]
            .filter(([, owner]) => owner === 'kcl-worker')
            .map(([shard]) => shard)
            .sort(),
        );
      } finally {
        await pair.stopAll();
      }
    });

    it('balance by stealing: the kcl worker joins a native worker holding all 4 shards and steals its share; no shard is processed by both at once', async () => {
      const stream = uniqueName('pair-steal');
      const appName = await sharedApp();
      await createStream(kinesis, stream, 4);
      const producer = new BackgroundProducer(kinesis, stream, 8, 100);
      producer.start();
      const pair = runPair(stream, appName, {});
      try {
        await pair.native.start();
        await waitFor(
          async () => ownerCounts(await readLeases(dynamo, appName)).byOwner.get('native-worker') === 4,
          'the native worker to own all 4',
        );
        const joinedAt = Date.now();
        await pair.java.start();
        await waitFor(async () => ownerCounts(await readLeases(dynamo, appName)).counts.join() === '2,2', '2/2 by stealing', 60_000);
        const balancedAt = Date.now();
        const stolen = (await readLeases(dynamo, appName)).filter((l) => l.owner === 'kcl-worker').map((l) => l.shardId);
        await waitFor(
          () => stolen.every((shard) => pair.batches.some((b) => b.worker === 'kcl' && b.shardId === shard)),
          'the kcl worker to process what it stole',
        );
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        await producer.stop();
        await waitFor(() => {
          const delivered = new Set(pair.batches.flatMap((b) => b.seqs));
          return producer.puts.every((p) => delivered.has(p.sequenceNumber));
        }, 'every record');
        expectEveryRecordDelivered(producer, pair.batches);
        expect(overlaps(pair.batches)).toEqual([]);
        // The native worker handed each stolen shard over: its last batch there ended before the Java KCL's first began.
        for (const shard of stolen) {
          const lastNative = pair.batches.filter((b) => b.worker === 'native' && b.shardId === shard).at(-1)!;
          const firstKcl = pair.batches.find((b) => b.worker === 'kcl' && b.shardId === shard)!;
          expect(lastNative.end).toBeLessThanOrEqual(firstKcl.start);
          console.log(`steal of ${shard}: native's last batch ended ${firstKcl.start - lastNative.end} ms before the kcl worker's first`);
        }
        console.log(`balanced 2/2 ${balancedAt - joinedAt} ms after the kcl worker started`);
      } finally {
        await pair.stopAll();
      }
    });
  });
});
