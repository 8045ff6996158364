import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { createStream, putRecords } from '../../lib/testing';
import type { ProcessRecordsInput, StreamWorkerOptions, WorkerEvent } from '../../lib';
import { dynamoClient, kinesisClient, uniqueName } from '../support/aws';
import { readLeases } from '../support/lease-table';
import { ObservedWorker, expectedData, type Behaviour } from './lifecycle-harness';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';
import { records } from '../support/records';
import { CapturingLogger } from '../support/capturing-logger';

const kinesis = kinesisClient();
afterAll(() => {
  kinesis.destroy();
});

describe('processing failures beyond the retry policy (native engine)', () => {
  it('with a finite processingRetry, gives the lease up after the last attempt and retries the batch later: still nothing skipped', async () => {
    const stream = uniqueName('giveup');
    await createStream(kinesis, stream, 1);
    const puts = await putRecords(kinesis, stream, records('r', 10));
    const recorder = new Recorder();
    let calls = 0;
    const thrown: Error[] = [];
    recorder.beforeBatch = () => {
      if (++calls <= 3) throw thrown[thrown.push(new Error(`poison pill (${calls})`)) - 1];
    };
    const events: (WorkerEvent & { streamName: string })[] = [];
    const app = await startApp(recorder, recordingProcessor(stream), {
      appName: uniqueName('app'),
      logger: new CapturingLogger(),
      processingRetry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
      leaseTakerIntervalMs: 300,
      onEvent: (event) => events.push(event),
    });
    try {
      await waitFor(() => recorder.deliveries.length >= 10, 'every record once the processor recovers');
      expect(recorder.deliveries.map((d) => d.data)).toEqual(puts.map((p) => p.data.toString()));
      expect(events.filter((e) => e.type === 'leaseReleased').map((e) => (e as { reason: string }).reason)).toContain('GAVE_UP');
      expect(recorder.events.filter((e) => e.type === 'initialize').length).toBeGreaterThanOrEqual(2);
      expect(recorder.events.find((e) => e.type === 'shutdown')).toMatchObject({ reason: 'ZOMBIE', hadCheckpointer: false });
      // Every throw reached onEvent as it happened, with the processor's own error object: attempts 1 and 2
      // of the first owner (then it gave up), attempt 1 of the next.
      const failed = events.filter((e) => e.type === 'processorFailed');
      expect(failed.map((e) => [e.call, e.attempt, e.streamName, e.shardId])).toEqual([
        ['processRecords', 1, stream, 'shardId-000000000000'],
        ['processRecords', 2, stream, 'shardId-000000000000'],
        ['processRecords', 1, stream, 'shardId-000000000000'],
      ]);
      failed.forEach((event, i) => expect(event.error).toBe(thrown[i]));
      expect(failed[0].description).toMatch(/^processRecords for \d+ records \d+\.\.\d+$/);
    } finally {
      await app.close();
    }
  });
});

const dynamo = dynamoClient();
let observedWorker: ObservedWorker | undefined;
afterEach(async () => {
  await observedWorker?.worker.stop();
  observedWorker = undefined;
});
afterAll(() => dynamo.destroy());

const SHARD = 'shardId-000000000000';

/** One shard holding `count` records, read by one in-process native worker `maxRecords` at a time. */
async function consume(prefix: string, count: number, options: Partial<StreamWorkerOptions>, behaviour: Behaviour) {
  const stream = uniqueName(prefix);
  const appName = uniqueName('app');
  await createStream(kinesis, stream, 1);
  const puts = await putRecords(kinesis, stream, records(prefix, count));
  const observed = (observedWorker = new ObservedWorker({ appName, streamName: stream, maxRecords: 4, ...options }, behaviour));
  await observed.worker.start();
  return { appName, puts, observed };
}

async function storedCheckpoint(appName: string): Promise<string | undefined> {
  return (await readLeases(dynamo, appName)).find((l) => l.shardId === SHARD)?.checkpoint;
}

