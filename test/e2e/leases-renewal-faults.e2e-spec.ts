import { createStream, putRecords, startFaultProxy, type FaultProxy } from '../../lib/testing';
import { endpoints, kinesisClient, uniqueName } from '../support/aws';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';
import type { WorkerFileEvent } from '../support/worker-process';
import { leaseEvents, recordingWorker } from './leases-support';

/** A slow or half-open DynamoDB connection must not cost the leases (defect 7). */
const kinesis = kinesisClient();
let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy({ target: endpoints().dynamodb });
});
afterAll(async () => {
  kinesis.destroy();
  await proxy.close();
});

describe('lease renewals through a DynamoDB connection that stops answering', () => {
  it('a blackholed renewal round times out well within failoverTimeMs; the retry on a fresh connection keeps every lease', async () => {
    const streamName = uniqueName('renewal');
    const appName = uniqueName('app');
    await createStream(kinesis, streamName, 2);
    const events: WorkerFileEvent[] = [];
    // failoverTimeMs 3000: renewals every 975 ms, a DynamoDB attempt may take 500 ms at most.
    const { worker, logger } = recordingWorker({
      streamName,
      appName,
      workerId: 'renewer',
      events,
      options: { dynamodb: { endpoint: proxy.url } },
    });
    await worker.start();
    try {
      await waitFor(() => worker.describe().leases.filter((l) => l.leaseOwner === 'renewer').length === 2, 'both leases held');
      // Let the worker settle: every lease renewed once more, nothing else writing.
      const renewalsBefore = proxy.count('UpdateItem');
      await waitFor(() => proxy.count('UpdateItem') >= renewalsBefore + 2, 'a renewal round');
      const rule = proxy.set('UpdateItem', 'blackhole', { times: 2 });
      await waitFor(() => rule.applied === 2, 'one renewal round blackholed', 5_000);
      // Two failover periods: without the per-attempt timeout the blackholed renewals hang for 10 s and the leases expire.
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect(leaseEvents(events, 'leaseLost')).toEqual([]);
      // Each blackholed attempt was followed by a successful UpdateItem (the SDK's retry, on a new connection).
      const updates = proxy.requests.filter((r) => r.operation === 'UpdateItem');
      const recoveries = updates
        .filter((r) => r.fault === 'blackhole')
        .map((hole) => updates.find((r) => r.at > hole.at && r.fault === 'pass' && r.status === 200)!.at - hole.at);
      expect(recoveries).toHaveLength(2);
      expect(worker.describe().leases.filter((l) => l.leaseOwner === 'renewer')).toHaveLength(2);
      // Still delivering.
      const puts = await putRecords(kinesis, streamName, records('after', 6));
      const delivered = () => new Set(events.flatMap((e) => (e.kind === 'batch' ? e.records.map((r) => r.seq) : [])));
      await waitFor(() => puts.every((p) => delivered().has(p.sequenceNumber)), 'records after the blackhole');
      const warned = logger.lines.filter((line) => /Renewal of .* failed/.test(line));
      console.log(
        `blackholed renewal round: next successful UpdateItem ${recoveries.map((ms) => Math.round(ms)).join(', ')} ms after each ` +
          `blackholed one (failoverTimeMs 3000); renewal warnings: ${warned.length}; leases kept`,
      );
    } finally {
      await worker.stop();
    }
  });
});
