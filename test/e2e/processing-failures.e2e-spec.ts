import { createStream, putRecords } from '../../lib/testing';
import type { WorkerEvent } from '../../lib';
import { kinesisClient, uniqueName } from '../support/aws';
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
    recorder.beforeBatch = () => {
      if (++calls <= 3) throw new Error(`poison pill (${calls})`);
    };
    const events: WorkerEvent[] = [];
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
    } finally {
      await app.close();
    }
  });
});