describe('misbehaving processors (native engine): the documented outcome, one clear log line each, every record delivered in order', () => {
  it('(a) a processor that throws on every 3rd batch: each failed batch is retried with the same records, nothing is skipped', async () => {
    let failures = 0;
    const { puts, observed, appName } = await consume(
      'every3rd',
      20,
      { processingRetry: { maxAttempts: Infinity, baseDelayMs: 50, maxDelayMs: 100 } },
      {
        beforeBatch: (_, __, batch) => {
          if (batch % 3 === 0) throw new Error(`flaky downstream (${++failures})`);
        },
      },
    );
    await waitFor(() => observed.delivered(puts), 'every record');
    await waitFor(async () => (await storedCheckpoint(appName)) === puts.at(-1)!.sequenceNumber, 'the checkpoint at the last record');
    expect(failures).toBeGreaterThanOrEqual(2);
    expect(observed.deliveries.map((d) => d.data)).toEqual(expectedData(puts, SHARD));
    expect(observed.lines(/processRecords .* failed \(attempt 1\), retrying/)).toHaveLength(failures);
    expect(observed.events.filter((e) => e.type === 'leaseReleased' || e.type === 'leaseLost')).toEqual([]);
  });

  it('(b) a processRecords that hangs past processingTimeoutMs: lease given up without a checkpoint past the batch, records delivered again to the next processor, the late checkpoint refused', async () => {
    let release: () => void = () => undefined;
    const hang = new Promise<void>((resolve) => (release = resolve));
    let lateCheckpoint: unknown;
    const batchesSeen = new Map<number, number>();
    const { puts, observed, appName } = await consume(
      'hang',
      10,
      { processingTimeoutMs: 1_000 },
      {
        beforeBatch: async (_, instance) => {
          batchesSeen.set(instance, (batchesSeen.get(instance) ?? 0) + 1);
          if (instance === 1) await hang;
        },
        afterBatch: async ({ checkpointer }, instance) => {
          if (instance !== 1) return checkpointer.checkpoint();
          lateCheckpoint = await checkpointer.checkpoint().then(
            () => 'accepted',
            (error: Error) => error.name,
          );
        },
      },
    );
    await waitFor(
      () => observed.deliveries.some((d) => d.instance === 2) && observed.delivered(puts),
      'every record, by the next processor',
    );
    await waitFor(async () => (await storedCheckpoint(appName)) === puts.at(-1)!.sequenceNumber, 'the checkpoint at the last record');
    release();
    await waitFor(() => lateCheckpoint !== undefined, 'the hung call to finish');
    expect(lateCheckpoint).toBe('LeaseLostError');
    expect(await storedCheckpoint(appName)).toBe(puts.at(-1)!.sequenceNumber);
    expect(batchesSeen.get(1)).toBe(1);
    expect(observed.firstDeliveries(SHARD)).toEqual(expectedData(puts, SHARD));
    expect(observed.deliveries.filter((d) => d.instance === 2).map((d) => d.data)).toEqual(expectedData(puts, SHARD));
    expect(observed.lines(/did not return within processingTimeoutMs \(1000 ms\)/)).toHaveLength(1);
    expect(observed.events).toContainEqual(expect.objectContaining({ type: 'leaseReleased', shardId: SHARD, reason: 'GAVE_UP' }));
  });

  it('(c) a processor that checkpoints a sequence number it was never given: refused every time, logged once, the stored checkpoint never moves there', async () => {
    const refusals: string[] = [];
    const bogus = (input: ProcessRecordsInput) => (BigInt(input.records.at(-1)!.sequenceNumber) + 10n ** 20n).toString();
    const { puts, observed, appName } = await consume(
      'bogus',
      12,
      {},
      {
        afterBatch: async (input) => {
          await input.checkpointer.checkpoint(bogus(input)).catch((error: Error) => refusals.push(error.name));
          await input.checkpointer.checkpoint();
        },
      },
    );
    await waitFor(() => observed.delivered(puts), 'every record');
    await waitFor(async () => (await storedCheckpoint(appName)) === puts.at(-1)!.sequenceNumber, 'the checkpoint at the last record');
    expect(refusals.length).toBeGreaterThanOrEqual(3);
    expect(new Set(refusals)).toEqual(new Set(['InvalidCheckpointError']));
    const lines = observed.lines(/never delivered/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ERROR Cannot checkpoint shardId-000000000000 at \d+: it was never delivered .* The checkpoint is refused/);
    expect(observed.deliveries.map((d) => d.data)).toEqual(expectedData(puts, SHARD));
  });

  it('(d) a processor that checkpoints after its lease was taken: refused (LeaseLostError), logged once, the records after the stored checkpoint delivered again', async () => {
    const appName = uniqueName('app');
    let storedAtSteal: string | undefined;
    const refusals: string[] = [];
    const { puts, observed } = await consume(
      'stolen',
      12,
      { appName },
      {
        afterBatch: async ({ checkpointer }, instance) => {
          if (instance === 1 && storedAtSteal === undefined && observedWorker!.deliveries.length > 4) {
            storedAtSteal = await storedCheckpoint(appName);
            await stealLease(appName);
          }
          // A naive processor that tries three times before it lets the error out.
          for (let attempt = 1; ; attempt++) {
            try {
              return await checkpointer.checkpoint();
            } catch (error) {
              refusals.push((error as Error).name);
              if (attempt === 3) throw error;
            }
          }
        },
      },
    );
    await waitFor(
      () => observed.deliveries.some((d) => d.instance === 2) && observed.delivered(puts),
      'every record, again once the lease came back',
    );
    await waitFor(async () => (await storedCheckpoint(appName)) === puts.at(-1)!.sequenceNumber, 'the checkpoint at the last record');
    expect(refusals).toEqual(['LeaseLostError', 'LeaseLostError', 'LeaseLostError']);
    // The processor let the checkpointer's LeaseLostError out: the engine's own error, not a processorFailed event.
    expect(observed.events.filter((event) => event.type === 'processorFailed')).toEqual([]);
    expect(observed.lines(/Checkpoint refused: Lease lost for shardId-000000000000/)).toHaveLength(1);
    expect(observed.firstDeliveries(SHARD)).toEqual(expectedData(puts, SHARD));
    expect(observed.orderViolations()).toEqual([]);
    // The next processor starts at the checkpoint stored before the lease was taken: what came after is delivered again.
    expect(storedAtSteal).toMatch(/^\d+$/);
    const afterStored = puts.filter((p) => BigInt(p.sequenceNumber) > BigInt(storedAtSteal!)).map((p) => p.data.toString());
    expect(observed.deliveries.filter((d) => d.instance === 2).map((d) => d.data)).toEqual(afterStored);
  });
});

