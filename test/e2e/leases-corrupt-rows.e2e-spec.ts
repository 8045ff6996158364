import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createStream, putRecords } from '../../lib/testing';
import { dynamoClient, kinesisClient, uniqueName } from '../support/aws';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';
import type { WorkerFileEvent } from '../support/worker-process';
import { recordingWorker } from './leases-support';

/** Rows that are not KCL 2.x leases, written by hand or by other software into a live application's table. */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

const FOREIGN_ROWS = {
  'no-counter': { leaseKey: { S: 'no-counter' }, leaseOwner: { S: 'someone' }, checkpoint: { S: 'TRIM_HORIZON' } },
  'counter-is-text': { leaseKey: { S: 'counter-is-text' }, leaseCounter: { S: 'seven' }, checkpoint: { S: 'TRIM_HORIZON' } },
  'owner-is-number': { leaseKey: { S: 'owner-is-number' }, leaseCounter: { N: '3' }, leaseOwner: { N: '42' } },
  'parents-not-a-set': { leaseKey: { S: 'parents-not-a-set' }, leaseCounter: { N: '1' }, parentShardId: { S: 'shardId-000000000000' } },
};

/** KCL 3.5 single-table entities: the fleet's own rows, skipped silently (a warning would advise deleting them). */
const ENTITY_ROWS = {
  'worker-metrics-1': { leaseKey: { S: 'worker-metrics-1' }, entityType: { S: 'WORKER_METRIC_STATS' }, cpu: { N: '12' } },
  'leader-1': { leaseKey: { S: 'leader-1' }, entityType: { S: 'LEADER' }, leaseCounter: { N: '9' }, leaseOwner: { S: 'kcl3-worker' } },
};

describe('corrupt and foreign rows in the lease table', () => {
  it('skips them with one warning each, never crashes or loops, and keeps consuming', async () => {
    const streamName = uniqueName('corrupt');
    const appName = uniqueName('app');
    await createStream(kinesis, streamName, 2);
    const events: WorkerFileEvent[] = [];
    const { worker, logger } = recordingWorker({ streamName, appName, workerId: 'survivor', events });
    await worker.start();
    try {
      const first = await putRecords(kinesis, streamName, records('first', 10));
      const delivered = () => new Set(events.flatMap((e) => (e.kind === 'batch' ? e.records.map((r) => r.seq) : [])));
      await waitFor(() => first.every((p) => delivered().has(p.sequenceNumber)), 'the first records');

      for (const item of [...Object.values(FOREIGN_ROWS), ...Object.values(ENTITY_ROWS)])
        await dynamo.send(new PutItemCommand({ TableName: appName, Item: item }));
      // Many taker passes (every 500 ms) and shard syncs (every 1 s) over the foreign rows.
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      const second = await putRecords(kinesis, streamName, records('second', 10));
      await waitFor(() => second.every((p) => delivered().has(p.sequenceNumber)), 'records put after the foreign rows');

      const warnings = logger.lines.filter((line) => line.startsWith('WARN') && line.includes('skipped'));
      for (const key of Object.keys(FOREIGN_ROWS)) {
        expect(warnings.filter((line) => line.includes(`row ${key} skipped`))).toHaveLength(1);
      }
      expect(warnings.find((line) => line.includes('row no-counter'))).toMatch(/leaseCounter is missing.*delete or repair it/);
      for (const key of Object.keys(ENTITY_ROWS)) expect(logger.lines.filter((line) => line.includes(key))).toEqual([]);
      expect(logger.lines.filter((line) => line.startsWith('ERROR'))).toEqual([]);
      expect(worker.describe()).toMatchObject({ running: true });
      expect(
        worker
          .describe()
          .leases.map((l) => l.shardId)
          .sort(),
      ).toEqual(['shardId-000000000000', 'shardId-000000000001']);
      // Nothing was taken, lost or given up because of them.
      expect(events.filter((e) => e.kind === 'event' && e.event.type !== 'leaseTaken')).toEqual([]);
    } finally {
      await worker.stop();
    }
  });
});
