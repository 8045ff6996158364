import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { ensureStreamConsumer, StreamConsumerError } from '../../../../../lib/engines/native/retrieval/stream-consumer-registration';
import { CapturingLogger } from '../../../../support/capturing-logger';

const STREAM_ARN = 'arn:aws:kinesis:us-east-1:000000000000:stream/s';
const ARN = `${STREAM_ARN}/consumer/app:1`;
const awsError = (name: string) => Object.assign(new Error(name), { name });

function fakeKinesis(script: Record<string, Array<() => unknown>>) {
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  const client = {
    // eslint-disable-next-line @typescript-eslint/require-await -- a stubbed Kinesis send
    send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const name = command.constructor.name.replace(/Command$/, '');
      calls.push({ name, input: command.input });
      const next = script[name]?.shift();
      if (!next) throw new Error(`unscripted ${name}`);
      return next();
    },
  } as unknown as KinesisClient;
  return { client, calls };
}
const summary = () => ({ StreamDescriptionSummary: { StreamARN: STREAM_ARN } });
const consumer = (status: string) => ({ ConsumerDescription: { ConsumerARN: ARN, ConsumerName: 'app', ConsumerStatus: status } });

describe('ensureStreamConsumer', () => {
  it('registers the consumer and waits until it is ACTIVE', async () => {
    const { client, calls } = fakeKinesis({
      DescribeStreamSummary: [summary],
      RegisterStreamConsumer: [() => ({ Consumer: { ConsumerARN: ARN, ConsumerStatus: 'CREATING' } })],
      DescribeStreamConsumer: [() => consumer('CREATING'), () => consumer('ACTIVE')],
    });
    await expect(
      ensureStreamConsumer({ kinesis: client, streamName: 's', consumerName: 'app', logger: new CapturingLogger() }),
    ).resolves.toBe(ARN);
    expect(calls.map((c) => c.name)).toEqual([
      'DescribeStreamSummary',
      'RegisterStreamConsumer',
      'DescribeStreamConsumer',
      'DescribeStreamConsumer',
    ]);
    expect(calls[1].input).toEqual({ StreamARN: STREAM_ARN, ConsumerName: 'app' });
  });

  it('reuses a consumer registered already (ResourceInUseException) by name', async () => {
    const { client, calls } = fakeKinesis({
      DescribeStreamSummary: [summary],
      RegisterStreamConsumer: [() => Promise.reject(awsError('ResourceInUseException'))],
      DescribeStreamConsumer: [() => consumer('ACTIVE')],
    });
    await expect(
      ensureStreamConsumer({ kinesis: client, streamName: 's', consumerName: 'app', logger: new CapturingLogger() }),
    ).resolves.toBe(ARN);
    expect(calls[2].input).toEqual({ StreamARN: STREAM_ARN, ConsumerName: 'app' });
  });

  it('registers the name again once a DELETING consumer is gone', async () => {
    const { client } = fakeKinesis({
      DescribeStreamSummary: [summary],
      RegisterStreamConsumer: [
        () => Promise.reject(awsError('ResourceInUseException')),
        () => ({ Consumer: { ConsumerARN: ARN, ConsumerStatus: 'ACTIVE' } }),
      ],
      DescribeStreamConsumer: [() => consumer('DELETING'), () => Promise.reject(awsError('ResourceNotFoundException'))],
    });
    await expect(
      ensureStreamConsumer({ kinesis: client, streamName: 's', consumerName: 'app', logger: new CapturingLogger() }),
    ).resolves.toBe(ARN);
  });

  it('a consumer given by ARN is only described, never registered', async () => {
    const { client, calls } = fakeKinesis({ DescribeStreamConsumer: [() => consumer('ACTIVE')] });
    await ensureStreamConsumer({ kinesis: client, streamName: 's', consumerName: 'app', consumerArn: ARN, logger: new CapturingLogger() });
    expect(calls).toEqual([{ name: 'DescribeStreamConsumer', input: { ConsumerARN: ARN } }]);
  });

  it('gives up with a clear error when the consumer does not become ACTIVE in time, or a call fails for good', async () => {
    const creating = fakeKinesis({ DescribeStreamConsumer: Array.from({ length: 50 }, () => () => consumer('CREATING')) });
    await expect(
      ensureStreamConsumer({
        kinesis: creating.client,
        streamName: 's',
        consumerName: 'app',
        consumerArn: ARN,
        logger: new CapturingLogger(),
        activeTimeoutMs: 300,
      }),
    ).rejects.toThrow(/still CREATING after 0.3 s; fan-out needs it ACTIVE/);
    const denied = fakeKinesis({
      DescribeStreamSummary: [summary],
      RegisterStreamConsumer: [() => Promise.reject(awsError('AccessDeniedException'))],
    });
    const error = await ensureStreamConsumer({
      kinesis: denied.client,
      streamName: 's',
      consumerName: 'app',
      logger: new CapturingLogger(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StreamConsumerError);
    expect((error as Error).message).toMatch(/needs kinesis:RegisterStreamConsumer .*retrieval\.consumerArn/);
  });
});
