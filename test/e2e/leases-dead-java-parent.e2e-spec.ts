import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStream, putRecords } from '../../lib/testing';
import { isShardSyncLeader } from '../../lib/leases/leader-decider';
import type { Lease } from '../../lib/leases/lease';
import { dynamoClient, kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { readLeases } from '../support/lease-table';
import { nodeScriptArgs } from '../support/compiled-scripts';
import { records } from '../support/records';
import { listShards, splitShard } from '../support/reshard';
import { waitFor } from '../support/wait-for';
import { FAST } from '../support/recording-processor';
import type { WorkerFileEvent, WorkerProcessConfig } from '../support/worker-process';
import { recordingWorker } from './leases-support';

/**
 * Defect 12: a Java worker dies after it finished a parent shard. Its finished lease keeps its name in
 * the table, and with it the shard-sync leader election, unless a surviving worker takes that lease.
 */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  kinesis.destroy();
  dynamo.destroy();
});

const asLease = (owner: string): Lease => ({
  leaseKey: owner,
  leaseOwner: owner,
  leaseCounter: 1,
  ownerSwitchesSinceCheckpoint: 0,
  checkpoint: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
  parentShardIds: [],
  childShardIds: [],
});

/** A Java workerId that wins the Java KCL's leader election against the native one: the election a dead owner blocks. */
function javaIdThatLeads(nativeId: string): string {
  for (let i = 0; ; i++) {
    const id = `java-worker-${i}`;
    if (isShardSyncLeader([asLease(id), asLease(nativeId)], id)) return id;
  }
}

/** The Java KCL in a worker process of its own, so that kill -9 leaves nothing to release its leases. */
function startJavaWorker(config: WorkerProcessConfig): ChildProcess {
  const script = join(__dirname, '..', 'support', 'worker-process.ts');
  const child = spawn(process.execPath, [...nodeScriptArgs(script), JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit'] });
  children.push(child);
  return child;
}

/** kill -9 of the worker process and, in the same instant, of its JVM's process group (JVM, relays, watchdog). */
function killJavaWorker(worker: ChildProcess): void {
  const ps = execFileSync('ps', ['-eo', 'pid=,ppid=,pgid=,args='], { encoding: 'utf8' });
  const jvm = ps
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line))
    .find((m) => m !== null && Number(m[2]) === worker.pid && m[4].includes('MultiLangDaemon'));
  expect(jvm).toBeDefined();
  worker.kill('SIGKILL');
  process.kill(-Number(jvm![3]), 'SIGKILL');
}

describe('a dead Java worker left a finished parent lease', () => {
  it('the native worker takes it, becomes the shard-sync leader and cleans the parent up', async () => {
    const streamName = uniqueName('dead-java');
    const appName = uniqueName('app');
    const nativeId = 'native-worker';
    const javaId = javaIdThatLeads(nativeId);
    await createStream(kinesis, streamName, 1);
    const before = await putRecords(kinesis, streamName, records('before', 10));

    const dir = mkdtempSync(join(tmpdir(), 'dead-java-'));
    const javaEventsFile = join(dir, 'events.jsonl');
    const java = startJavaWorker({
      options: { ...workerClientOptions(), ...FAST, engine: 'kcl', appName, streamName, workerId: javaId },
      eventsFile: javaEventsFile,
    });
    const javaEvents = (): WorkerFileEvent[] =>
      existsSync(javaEventsFile)
        ? readFileSync(javaEventsFile, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => JSON.parse(line))
        : [];
    const delivered = (events: WorkerFileEvent[]) =>
      new Set(events.flatMap((e) => (e.kind === 'batch' ? e.records.map((r) => r.seq) : [])));
    const javaAlive = () => {
      if (java.exitCode !== null)
        throw new Error(`The Java worker process exited (${java.exitCode}): ${JSON.stringify(javaEvents().slice(-3))}`);
      return true;
    };
    await waitFor(
      () => javaAlive() && before.every((p) => delivered(javaEvents()).has(p.sequenceNumber)),
      'the Java worker to process the parent',
      120_000,
    );

    const [parent] = await listShards(kinesis, streamName);
    const parentId = parent.ShardId!;
    await splitShard(kinesis, streamName, parentId);
    await waitFor(
      async () => {
        javaAlive();
        const leases = await readLeases(dynamo, appName);
        return (
          leases.find((l) => l.shardId === parentId)?.checkpoint === 'SHARD_END' &&
          leases.filter((l) => l.parents.includes(parentId)).length === 2
        );
      },
      'SHARD_END on the parent and the child leases, written by the Java worker',
      90_000,
    );
    killJavaWorker(java);
    const parentRow = (await readLeases(dynamo, appName)).find((l) => l.shardId === parentId)!;
    expect(parentRow.owner).toBe(javaId);

    const after = await putRecords(kinesis, streamName, records('after', 20));
    const events: WorkerFileEvent[] = [];
    const { worker, logger } = recordingWorker({ streamName, appName, workerId: nativeId, events });
    await worker.start();
    try {
      await waitFor(
        () => after.every((p) => delivered(events).has(p.sequenceNumber)),
        'the children processed by the native worker',
        60_000,
      );
      // The log line comes right after the DeleteItem's answer: wait for it, not for the row alone.
      await waitFor(
        () => logger.lines.some((line) => line.includes(`Removed the finished leases ${parentId}`)),
        'the native worker to clean the parent up',
        30_000,
      );
      expect((await readLeases(dynamo, appName)).some((l) => l.shardId === parentId)).toBe(false);
      expect(logger.lines.join('\n')).toMatch(new RegExp(`Lease ${parentId} taken \\(expired from ${javaId}`));
      const rows = await readLeases(dynamo, appName);
      expect(rows.map((l) => l.owner)).toEqual([nativeId, nativeId]);
      // The parent's records are not delivered again.
      expect(events.some((e) => e.kind === 'initialize' && e.shardId === parentId)).toBe(false);
    } finally {
      await worker.stop();
    }
  }, 300_000);
});