describe('processorFailed events (native engine): every processor call that throws, with its own error', () => {
  it('a factory that throws once, and a shutdown(REQUESTED) that throws at stop', async () => {
    const factoryError = new Error('no database connection yet');
    const shutdownError = new TypeError('flush failed');
    const { puts, observed } = await consume(
      'failed-calls',
      3,
      {},
      {
        build: (_, attempt) => {
          if (attempt === 1) throw factoryError;
        },
        shutdown: (input) => {
          if (input.reason === 'REQUESTED') throw shutdownError;
        },
      },
    );
    await waitFor(() => observed.delivered(puts), 'every record once the factory succeeds');
    await observed.worker.stop();
    observedWorker = undefined;
    const failed = observed.events.filter((event) => event.type === 'processorFailed');
    expect(failed.map((event) => [event.call, event.attempt, event.shardId, event.description])).toEqual([
      ['factory', 1, SHARD, 'the processor factory'],
      ['shutdown', 1, SHARD, `shutdown(REQUESTED) of the processor for ${SHARD}`],
    ]);
    expect(failed.map((event) => event.error)).toEqual([factoryError, shutdownError]);
    expect(failed[0].error).toBe(factoryError);
    expect(failed[1].error).toBe(shutdownError);
  });
});

/** What another worker taking the lease looks like in the table: a new owner and a bumped counter. */
async function stealLease(appName: string): Promise<void> {
  await dynamo.send(
    new UpdateItemCommand({
      TableName: appName,
      Key: { leaseKey: { S: SHARD } },
      UpdateExpression: 'SET leaseOwner = :thief, leaseCounter = leaseCounter + :one',
      ExpressionAttributeValues: { ':thief': { S: 'another-worker' }, ':one': { N: '1' } },
    }),
  );
}
