import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createWorker, type KinesisWorker } from '../../lib';
import {
  createStream,
  putRecords,
  startLocalKinesis,
  LOCAL_CREDENTIALS,
  LOCAL_REGION,
  type LocalKinesis,
  type PutResult,
} from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { endpoints, uniqueName } from '../support/aws';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';

/**
 * Scenario 3 of the reliability issue: Kinesis itself goes away mid-run. A kinesis-local of this test's
 * own (persisting its data) is killed with SIGKILL while a worker reads it, and started again on the
 * same port 3 s later. The worker recovers by itself: no restart of the worker, nothing lost, no replay.
 */
let kinesisLocal: LocalKinesis | undefined;
let worker: KinesisWorker | undefined;
const dir = mkdtempSync(join(tmpdir(), 'kinesis-restart-'));

afterAll(async () => {
  await worker?.stop();
  await kinesisLocal?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it('kinesis-local killed (SIGKILL) and restarted on the same port: the worker resumes after the last record it delivered, nothing lost or replayed', async () => {
  kinesisLocal = await startLocalKinesis({ persistDir: dir });
  const port = kinesisLocal.port;
  const client = () =>
    new KinesisClient({
      region: LOCAL_REGION,
      endpoint: kinesisLocal!.endpoint,
      credentials: LOCAL_CREDENTIALS,
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    });
  let kinesis = client();
  const stream = uniqueName('restart');
  await createStream(kinesis, stream, 1);

  const delivered: string[] = [];
  const logger = new CapturingLogger();
  worker = createWorker(
    {
      appName: uniqueName('app'),
      streamName: stream,
      kinesis: { endpoint: kinesisLocal.endpoint, credentials: LOCAL_CREDENTIALS, region: LOCAL_REGION },
      dynamodb: { endpoint: endpoints().dynamodb },
      idleTimeBetweenReadsMs: 50,
      failoverTimeMs: 3_000,
      logger,
    },
    () => ({
      async processRecords({ records: batch, checkpointer }) {
        delivered.push(...batch.map((r) => r.data.toString()));
        await checkpointer.checkpoint();
      },
    }),
  );
  await worker.start();
  const before: PutResult[] = await putRecords(kinesis, stream, records('before', 15));
  await waitFor(() => delivered.length >= 15, 'the records put before the outage');
  // kinesis-local persists to kinesis-data.json every 200 ms: wait until the file holds every record put so far.
  const persisted = () => {
    try {
      return readFileSync(join(dir, 'kinesis-data.json'), 'utf8');
    } catch {
      return '';
    }
  };
  await waitFor(() => before.every((p) => persisted().includes(p.sequenceNumber)), 'kinesis-local to persist the records');

  process.kill(kinesisLocal.pid, 'SIGKILL');
  kinesis.destroy();
  await waitFor(() => logger.lines.some((l) => l.includes('GetRecords on') && l.includes('failed')), 'the worker to notice the outage');
  await new Promise((resolve) => setTimeout(resolve, 3_000)); // the outage itself: 3 s without Kinesis
  kinesisLocal = await startLocalKinesis({ port, persistDir: dir });
  kinesis = client();
  const after = await putRecords(kinesis, stream, records('after', 15));
  await waitFor(() => delivered.length >= 30, 'the records put after the restart', 60_000);
  await new Promise((resolve) => setTimeout(resolve, 300)); // room for a replay to show, if there were one
  kinesis.destroy();

  expect(delivered).toEqual([...before, ...after].map((p) => p.data.toString()));
  expect(worker.describe().running).toBe(true);
});
