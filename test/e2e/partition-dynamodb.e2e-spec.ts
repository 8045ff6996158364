import { createStream, startFaultProxy, type FaultProxy } from '../../lib/testing';
import { endpoints, kinesisClient, uniqueName } from '../support/aws';
import { BackgroundProducer } from '../support/producer';
import { duplicateReport, orderViolations, overlapViolations } from '../support/verifier';
import { waitFor } from '../support/wait-for';
import type { WorkerFileEvent } from '../support/worker-process';
import { FAST_INTERVALS } from '../support/worker-fleet';
import { leaseEvents, recordingWorker, withoutRetries, type RecordedWorker } from './leases-support';

/**
 * Scenario 2: one of two workers loses DynamoDB (every request blackholed by the fault proxy) for
 * 3 × failoverTimeMs while Kinesis still answers. It must stop delivering before the other worker
 * takes its shard over, and come back when DynamoDB does.
 */
const kinesis = kinesisClient();
let proxy: FaultProxy;
const workers: RecordedWorker[] = [];
beforeAll(async () => {
  proxy = await startFaultProxy({ target: endpoints().dynamodb });
});
afterEach(async () => {
  await BackgroundProducer.stopAll();
  proxy.clear();
  await Promise.all(workers.splice(0).map(({ worker }) => worker.stop().catch(() => undefined)));
});
afterAll(async () => {
  kinesis.destroy();
  await proxy.close();
});

type Batch = Extract<WorkerFileEvent, { kind: 'batch' }>;
type Init = Extract<WorkerFileEvent, { kind: 'initialize' }>;

describe('partition: one worker loses DynamoDB, keeps Kinesis', () => {
  it('stops delivering before the other worker takes over, recovers afterwards, and loses no record', async () => {
    const streamName = uniqueName('partition');
    const appName = uniqueName('app');
    const { failoverTimeMs } = FAST_INTERVALS;
    await createStream(kinesis, streamName, 2);
    const producer = new BackgroundProducer(kinesis, streamName);
    producer.start();
    const events: WorkerFileEvent[] = [];
    const slowBatch = () => new Promise<void>((resolve) => setTimeout(resolve, 50));
    const a = recordingWorker({
      streamName,
      appName,
      workerId: 'worker-a',
      events,
      beforeBatch: slowBatch,
      options: { dynamodb: { endpoint: proxy.url }, maxLeasesForWorker: 1 },
    });
    const b = recordingWorker({ streamName, appName, workerId: 'worker-b', events, beforeBatch: slowBatch });
    workers.push(a, b);
    await a.worker.start();
    await b.worker.start();
    const heldBy = (w: RecordedWorker) =>
      w.worker
        .describe()
        .shards.filter((s) => s.state === 'PROCESSING')
        .map((s) => s.shardId);
    await waitFor(() => heldBy(a).length === 1 && heldBy(b).length === 1, 'one shard each');
    const [shardOfA] = heldBy(a);
    await waitFor(() => events.some((e) => e.kind === 'batch' && e.worker === 'worker-a'), 'worker-a to deliver');

    const partitionMs = 3 * failoverTimeMs;
    const partitionedAt = Date.now();
    proxy.set('*', 'blackhole', { forMs: partitionMs });
    const isTakeover = (e: WorkerFileEvent): e is Init =>
      e.kind === 'initialize' && e.worker === 'worker-b' && e.shardId === shardOfA && e.at >= partitionedAt;
    await waitFor(() => events.some(isTakeover), 'worker-b to take over', 20_000);
    const takeover = events.find(isTakeover)!;
    const aBatches = events.filter((e): e is Batch => e.kind === 'batch' && e.worker === 'worker-a' && e.shardId === shardOfA);
    const lastStartBeforeTakeover = Math.max(...aBatches.filter((batch) => batch.start < takeover.at).map((batch) => batch.start));
    const gapMs = takeover.at - lastStartBeforeTakeover;
    // Nothing started on worker-a after worker-b initialized; only the batch in flight may overlap.
    expect(aBatches.filter((batch) => batch.start >= takeover.at && batch.start < partitionedAt + partitionMs)).toEqual([]);
    // worker-a had delivered from that shard before the take-over (else the gap above means nothing).
    expect(aBatches.filter((batch) => batch.start < takeover.at).length).toBeGreaterThan(0);

    // DynamoDB comes back: worker-a takes a lease again (stealing its share) and delivers.
    const healedAt = partitionedAt + partitionMs;
    await waitFor(() => Date.now() > healedAt, 'the end of the partition', partitionMs + 5_000);
    await waitFor(
      () => leaseEvents(events, 'leaseTaken', 'worker-a').some((e) => e.at > healedAt),
      'worker-a to take a lease again',
      30_000,
    );
    await waitFor(
      () => events.some((e) => e.kind === 'batch' && e.worker === 'worker-a' && e.start > healedAt),
      'worker-a to deliver again',
      30_000,
    );

    await producer.stop();
    const delivered = () => new Set(events.flatMap((e) => (e.kind === 'batch' ? e.records.map((r) => r.seq) : [])));
    await waitFor(() => producer.puts.every((p) => delivered().has(p.sequenceNumber)), 'every record', 60_000);
    const report = duplicateReport(producer.puts, events);
    expect(report.missing).toEqual([]);
    expect(report.unexplained).toEqual([]);
    expect(orderViolations(withoutRetries(events))).toEqual([]);
    expect(overlapViolations(events)).toEqual([]);
    // No crash: the only errors are the processor's failed checkpoints (the batch is delivered again),
    // and the one line per shard that says a checkpoint was refused because the lease was lost.
    const errors = a.logger.lines.filter(
      (line) => line.startsWith('ERROR') && !/^ERROR processRecords .* failed \(attempt \d+\), retrying/.test(line),
    );
    const refused = errors.filter((line) => /^ERROR Checkpoint refused: Lease lost for shardId-\d+/.test(line));
    expect(errors.filter((line) => !refused.includes(line))).toEqual([]);
    expect(a.worker.describe().running).toBe(true);
    const lostAt = leaseEvents(events, 'leaseLost', 'worker-a').find((e) => e.event.shardId === shardOfA && e.at >= partitionedAt)?.at;
    console.log(
      `partition (failoverTimeMs ${failoverTimeMs}, DynamoDB blackholed ${partitionMs} ms): worker-a's last processRecords on ${shardOfA} ` +
        `started ${gapMs} ms before worker-b's initialize; worker-a gave the lease up ${lostAt === undefined ? '?' : lostAt - partitionedAt} ms ` +
        `into the partition, worker-b initialized ${takeover.at - partitionedAt} ms into it; ${producer.puts.length} records, ${report.duplicates} delivered twice`,
    );
  }, 180_000);
});
