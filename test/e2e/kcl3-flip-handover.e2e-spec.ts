import { CreateTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createWorker, type KinesisRecordProcessor, type KinesisWorker, type ShutdownReason } from '../../lib';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { initiateKcl3Handoff } from '../../lib/leases/kcl3-tables';
import { createStream, putRecords } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, tableActive, uniqueName, workerClientOptions } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import { FAST } from '../support/recording-processor';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';

/**
 * A lease taken under the 2.x rules (the fleet in CLIENT_VERSION_UPGRADE_FROM_2X) and handed over by a
 * 3.x leader after the fleet flips to 3.x, between two real native workers on dynalite. The Java KCL keeps
 * its held leases across the flip and hands them over gracefully like any other (docs/kcl3-protocol.md,
 * section 4): the old owner's processor gets shutdown REQUESTED with a checkpointer, its final checkpoint
 * lands, it clears checkpointOwner, and the new owner starts from that checkpoint at once. The leader's
 * hand-over is written by the test with the native leader's own write (initiateKcl3Handoff), as the Java
 * leader writes it. gracefulLeaseHandoffTimeoutMs is far beyond the test's waits: a new owner that had to
 * wait it out would never start here.
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const workers: KinesisWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

async function setMigrationState(table: string, clientVersion: string) {
  await dynamo.send(
    new PutItemCommand({
      TableName: table,
      Item: { key: { S: 'Migration3.0' }, cv: { S: clientVersion }, mb: { S: 'java-1' }, mts: { N: String(Date.now()) }, h: { L: [] } },
    }),
  );
}

interface Seen {
  readonly delivered: string[];
  readonly initializedAt: string[];
  shutdown?: { reason: ShutdownReason; withCheckpointer: boolean; checkpointed?: string };
}

function startWorker(stream: string, appName: string, workerId: string, seen: Seen): KinesisWorker {
  const worker = createWorker(
    {
      ...workerClientOptions(),
      ...FAST,
      streamName: stream,
      appName,
      workerId,
      initialPosition: 'TRIM_HORIZON',
      leaseTakerIntervalMs: 300,
      clientVersionPollIntervalMs: 300,
      workerMetricsReporterFreqMs: 500,
      gracefulLeaseHandoffTimeoutMs: 600_000,
      // The test plays the leader (it writes the hand-over).
      kcl3LeaderEligible: false,
      logger: new CapturingLogger(),
    },
    (): KinesisRecordProcessor => ({
      initialize: ({ checkpoint }) => {
        seen.initializedAt.push(checkpoint.sequenceNumber);
      },
      // No checkpoint per batch: the old owner's only checkpoint is its final one, at the hand-over.
      processRecords: ({ records: batch }) => {
        seen.delivered.push(...batch.map((r) => r.sequenceNumber));
      },
      shutdown: async ({ reason, checkpointer }) => {
        seen.shutdown = { reason, withCheckpointer: checkpointer !== undefined };
        if (reason !== 'REQUESTED' || !checkpointer) return;
        await checkpointer.checkpoint();
        seen.shutdown.checkpointed = seen.delivered.at(-1);
      },
    }),
  );
  workers.push(worker);
  return worker;
}

describe('a lease taken under the 2.x rules, handed over by a 3.x leader after the flip (dynalite)', () => {
  it('the old owner shuts its processor down (REQUESTED, with a checkpointer), its final checkpoint lands, and the new owner starts from it at once', async () => {
    const stream = uniqueName('kcl3-flip-ho');
    const appName = uniqueName('app');
    const coordinatorState = `${appName}-CoordinatorState`;
    await createStream(kinesis, stream, 1);
    await createKcl3LeaseTable(dynamo, appName).then(() => tableActive(dynamo, appName));
    for (const [table, key] of [
      [coordinatorState, 'key'],
      [`${appName}-WorkerMetricStats`, 'wid'],
    ]) {
      await dynamo.send(
        new CreateTableCommand({
          TableName: table,
          AttributeDefinitions: [{ AttributeName: key, AttributeType: 'S' }],
          KeySchema: [{ AttributeName: key, KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await tableActive(dynamo, table);
    }
    await setMigrationState(coordinatorState, 'CLIENT_VERSION_UPGRADE_FROM_2X');

    const seenA: Seen = { delivered: [], initializedAt: [] };
    const seenB: Seen = { delivered: [], initializedAt: [] };
    const a = startWorker(stream, appName, 'native-1', seenA);
    await a.start();
    const row = async () => (await scanRaw(dynamo, appName))[0];
    await waitFor(async () => (await row())?.leaseOwner?.S === 'native-1', 'the lease taken by the 2.x rules');
    expect(a.describe().kcl3).toMatchObject({ rules: '2.x' });
    // Under the 2.x rules its renewals write the 2.x row, without the 3.x throughputKBps.
    const takenAt = Number((await row()).leaseCounter.N);
    await waitFor(async () => Number((await row()).leaseCounter.N) >= takenAt + 2, 'two renewals under the 2.x rules');
    expect((await row()).throughputKBps).toBeUndefined();
    const before = await putRecords(kinesis, stream, records('before', 10));
    await waitFor(() => before.every((p) => seenA.delivered.includes(p.sequenceNumber)), 'the first records, by native-1');

    // The fleet flips; native-2 joins under the 3.x rules; the leader hands native-1's lease to it.
    await setMigrationState(coordinatorState, 'CLIENT_VERSION_3X');
    await waitFor(() => a.describe().kcl3?.rules === '3.x', 'native-1 under the 3.x rules');
    const b = startWorker(stream, appName, 'native-2', seenB);
    await b.start();
    expect(b.describe().kcl3).toMatchObject({ rules: '3.x' });
    expect(await initiateKcl3Handoff(dynamo, appName, { leaseKey: (await row()).leaseKey.S!, leaseOwner: 'native-1' }, 'native-2')).toBe(
      true,
    );

    await waitFor(() => seenA.shutdown?.checkpointed !== undefined || seenA.shutdown?.reason === 'ZOMBIE', "native-1's shutdown");
    expect(seenA.shutdown).toMatchObject({ reason: 'REQUESTED', withCheckpointer: true, checkpointed: before.at(-1)!.sequenceNumber });
    await waitFor(() => seenB.initializedAt.length > 0, 'native-2 to start the shard');
    expect(seenB.initializedAt).toEqual([before.at(-1)!.sequenceNumber]);
    // native-1's renewals during the hand-over (under the 3.x rules) wrote throughputKBps.
    const after = await row();
    expect(after.throughputKBps?.N).toBeDefined();
    expect(after.leaseOwner?.S).toBe('native-2');
    expect(after.checkpointOwner).toBeUndefined();
    expect(after.checkpoint?.S).toBe(before.at(-1)!.sequenceNumber);

    // Every later record goes to native-2, and nothing checkpointed comes again.
    const later = await putRecords(kinesis, stream, records('after', 10));
    await waitFor(() => later.every((p) => seenB.delivered.includes(p.sequenceNumber)), 'the later records, by native-2');
    expect(seenB.delivered.filter((s) => before.some((p) => p.sequenceNumber === s))).toEqual([]);
  });
});
