import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { KinesisWorkerConfigError } from '../../lib/core/errors';
import { createStream, putRecords } from '../../lib/testing';
import { dynamoClient, kinesisClient, uniqueName } from '../support/aws';
import { readLeases } from '../support/lease-table';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';
import type { WorkerFileEvent } from '../support/worker-process';
import { recordingWorker, type RecordedWorker } from './leases-support';

/** stop() of the native worker: idempotent, safe during start(), and bounded by shutdownTimeoutMs. */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const started: RecordedWorker[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map(({ worker }) => worker.stop().catch(() => undefined)));
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

async function setup(shards: number, extra: Partial<Parameters<typeof recordingWorker>[0]> = {}) {
  const streamName = uniqueName('stop');
  const appName = uniqueName('app');
  await createStream(kinesis, streamName, shards);
  const events: WorkerFileEvent[] = [];
  const recorded = recordingWorker({ streamName, appName, workerId: 'stopper', events, ...extra });
  started.push(recorded);
  return { streamName, appName, events, ...recorded };
}

const owned = async (appName: string) => (await readLeases(dynamo, appName)).filter((l) => l.owner !== undefined);

describe('stopping the native worker', () => {
  it('stop() during start() stops what started: no lease stays taken, no processor runs', async () => {
    const { worker, appName, events } = await setup(2);
    const starting = worker.start();
    await worker.stop();
    await starting; // resolves: the start was cut short, not failed
    expect(worker.describe().running).toBe(false);
    // Several taker intervals later, nothing was taken and nothing delivered. A negative check: a stopped
    // worker emits nothing to wait for, so a fixed pause (3 taker intervals of 500 ms) gives a leftover
    // taker or consumer room to show itself.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await owned(appName)).toEqual([]);
    expect(events.filter((e) => e.kind === 'initialize')).toEqual([]);
  });

  it('a second stop() waits for the first, and each shard is shut down once', async () => {
    const { worker, appName, events } = await setup(2);
    await worker.start();
    await waitFor(() => events.filter((e) => e.kind === 'initialize').length === 2, 'both shards initialized');
    const first = worker.stop();
    const second = worker.stop();
    let firstDone = false;
    void first.then(() => (firstDone = true));
    await second;
    expect(firstDone).toBe(true);
    await worker.stop(); // and a third, after the fact
    expect(events.filter((e) => e.kind === 'shutdown').map((e) => (e as { reason: string }).reason)).toEqual(['REQUESTED', 'REQUESTED']);
    expect(await owned(appName)).toEqual([]);
  });

  it('a hung processRecords cannot hold stop(): after shutdownTimeoutMs the shard is named and its lease given up', async () => {
    let hung = 0;
    const { worker, streamName, appName, logger, events } = await setup(1, {
      options: { shutdownTimeoutMs: 2_000 },
      beforeBatch: () => {
        hung++;
        return new Promise<void>(() => undefined); // never settles
      },
    });
    await worker.start();
    await putRecords(kinesis, streamName, records('r', 5));
    await waitFor(() => hung === 1, 'processRecords to hang');
    await waitFor(async () => (await owned(appName)).length === 1, 'the lease held');
    await worker.stop();
    // stop() waited for the timeout: by the time it resolved, the hung shard was named and its lease given up.
    const linesAtStop = logger.lines.join('\n');
    const eventsAtStop = [...events];
    expect(await owned(appName)).toEqual([]);
    expect(linesAtStop).toMatch(/shardId-000000000000 \(PROCESSING\) did not finish within shutdownTimeoutMs \(2000 ms\)/);
    expect(eventsAtStop.some((e) => e.kind === 'event' && e.event.type === 'leaseReleased' && e.event.reason === 'GAVE_UP')).toBe(true);
  });

  it('a failed start() destroys its clients and a later stop() resolves', async () => {
    const events: WorkerFileEvent[] = [];
    const kinesisDestroy = jest.spyOn(KinesisClient.prototype, 'destroy');
    const dynamoDestroy = jest.spyOn(DynamoDBClient.prototype, 'destroy');
    try {
      const missing = uniqueName('missing');
      const recorded = recordingWorker({ streamName: missing, appName: uniqueName('app'), workerId: 'w', events });
      const error = await recorded.worker.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(KinesisWorkerConfigError);
      expect((error as KinesisWorkerConfigError).option).toBe('stream');
      expect((error as Error).message).toContain(`'${missing}' does not exist`);
      // The worker's own clients (white box: they are private) were destroyed by the failed start.
      const own = recorded.worker as unknown as { kinesis: KinesisClient; dynamodb: DynamoDBClient };
      expect(kinesisDestroy.mock.contexts).toContain(own.kinesis);
      expect(dynamoDestroy.mock.contexts).toContain(own.dynamodb);
      await recorded.worker.stop();
      expect(recorded.worker.describe().running).toBe(false);
    } finally {
      kinesisDestroy.mockRestore();
      dynamoDestroy.mockRestore();
    }
  });
});
