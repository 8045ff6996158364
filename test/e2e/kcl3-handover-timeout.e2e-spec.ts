import { CreateTableCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { createWorker, LeaseLostError, type KinesisRecordProcessor, type KinesisWorker } from '../../lib';
import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { createStream, putRecords, startFaultProxy, type Fault, type FaultProxy, type ProxiedRequest } from '../../lib/testing';
import { dynamoClient, endpoints, kinesisClient, scanRaw, tableActive, uniqueName, workerClientOptions } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';
import { FAST } from '../support/recording-processor';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';

/**
 * A KCL 3.x graceful hand-over whose old owner stalls (its processor's REQUESTED shutdown hangs) past
 * gracefulLeaseHandoffTimeoutMs, between two real native workers on dynalite; the leader's hand-over
 * write is played by the test, exactly as the Java leader writes it (docs/kcl3-protocol.md, section 2).
 * The new owner takes over after the timeout; from then on the old owner must not hold the lease (two
 * writers on one lease), and its late shutdown checkpoint must not move the checkpoint backwards.
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const workers: KinesisWorker[] = [];
let proxyA: FaultProxy;
let proxyB: FaultProxy;
beforeAll(async () => {
  proxyA = await startFaultProxy({ target: endpoints().dynamodb });
  proxyB = await startFaultProxy({ target: endpoints().dynamodb });
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
  proxyA.clear();
  proxyB.clear();
});
afterAll(async () => {
  kinesis.destroy();
  dynamo.destroy();
  await Promise.all([proxyA.close(), proxyB.close()]);
});

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
};

async function threeXApplication() {
  const stream = uniqueName('kcl3-stall');
  const appName = uniqueName('app');
  await createStream(kinesis, stream, 1);
  await createKcl3LeaseTable(dynamo, appName).then(() => tableActive(dynamo, appName));
  for (const [table, key] of [
    [`${appName}-CoordinatorState`, 'key'],
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
  await dynamo.send(
    new PutItemCommand({
      TableName: `${appName}-CoordinatorState`,
      Item: { key: { S: 'Migration3.0' }, cv: { S: 'CLIENT_VERSION_3X' }, mb: { S: 'java-1' }, mts: { N: String(Date.now()) } },
    }),
  );
  return { stream, appName };
}

interface Seen {
  readonly delivered: string[];
  shutdownReason?: string;
  lateCheckpoint?: 'written' | 'refused: LeaseLostError' | `failed: ${string}`;
}

function startWorker(
  stream: string,
  appName: string,
  workerId: string,
  seen: Seen,
  proxy: FaultProxy,
  shutdownGate?: Promise<void>,
): KinesisWorker {
  const worker = createWorker(
    {
      ...workerClientOptions(),
      ...FAST,
      dynamodb: { endpoint: proxy.url },
      streamName: stream,
      appName,
      workerId,
      initialPosition: 'TRIM_HORIZON',
      leaseTakerIntervalMs: 300,
      workerMetricsReporterFreqMs: 500,
      gracefulLeaseHandoffTimeoutMs: 1_500,
      shutdownTimeoutMs: 2_000,
      // The test plays the leader (it writes the assignment and the hand-over).
      kcl3LeaderEligible: false,
      logger: new CapturingLogger(),
    },
    (): KinesisRecordProcessor => ({
      processRecords: async ({ records: batch, checkpointer }) => {
        seen.delivered.push(...batch.map((r) => r.sequenceNumber));
        await checkpointer.checkpoint();
      },
      shutdown: async ({ reason, checkpointer }) => {
        seen.shutdownReason = reason;
        if (reason !== 'REQUESTED' || !shutdownGate || !checkpointer) return;
        // Stalled past the hand-over timeout, then the shutdown checkpoint at the last record it processed:
        // by then an old position, which must never overwrite the new owner's progress.
        await shutdownGate;
        try {
          await checkpointer.checkpoint();
          seen.lateCheckpoint = 'written';
        } catch (error) {
          seen.lateCheckpoint = error instanceof LeaseLostError ? 'refused: LeaseLostError' : `failed: ${String(error)}`;
        }
      },
    }),
  );
  workers.push(worker);
  return worker;
}

describe('KCL 3.x hand-over whose old owner stalls past gracefulLeaseHandoffTimeoutMs (dynalite)', () => {
  it('the new owner takes over; the old owner never holds the lease again, and its late checkpoint never moves the checkpoint backwards', async () => {
    const { stream, appName } = await threeXApplication();
    const seenA: Seen = { delivered: [] };
    const seenB: Seen = { delivered: [] };
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const a = startWorker(stream, appName, 'native-1', seenA, proxyA, gate);
    const b = startWorker(stream, appName, 'native-2', seenB, proxyB);
    await Promise.all([a.start(), b.start()]);
    await waitFor(async () => (await scanRaw(dynamo, appName)).length === 1, 'the lease created by shard sync');
    const leaseKey = (await scanRaw(dynamo, appName))[0].leaseKey.S!;
    const row = async () => (await scanRaw(dynamo, appName))[0];
    const holdsIt = () => a.describe().msSinceLeaseRenewal !== undefined;

    // Once native-2 has taken over, the proxies make the two workers' requests on the lease alternate:
    // one write of native-2 (renewal, checkpoint), then one attempt of native-1 (its refused write and
    // the re-read that follows), and so on. That is the worst interleaving for native-1 (and a possible
    // one with any timers): every re-read shows the counter moved by exactly one since native-1's last
    // look. `frozen` holds native-2's writes back while native-1's late checkpoint goes.
    const sync = { alternating: false, turn: 'A' as 'A' | 'B', frozen: false };
    const onLease = (operations: string[]) => (request: ProxiedRequest) =>
      operations.includes(request.operation) &&
      request.body?.TableName === appName &&
      (request.body?.Key as { leaseKey?: { S?: string } } | undefined)?.leaseKey?.S === leaseKey;
    const bWrites: Fault = {
      name: 'native-2 write, in turn',
      decide: async (request) => {
        await until(() => !sync.alternating || !holdsIt() || (sync.turn === 'B' && !sync.frozen));
        const takeOver = String(request.body?.UpdateExpression).startsWith('REMOVE checkpointOwner');
        return {
          do: 'forward',
          transform: (_body, _request, status) => {
            if (status === 200 && takeOver) sync.alternating = true;
            sync.turn = 'A';
            return undefined;
          },
        };
      },
    };
    const aAttempts: Fault = {
      name: 'native-1 attempt, in turn',
      decide: async (request) => {
        if (request.operation === 'UpdateItem') {
          await until(() => !sync.alternating || sync.turn === 'A' || sync.frozen);
          return { do: 'forward' };
        }
        return { do: 'forward', transform: () => void (sync.turn = 'B') };
      },
    };
    proxyB.set(onLease(['UpdateItem']), bWrites);
    proxyA.set(onLease(['UpdateItem', 'GetItem']), aAttempts);

    // The leader assigns the lease to native-1, which processes and checkpoints the first records.
    await dynamo.send(
      new UpdateItemCommand({
        TableName: appName,
        Key: { leaseKey: { S: leaseKey } },
        UpdateExpression: 'SET leaseOwner = :to, leaseCounter = leaseCounter + :one',
        ConditionExpression: 'attribute_not_exists(leaseOwner)',
        ExpressionAttributeValues: { ':to': { S: 'native-1' }, ':one': { N: '1' } },
      }),
    );
    const first = await putRecords(kinesis, stream, records('first', 5));
    const firstEnd = first.at(-1)!.sequenceNumber;
    await waitFor(async () => (await row()).checkpoint?.S === firstEnd, "native-1's checkpoint at the end of the first records");

    // The leader's initiateGracefulLeaseHandoff: leaseOwner = new, checkpointOwner = old, counter untouched.
    await dynamo.send(
      new UpdateItemCommand({
        TableName: appName,
        Key: { leaseKey: { S: leaseKey } },
        UpdateExpression: 'SET leaseOwner = :to, checkpointOwner = :from',
        ConditionExpression: 'leaseOwner = :from AND attribute_not_exists(checkpointOwner)',
        ExpressionAttributeValues: { ':to': { S: 'native-2' }, ':from': { S: 'native-1' } },
      }),
    );
    await waitFor(() => seenA.shutdownReason === 'REQUESTED', "native-1's processor asked to shut down (and stalling)");

    // native-1 renews on (under checkpointOwner = native-1) while its shutdown hangs; native-2 waits out
    // gracefulLeaseHandoffTimeoutMs, removes checkpointOwner itself and starts from native-1's checkpoint.
    await waitFor(
      async () => {
        const now = await row();
        return now.leaseOwner?.S === 'native-2' && now.checkpointOwner === undefined;
      },
      "native-2's take-over after the hand-over timeout",
      30_000,
    );
    const second = await putRecords(kinesis, stream, records('second', 5));
    const secondEnd = second.at(-1)!.sequenceNumber;
    await waitFor(async () => (await row()).checkpoint?.S === secondEnd, "native-2's checkpoint at the end of the second records");
    expect(seenB.delivered).toEqual(second.map((p) => p.sequenceNumber));

    // native-1 must give the lease up at its first attempt after the take-over: the new owner's writes
    // (counter + 1, owner native-2, no checkpointOwner) are not its own. Wait until it has either let go or
    // taken native-2's row for its own (it then holds the lease at the row's current counter).
    const tookItForItsOwn = async () => {
      const mine = a.describe().leases.find((l) => l.shardId === leaseKey);
      return sync.turn === 'B' && mine !== undefined && mine.leaseCounter === Number((await row()).leaseCounter.N);
    };
    await waitFor(
      async () => !holdsIt() || (await tookItForItsOwn()),
      "native-1 to let go of the lease, or to take native-2's row as its own",
    );
    const twoWriters = holdsIt();
    // Its stalled shutdown now ends with a checkpoint at the last record it processed, behind native-2's.
    sync.frozen = true;
    openGate();
    await waitFor(() => seenA.lateCheckpoint !== undefined, "native-1's late shutdown checkpoint");
    sync.frozen = false;
    sync.alternating = false;
    // (Before the fix: native-1 held the lease at native-2's counter, its checkpoint was written, and the
    // row's checkpoint went back from the end of the second records to the end of the first.)
    expect({ twoWriters, lateCheckpoint: seenA.lateCheckpoint, checkpoint: (await row()).checkpoint?.S }).toEqual({
      twoWriters: false,
      lateCheckpoint: 'refused: LeaseLostError',
      checkpoint: secondEnd,
    });

    // native-2 goes on undisturbed, and the checkpoint only moves forward.
    const third = await putRecords(kinesis, stream, records('third', 5));
    await waitFor(
      async () => (await row()).checkpoint?.S === third.at(-1)!.sequenceNumber,
      "native-2's checkpoint at the end of the third records",
    );
    expect(seenB.delivered).toEqual([...second, ...third].map((p) => p.sequenceNumber));
    expect((await row()).leaseOwner?.S).toBe('native-2');
  });
});
