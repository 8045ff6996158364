import { DescribeStreamSummaryCommand, ListStreamConsumersCommand } from '@aws-sdk/client-kinesis';
import { createStream, putRecords } from '../../lib/testing';
import { kinesisClient, uniqueName } from '../support/aws';
import { testedKclVersion } from '../support/kcl-processes';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';
import { ObservedWorker, expectedData } from './lifecycle-harness';

const kinesis = kinesisClient();
let running: ObservedWorker | undefined;
afterEach(async () => {
  await running?.worker.stop();
  running = undefined;
});
afterAll(() => kinesis.destroy());

describe(`kcl engine with retrieval.mode 'fanout' (KCL ${testedKclVersion()} daemon, kinesis-local)`, () => {
  it('the daemon registers the consumer named after appName and delivers every record, in order per shard, to the Node processors', async () => {
    const stream = uniqueName('kcl-fanout');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 2);
    const before = await putRecords(kinesis, stream, records('before', 12));
    const observed = (running = new ObservedWorker({
      appName,
      streamName: stream,
      engine: 'kcl',
      leaseTakerIntervalMs: undefined,
      retrieval: { mode: 'fanout' },
      kcl: { version: testedKclVersion() },
    }));
    await observed.worker.start();
    await waitFor(() => observed.delivered(before), 'the records put before start', 120_000);
    const after = await putRecords(kinesis, stream, records('after', 12));
    await waitFor(() => observed.delivered(after), 'the records put after start', 60_000);

    const { StreamDescriptionSummary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    const { Consumers } = await kinesis.send(new ListStreamConsumersCommand({ StreamARN: StreamDescriptionSummary!.StreamARN }));
    // Polling registers nothing: the consumer is the daemon's FanOutConfig at work.
    expect(Consumers!.map((c) => [c.ConsumerName, c.ConsumerStatus])).toEqual([[appName, 'ACTIVE']]);
    const all = [...before, ...after];
    for (const shardId of new Set(all.map((p) => p.shardId))) expect(observed.firstDeliveries(shardId)).toEqual(expectedData(all, shardId));
  });
});
