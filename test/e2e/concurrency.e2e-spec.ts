import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DescribeTableCommand, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PutRecordCommand } from '@aws-sdk/client-kinesis';
import {
  createWorker,
  type ExtendedSequenceNumber,
  type KinesisPerRecordProcessor,
  type KinesisRecord,
  type KinesisWorker,
  type RecordContext,
} from '../../lib';
import { compareExtended, isSequenceNumber, positionOf } from '../../lib/core/sequence-number';
import { LeaseTable } from '../../lib/leases/lease-table';
import { InFlightBudget } from '../../lib/engines/native/concurrency/in-flight-budget';
import { createStream, putRecords } from '../../lib/testing';
import { dynamoClient, kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import { nodeScriptArgs } from '../support/compiled-scripts';
import { KeyOrderWatch } from '../support/key-order';
import { waitFor } from '../support/wait-for';
import { splitShard } from '../support/reshard';
import { writeLeaseOwner } from './fanout-support/steal-lease';
import type { PerRecordWorkerConfig, PerRecordWorkerEvent } from '../support/per-record-worker-process';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const agg = require('aws-kinesis-agg') as {
  aggregate(
    records: { partitionKey: string; data: Buffer }[],
    onEncoded: (encoded: { partitionKey: string; data: Buffer }, done: (error?: Error) => void) => void,
    afterAll: () => void,
    onError: (error: Error) => void,
  ): void;
};

const kinesis = kinesisClient();
const dynamo = dynamoClient();
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

const FAST = {
  idleTimeBetweenReadsMs: 50,
  failoverTimeMs: 3_000,
  leaseTakerIntervalMs: 300,
  shardSyncIntervalMs: 1_000,
  parentShardPollIntervalMs: 200,
};

/** A seeded generator (mulberry32), so that a run's latencies can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const keyOf = (position: ExtendedSequenceNumber) => `${position.sequenceNumber}/${position.subSequenceNumber}`;

/** One KPL-aggregated record of `users` (their own partition keys); returns each user record's position and shard. */
async function putAggregate(stream: string, users: { partitionKey: string; data: string }[]) {
  const encoded: { partitionKey: string; data: Buffer }[] = [];
  await new Promise<void>((resolve, reject) =>
    agg.aggregate(
      users.map((u) => ({ partitionKey: u.partitionKey, data: Buffer.from(u.data) })),
      (record, done) => (encoded.push(record), done()),
      resolve,
      reject,
    ),
  );
  if (encoded.length !== 1) throw new Error(`expected one aggregated record, got ${encoded.length}`);
  const out = await kinesis.send(
    new PutRecordCommand({ StreamName: stream, PartitionKey: encoded[0].partitionKey, Data: encoded[0].data }),
  );
  return users.map((_, sub) => ({ shardId: out.ShardId!, position: { sequenceNumber: out.SequenceNumber!, subSequenceNumber: sub } }));
}

/** A prototype method as it is before a spy replaces it, to call through with `.call(this, ...)`. */
function original<F extends (...args: never[]) => unknown>(prototype: object, name: string): F {
  return Object.getOwnPropertyDescriptor(prototype, name)!.value as F;
}

async function storedCheckpoint(table: string, shardId: string): Promise<ExtendedSequenceNumber | undefined> {
  const out = await dynamo.send(new GetItemCommand({ TableName: table, Key: { leaseKey: { S: shardId } }, ConsistentRead: true }));
  const sequenceNumber = out.Item?.checkpoint?.S;
  if (!sequenceNumber) return undefined;
  return { sequenceNumber, subSequenceNumber: Number(out.Item?.checkpointSubSequenceNumber?.N ?? 0) };
}

describe('concurrency: processRecord with several records of a shard at once', () => {
  let worker: KinesisWorker | undefined;
  afterEach(async () => {
    jest.restoreAllMocks();
    await worker?.stop();
    worker = undefined;
  });

  it('keeps the order per partition key on every record, delivers every record, and no stored checkpoint passes an unfinished record', async () => {
    const stream = uniqueName('conc');
    const appName = uniqueName('conc-app');
    await createStream(kinesis, stream, 2);
    const plain = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 600 }, (_, i) => ({ partitionKey: `key-${i % 30}`, data: `plain-${i}` })),
    );
    const aggregated = (
      await Promise.all(
        [0, 1, 2].map((a) =>
          putAggregate(
            stream,
            Array.from({ length: 10 }, (_, i) => ({ partitionKey: `agg-${i % 4}`, data: `agg-${a}-${i}` })),
          ),
        ),
      )
    ).flat();
    const expected = [...plain.map((put) => ({ shardId: put.shardId, position: positionOf(put) })), ...aggregated];

    const finished = new Set<string>();
    const watch = new KeyOrderWatch();
    const next = random(22);
    const violations: string[] = [];
    let checked = 0;
    // What became of each checkpoint write, so that a run with nothing checked says why.
    const writes: string[] = [];
    // Every checkpoint write on the real table: what had finished before the write, against what the table then holds.
    const write = original<LeaseTable['updateCheckpoint']>(LeaseTable.prototype, 'updateCheckpoint');
    jest.spyOn(LeaseTable.prototype, 'updateCheckpoint').mockImplementation(async function (this: LeaseTable, lease, checkpoint) {
      const finishedBefore = new Set(finished);
      const result = await write.call(this, lease, checkpoint).catch((error: unknown) => {
        writes.push(`${lease.leaseKey}: write failed: ${String(error)}`);
        throw error;
      });
      const stored = await storedCheckpoint(appName, lease.leaseKey);
      writes.push(`${lease.leaseKey}: wrote ${JSON.stringify(checkpoint)}, table holds ${JSON.stringify(stored)}`);
      if (stored && isSequenceNumber(stored.sequenceNumber)) {
        for (const record of expected) {
          if (
            record.shardId === lease.leaseKey &&
            compareExtended(record.position, stored) <= 0 &&
            !finishedBefore.has(keyOf(record.position))
          )
            violations.push(`${lease.leaseKey} checkpoint ${keyOf(stored)} passes unfinished ${keyOf(record.position)}`);
        }
        checked++;
      }
      return result;
    });

    const processor = (): KinesisPerRecordProcessor => ({
      processRecord: async (record: KinesisRecord) => {
        watch.started(record);
        // Random latency, most of it short: records of different keys overtake each other all the time.
        await new Promise((resolve) => setTimeout(resolve, Math.floor(next() * next() * 25)));
        finished.add(keyOf(positionOf(record)));
        watch.finished(record);
      },
    });
    worker = createWorker(
      {
        ...workerClientOptions(),
        ...FAST,
        appName,
        streamName: stream,
        concurrency: { maxInFlightPerShard: 16 },
        logger: new CapturingLogger(),
      },
      processor,
    );
    await worker.start();
    await waitFor(() => finished.size === expected.length, `all ${expected.length} records finished`);
    // Each shard's checkpoint reaches its last record once all of it finished.
    for (const shardId of new Set(expected.map((e) => e.shardId))) {
      const last = expected.filter((e) => e.shardId === shardId).reduce((a, b) => (compareExtended(a.position, b.position) >= 0 ? a : b));
      await waitFor(async () => {
        const stored = await storedCheckpoint(appName, shardId);
        return stored !== undefined && keyOf(stored) === keyOf(last.position);
      }, `the checkpoint of ${shardId} at its last record`);
    }
    expect(watch.violations).toEqual([]);
    expect(violations).toEqual([]);
    expect({ checked: checked > 0, writes }).toMatchObject({ checked: true });
    expect([...finished].sort()).toEqual(expected.map((e) => keyOf(e.position)).sort());
  });

  it('a stop waits for the records in flight, then checkpoints them before shutdown(REQUESTED)', async () => {
    const stream = uniqueName('conc-stop');
    const appName = uniqueName('conc-stop-app');
    await createStream(kinesis, stream, 1);
    const puts = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 20 }, (_, i) => ({ partitionKey: i === 5 ? 'slow' : `key-${i}`, data: `r-${i}` })),
    );
    const slow = puts.find((put) => put.partitionKey === 'slow')!;
    const last = puts.at(-1)!;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const log: string[] = [];
    const finished = new Set<string>();
    let context: RecordContext | undefined;
    worker = createWorker(
      {
        ...workerClientOptions(),
        ...FAST,
        appName,
        streamName: stream,
        concurrency: { maxInFlightPerShard: 4 },
        logger: new CapturingLogger(),
      },
      (): KinesisPerRecordProcessor => ({
        processRecord: async (record, ctx) => {
          if (record.partitionKey === 'slow') {
            context = ctx;
            log.push('slow started');
            await gate;
            log.push('slow finished');
          }
          finished.add(record.sequenceNumber);
        },
        shutdown: ({ reason }) => void log.push(`shutdown ${reason}`),
      }),
    );
    await worker.start();
    await waitFor(() => finished.size === puts.length - 1 && log.includes('slow started'), 'every record but the slow one finished');
    // Nothing past the slow record is checkpointed while it runs.
    const during = await storedCheckpoint(appName, slow.shardId);
    if (during && isSequenceNumber(during.sequenceNumber)) expect(compareExtended(during, positionOf(slow))).toBeLessThan(0);
    let stopped = false;
    const stopping = worker.stop().then(() => (stopped = true));
    await waitFor(
      () => worker!.describe().shards.every((shard) => shard.state === 'SHUTTING_DOWN'),
      'the shard loop ended, waiting for the slow record',
    );
    expect(stopped).toBe(false);
    openGate();
    await stopping;
    worker = undefined;
    expect(log).toEqual(['slow started', 'slow finished', 'shutdown REQUESTED']);
    expect(await storedCheckpoint(appName, slow.shardId)).toEqual(positionOf(last));
    // The fencing token: this worker's hold of the lease, with the lease's counter at its start.
    expect(context!.lease).toEqual({ leaseKey: slow.shardId, owner: expect.any(String), counter: expect.any(Number) });
    expect(context!.shardId).toBe(slow.shardId);
  });

  it('kill -9 of a worker with records in flight: the next worker resumes after the stored checkpoint and every record is delivered', async () => {
    const stream = uniqueName('conc-kill');
    const appName = uniqueName('conc-kill-app');
    await createStream(kinesis, stream, 2);
    const puts = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 400 }, (_, i) => ({ partitionKey: `key-${i % 40}`, data: `r-${i}` })),
    );
    const dir = mkdtempSync(join(tmpdir(), 'concurrency-kill-'));
    const eventsFile = join(dir, 'events.jsonl');
    const children: ChildProcess[] = [];
    const start = (workerId: string) => {
      const config: PerRecordWorkerConfig = {
        options: {
          ...workerClientOptions(),
          ...FAST,
          appName,
          streamName: stream,
          workerId,
          concurrency: { maxInFlightPerShard: 8 },
          // Checkpoints every 20 finished records, so that the kill falls between checkpoints of the watermark.
          autoCheckpoint: { everyRecords: 20 },
        },
        eventsFile,
        maxLatencyMs: 40,
      };
      const script = join(__dirname, '..', 'support', 'per-record-worker-process.ts');
      const child = spawn(process.execPath, [...nodeScriptArgs(script), JSON.stringify(config)], {
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      children.push(child);
      return child;
    };
    const events = (): PerRecordWorkerEvent[] =>
      existsSync(eventsFile)
        ? readFileSync(eventsFile, 'utf8')
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => JSON.parse(line) as PerRecordWorkerEvent)
        : [];
    type RecordEvent = Extract<PerRecordWorkerEvent, { kind: 'start' | 'done' }>;
    const recordEvents = (kind: 'start' | 'done', worker?: string) =>
      events().filter((e): e is RecordEvent => e.kind === kind && (worker === undefined || e.worker === worker));
    try {
      const first = start('worker-a');
      // Mid-flight: some records finished, and more started than finished.
      await waitFor(() => recordEvents('done', 'worker-a').length >= 100, 'worker-a finished 100 records', 60_000);
      first.kill('SIGKILL');
      await new Promise((resolve) => first.once('exit', resolve));
      const startedA = recordEvents('start', 'worker-a');
      const doneA = new Set(recordEvents('done', 'worker-a').map((e) => `${e.seq}/${e.sub}`));
      const inFlightAtKill = startedA.filter((e) => !doneA.has(`${e.seq}/${e.sub}`));
      const atKill = new Map<string, ExtendedSequenceNumber | undefined>();
      for (const shardId of new Set(puts.map((p) => p.shardId))) atKill.set(shardId, await storedCheckpoint(appName, shardId));
      expect([...atKill.values()].some((stored) => stored && isSequenceNumber(stored.sequenceNumber))).toBe(true);

      start('worker-b');
      const everyRecord = puts.map((p) => `${p.sequenceNumber}/0`);
      await waitFor(() => {
        const done = new Set(recordEvents('done').map((e) => `${e.seq}/${e.sub}`));
        return everyRecord.every((r) => done.has(r));
      }, 'every record finished by worker-a or worker-b');

      expect(events().filter((e) => e.kind === 'violation')).toEqual([]);
      expect(inFlightAtKill.length).toBeGreaterThan(0);
      // The next owner starts after the checkpoint stored at the kill: no record at or below it runs again.
      const startedB = recordEvents('start', 'worker-b');
      const rerun = startedB.filter((e) => {
        const stored = atKill.get(e.shardId);
        return (
          stored &&
          isSequenceNumber(stored.sequenceNumber) &&
          compareExtended({ sequenceNumber: e.seq, subSequenceNumber: e.sub }, stored) <= 0
        );
      });
      expect(rerun).toEqual([]);
      // Every record in flight at the kill is delivered again.
      const startedBKeys = new Set(startedB.map((e) => `${e.seq}/${e.sub}`));
      expect(inFlightAtKill.filter((e) => !startedBKeys.has(`${e.seq}/${e.sub}`))).toEqual([]);
      const duplicates = startedB.filter((e) => doneA.has(`${e.seq}/${e.sub}`)).length;
      // The duplicate window: records worker-a finished above the last checkpoint it wrote, plus those in flight.
      process.stdout.write(
        `kill -9 mid-flight: ${inFlightAtKill.length} records in flight, ${duplicates} finished records delivered again, of ${puts.length}\n`,
      );
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the worker-wide bound: records read but not finished never exceed maxInFlightRecords across the shards; reading waits for room', async () => {
    const stream = uniqueName('conc-bound');
    const appName = uniqueName('conc-bound-app');
    await createStream(kinesis, stream, 2);
    const puts = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 60 }, (_, i) => ({ partitionKey: `key-${i}`, data: `r-${i}` })),
    );
    // The worker's real budget, watched: how many records it let in at most, and how often a shard had to wait.
    let mostInFlight = 0;
    let waits = 0;
    const acquire = original<InFlightBudget['acquire']>(InFlightBudget.prototype, 'acquire');
    jest.spyOn(InFlightBudget.prototype, 'acquire').mockImplementation(async function (this: InFlightBudget, bytes, signal, holder) {
      if (this.recordsInFlight >= this.maxRecords) waits++;
      const granted = await acquire.call(this, bytes, signal, holder);
      mostInFlight = Math.max(mostInFlight, this.recordsInFlight);
      return granted;
    });
    let running = 0;
    let finished = 0;
    const gates: (() => void)[] = [];
    worker = createWorker(
      {
        ...workerClientOptions(),
        ...FAST,
        appName,
        streamName: stream,
        concurrency: { maxInFlightPerShard: 6, maxInFlightRecords: 8, ordering: 'none' },
        logger: new CapturingLogger(),
      },
      (): KinesisPerRecordProcessor => ({
        processRecord: async () => {
          running++;
          await new Promise<void>((resolve) => gates.push(resolve));
          running--;
          finished++;
        },
      }),
    );
    await worker.start();
    // The budget fills (each shard at its fair share, 4 of the 8), and a shard waits to read on.
    await waitFor(() => running >= 8 && waits > 0, 'the budget full and a shard waiting for room');
    expect(running).toBeLessThanOrEqual(8);
    while (finished < puts.length) {
      await waitFor(() => gates.length > 0 || finished === puts.length, 'a record waiting for its gate');
      gates.shift()?.();
    }
    expect(mostInFlight).toBe(8);
  });

  it('a handler that throws is retried with the same record; its key waits, and the checkpoint never passes it meanwhile', async () => {
    const stream = uniqueName('conc-retry');
    const appName = uniqueName('conc-retry-app');
    await createStream(kinesis, stream, 1);
    const puts = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 10 }, (_, i) => ({ partitionKey: i < 6 ? 'poison' : `key-${i}`, data: `r-${i}` })),
    );
    const poison = puts[2];
    const watch = new KeyOrderWatch();
    const attempts: number[] = [];
    let release = false;
    const finished = new Set<string>();
    const logger = new CapturingLogger();
    worker = createWorker(
      {
        ...workerClientOptions(),
        ...FAST,
        appName,
        streamName: stream,
        concurrency: { maxInFlightPerShard: 4 },
        processingRetry: { baseDelayMs: 20, maxDelayMs: 50 },
        logger,
      },
      (): KinesisPerRecordProcessor => ({
        processRecord: (record, context) => {
          watch.started(record);
          if (record.sequenceNumber === poison.sequenceNumber && !release) {
            attempts.push(context.attempt);
            watch.failed(record);
            throw new Error('sink unavailable');
          }
          finished.add(record.sequenceNumber);
          watch.finished(record);
        },
      }),
    );
    await worker.start();
    // The other keys finish; the poison key stops at its failing record, whose later records wait.
    await waitFor(
      () => attempts.length >= 3 && puts.filter((p) => p.partitionKey !== 'poison').every((p) => finished.has(p.sequenceNumber)),
      'other keys done, poison retried',
    );
    expect(puts.slice(3, 6).some((p) => finished.has(p.sequenceNumber))).toBe(false);
    const stored = await storedCheckpoint(appName, poison.shardId);
    if (stored && isSequenceNumber(stored.sequenceNumber)) expect(compareExtended(stored, positionOf(poison))).toBeLessThan(0);
    release = true;
    await waitFor(() => finished.size === puts.length, 'every record finished once the sink is back');
    await waitFor(async () => {
      const now = await storedCheckpoint(appName, poison.shardId);
      return now !== undefined && keyOf(now) === keyOf(positionOf(puts.at(-1)!));
    }, 'the checkpoint at the last record');
    expect(attempts.slice(0, 3)).toEqual([1, 2, 3]);
    expect(watch.violations).toEqual([]);
    expect(
      logger.lines.some((line) => /^ERROR processRecord for .* \(partition key poison\) on .* failed \(attempt 1\), retrying/.test(line)),
    ).toBe(true);
  });

  it('the fencing token: a sink that keeps the highest lease counter per shard refuses the late write of a worker that gave the lease up', async () => {
    const stream = uniqueName('conc-fence');
    const appName = uniqueName('conc-fence-app');
    const sinkTable = uniqueName('conc-sink');
    await createStream(kinesis, stream, 1);
    await dynamo.send(
      new CreateTableCommand({
        TableName: sinkTable,
        KeySchema: [{ AttributeName: 'shardId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'shardId', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await waitFor(
      async () => (await dynamo.send(new DescribeTableCommand({ TableName: sinkTable }))).Table?.TableStatus === 'ACTIVE',
      'the sink table',
    );
    // The documented pattern (docs/concurrency.md): one conditional write, accepted only under a counter at least the highest seen.
    const sinkWrite = (record: KinesisRecord, context: RecordContext) =>
      dynamo.send(
        new UpdateItemCommand({
          TableName: sinkTable,
          Key: { shardId: { S: context.shardId } },
          UpdateExpression: 'SET fence = :counter, lastWriter = :owner ADD records :seq',
          ConditionExpression: 'attribute_not_exists(fence) OR fence <= :counter',
          ExpressionAttributeValues: {
            ':counter': { N: String(context.lease.counter) },
            ':owner': { S: context.lease.owner },
            ':seq': { SS: [record.sequenceNumber] },
          },
        }),
      );
    const puts = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 10 }, (_, i) => ({ partitionKey: i === 9 ? 'slow' : `key-${i}`, data: `r-${i}` })),
    );
    const slow = puts.find((put) => put.partitionKey === 'slow')!;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const outcomes: string[] = [];
    const tokens = new Map<string, number>();
    const processorOf = (name: string) => (): KinesisPerRecordProcessor => ({
      processRecord: async (record, context) => {
        tokens.set(name, context.lease.counter);
        if (name === 'a' && record.partitionKey === 'slow') {
          outcomes.push('a: slow started');
          await gate;
        }
        try {
          await sinkWrite(record, context);
          outcomes.push(`${name}: ${record.partitionKey} written`);
        } catch (error) {
          if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
          outcomes.push(`${name}: ${record.partitionKey} refused`);
        }
      },
    });
    const options = {
      ...workerClientOptions(),
      ...FAST,
      appName,
      streamName: stream,
      concurrency: { maxInFlightPerShard: 4 },
      logger: new CapturingLogger(),
    };
    // Worker a: its stop gives up waiting for the slow record after shutdownTimeoutMs and gives the lease up.
    const a = createWorker({ ...options, shutdownTimeoutMs: 1_000 }, processorOf('a'));
    await a.start();
    await waitFor(() => outcomes.filter((o) => o.startsWith('a:')).length === puts.length, 'worker a wrote all but the slow record');
    await a.stop();
    worker = createWorker(options, processorOf('b'));
    await worker.start();
    await waitFor(() => outcomes.includes('b: slow written'), 'worker b wrote the slow record again');
    expect(tokens.get('b')).toBeGreaterThan(tokens.get('a')!);
    openGate();
    await waitFor(() => outcomes.includes('a: slow refused') || outcomes.includes('a: slow written'), "worker a's late write");
    expect(outcomes.filter((o) => o.includes('slow'))).toEqual(['a: slow started', 'b: slow written', 'a: slow refused']);
    const item = await dynamo.send(
      new GetItemCommand({ TableName: sinkTable, Key: { shardId: { S: slow.shardId } }, ConsistentRead: true }),
    );
    expect(Number(item.Item!.fence.N)).toBe(tokens.get('b'));
    expect(item.Item!.records.SS).toContain(slow.sequenceNumber);
  });

  it('shard end: every record of the parent finishes before SHARD_END, and the children start only after', async () => {
    const stream = uniqueName('conc-split');
    const appName = uniqueName('conc-split-app');
    await createStream(kinesis, stream, 1);
    const parentPuts = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 80 }, (_, i) => ({ partitionKey: `key-${i % 16}`, data: `parent-${i}` })),
    );
    const parentId = parentPuts[0].shardId;
    const log: { shardId: string; event: 'start' | 'done'; seq: string }[] = [];
    const next = random(7);
    const watch = new KeyOrderWatch();
    worker = createWorker(
      {
        ...workerClientOptions(),
        ...FAST,
        appName,
        streamName: stream,
        concurrency: { maxInFlightPerShard: 8 },
        logger: new CapturingLogger(),
      },
      (): KinesisPerRecordProcessor => ({
        processRecord: async (record, context) => {
          // Keys repeat across parent and children: the order per key must hold across the split too.
          watch.started(record);
          log.push({ shardId: context.shardId, event: 'start', seq: record.sequenceNumber });
          await new Promise((resolve) => setTimeout(resolve, Math.floor(next() * 15)));
          log.push({ shardId: context.shardId, event: 'done', seq: record.sequenceNumber });
          watch.finished(record);
        },
      }),
    );
    await worker.start();
    await splitShard(kinesis, stream, parentId);
    const childPuts = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 40 }, (_, i) => ({ partitionKey: `key-${i % 16}`, data: `child-${i}` })),
    );
    const all = [...parentPuts, ...childPuts];
    await waitFor(
      () => all.every((p) => log.some((e) => e.event === 'done' && e.seq === p.sequenceNumber)),
      'every record, parent and children',
    );
    await waitFor(async () => (await storedCheckpoint(appName, parentId))?.sequenceNumber === 'SHARD_END', 'SHARD_END on the parent');
    const lastParentDone = log.map((e) => e.shardId === parentId && e.event === 'done').lastIndexOf(true);
    const firstChildStart = log.findIndex((e) => e.shardId !== parentId && e.event === 'start');
    expect(childPuts.every((p) => p.shardId !== parentId)).toBe(true);
    expect(lastParentDone).toBeLessThan(firstChildStart);
    expect(watch.violations).toEqual([]);
  });

  it('lease lost mid-flight (ZOMBIE): the records waiting never start, nothing more is checkpointed, shutdown(ZOMBIE) comes once the running records finished', async () => {
    const stream = uniqueName('conc-zombie');
    const appName = uniqueName('conc-zombie-app');
    await createStream(kinesis, stream, 1);
    const puts = await putRecords(
      kinesis,
      stream,
      Array.from({ length: 30 }, (_, i) => ({ partitionKey: i < 5 ? 'slow' : `key-${i % 3}`, data: `r-${i}` })),
    );
    const shardId = puts[0].shardId;
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const log: string[] = [];
    const events: string[] = [];
    worker = createWorker(
      {
        ...workerClientOptions(),
        ...FAST,
        appName,
        streamName: stream,
        // The first 'slow' record is held; the four after it wait for it (same key) when the lease is lost.
        concurrency: { maxInFlightPerShard: 2 },
        onEvent: (event) => void events.push(event.type),
        logger: new CapturingLogger(),
      },
      (): KinesisPerRecordProcessor => ({
        processRecord: async (record) => {
          log.push(`start ${record.partitionKey}`);
          if (record.partitionKey === 'slow') await gate;
          else await new Promise((resolve) => setImmediate(resolve));
          log.push(`done ${record.partitionKey}`);
        },
        shutdown: ({ reason, checkpointer }) => void log.push(`shutdown ${reason}${checkpointer ? ' with checkpointer' : ''}`),
      }),
    );
    await worker.start();
    await waitFor(() => log.includes('start slow'), 'the slow record running');
    // Another worker takes the lease: a new owner and a higher counter, so this worker's next renewal fails.
    await writeLeaseOwner(dynamo, appName, shardId, 'thief');
    const stolen = await storedCheckpoint(appName, shardId);
    await waitFor(() => events.includes('leaseLost'), 'the loss seen by the worker');
    openGate();
    await waitFor(() => log.some((line) => line.startsWith('shutdown')), 'the shutdown call');
    // The slow key's other records were waiting at the loss: they never start on this worker.
    expect(log.filter((line) => line === 'start slow')).toHaveLength(1);
    expect(log.at(-1)).toBe('shutdown ZOMBIE');
    expect(log.indexOf('done slow')).toBeLessThan(log.indexOf('shutdown ZOMBIE'));
    expect(await storedCheckpoint(appName, shardId)).toEqual(stolen);
  });
});
