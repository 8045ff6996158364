import { createKcl3LeaseTable } from '../../lib/engines/kcl/kcl3-lease-table';
import { createStream, putRecords, type PutResult } from '../../lib/testing';
import { dynamoClient, kinesisClient, scanRaw, tableActive, uniqueName } from '../support/aws';
import { KCL35_FAST, Kcl35Consumer, killAll } from '../support/kcl35-consumer';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';

/**
 * The Java KCL 3.5.1 test consumer alone (no native worker): proof that the real 3.5 library runs on the
 * emulators and that its JSON lines and checkpoints can be trusted by the mixed-fleet suites. On
 * kinesis-local (Kinesis over HTTP/1.1) and dynalite. The first run builds the consumer with Maven.
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const consumers: Kcl35Consumer[] = [];
afterEach(() => killAll(consumers.splice(0)));
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

/** The last sequence number put to each shard. */
function lastByShard(puts: readonly PutResult[]): Map<string, string> {
  const last = new Map<string, string>();
  for (const put of puts) {
    const seen = last.get(put.shardId);
    if (seen === undefined || BigInt(put.sequenceNumber) > BigInt(seen)) last.set(put.shardId, put.sequenceNumber);
  }
  return last;
}

it('a KCL 3.5.1 worker consumes a 2-shard stream: every record arrives once per shard in order, and each lease is checkpointed at its shard last record', async () => {
  const stream = uniqueName('k35');
  const app = uniqueName('k35app');
  await createStream(kinesis, stream, 2);
  // dynalite cannot add the lease-owner GSI by UpdateTable, as 3.x does: give it at CreateTable.
  await createKcl3LeaseTable(dynamo, app);
  await tableActive(dynamo, app);
  const puts = await putRecords(kinesis, stream, records('k35', 40));
  expect(new Set(puts.map((p) => p.shardId)).size).toBe(2);

  const java = new Kcl35Consumer({ stream, applicationName: app, workerId: 'java-1', settings: KCL35_FAST });
  consumers.push(java);
  await java.start();
  await java.waitFor(() => new Set(java.records().map((r) => r.data)).size === puts.length, `all ${puts.length} records`, 240_000);

  // Per shard: exactly what was put there, in put order, each once.
  for (const shardId of new Set(puts.map((p) => p.shardId))) {
    expect(
      java
        .records()
        .filter((r) => r.shardId === shardId)
        .map((r) => r.data),
    ).toEqual(puts.filter((p) => p.shardId === shardId).map((p) => p.data.toString()));
  }
  expect(java.records().every((r) => r.workerId === 'java-1' && r.subSequenceNumber === 0)).toBe(true);

  const expected = lastByShard(puts);
  const checkpoints = async () =>
    new Map((await scanRaw(dynamo, app)).filter((row) => row.entityType?.S === 'LEASE').map((row) => [row.leaseKey.S!, row.checkpoint?.S]));
  let seen = new Map<string, string | undefined>();
  await waitFor(async () => {
    seen = await checkpoints();
    return [...expected].every(([shard, seq]) => seen.get(shard) === seq);
  }, 'each lease checkpointed at its shard last record');
  expect(seen).toEqual(expected);

  // A graceful stop: shutdownRequested per shard, the JVM exits by itself.
  const exit = await java.stop();
  expect(exit.signal).toBeNull();
  expect(
    java.events
      .filter((e) => e.event === 'shutdownRequested')
      .map((e) => (e as { shardId: string }).shardId)
      .sort(),
  ).toEqual([...expected.keys()].sort());
}, 300_000);
