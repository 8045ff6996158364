import { Readable } from 'node:stream';
import { GetRecordsCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { countThrottledAttempts } from '../../../lib/engines/native/retrieval/throttled-attempts';

type Answer = { status: number; body: object; errorType?: string };

/** A Kinesis client whose HTTP layer answers from a script, one answer per attempt. */
function scriptedKinesis(answers: Answer[], maxAttempts: number): KinesisClient {
  return new KinesisClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts,
    requestHandler: {
      handle: async () => {
        const answer = answers.shift();
        if (!answer) throw new Error('more attempts than the script has answers');
        const headers: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1' };
        if (answer.errorType) headers['x-amzn-errortype'] = answer.errorType;
        return { response: { statusCode: answer.status, headers, body: Readable.from([Buffer.from(JSON.stringify(answer.body))]) } };
      },
    },
  });
}

const throttle = (type = 'ProvisionedThroughputExceededException'): Answer => ({
  status: 400,
  errorType: type,
  body: { __type: type, message: 'Rate exceeded for shard shardId-000000000000' },
});
const ok: Answer = { status: 200, body: { Records: [], NextShardIterator: 'next', MillisBehindLatest: 0 } };

describe('countThrottledAttempts', () => {
  it('counts every throttled attempt, also those the SDK retried by itself before succeeding, and leaves the answer alone', async () => {
    const kinesis = scriptedKinesis([throttle(), throttle(), ok], 3);
    const seen: string[] = [];
    const out = await kinesis.send(countThrottledAttempts(new GetRecordsCommand({ ShardIterator: 'it' }), (type) => seen.push(type)));
    expect(out.NextShardIterator).toBe('next');
    expect(seen).toEqual(['ProvisionedThroughputExceededException', 'ProvisionedThroughputExceededException']);
    kinesis.destroy();
  });

  it('counts the throttled attempts of a call that fails after the SDK gave up, and rethrows the error unchanged', async () => {
    const kinesis = scriptedKinesis([throttle(), throttle()], 2);
    const seen: string[] = [];
    await expect(kinesis.send(countThrottledAttempts(new GetRecordsCommand({ ShardIterator: 'it' }), (type) => seen.push(type)))).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException',
    });
    expect(seen).toHaveLength(2);
    kinesis.destroy();
  });

  it('counts a KMS throttle of an encrypted stream (which the SDK does not retry) under its own name', async () => {
    const kinesis = scriptedKinesis([throttle('KMSThrottlingException')], 3);
    const seen: string[] = [];
    await expect(kinesis.send(countThrottledAttempts(new GetRecordsCommand({ ShardIterator: 'it' }), (type) => seen.push(type)))).rejects.toMatchObject({
      name: 'KMSThrottlingException',
    });
    expect(seen).toEqual(['KMSThrottlingException']);
    kinesis.destroy();
  });

  it('does not count other errors', async () => {
    const kinesis = scriptedKinesis([{ status: 400, errorType: 'ExpiredIteratorException', body: { __type: 'ExpiredIteratorException', message: 'expired' } }], 3);
    const seen: string[] = [];
    await expect(kinesis.send(countThrottledAttempts(new GetRecordsCommand({ ShardIterator: 'it' }), (type) => seen.push(type)))).rejects.toMatchObject({
      name: 'ExpiredIteratorException',
    });
    expect(seen).toEqual([]);
    kinesis.destroy();
  });

  it('adds nothing to the command without a listener', () => {
    const command = new GetRecordsCommand({ ShardIterator: 'it' });
    const before = command.middlewareStack.identify();
    expect(countThrottledAttempts(command, undefined).middlewareStack.identify()).toEqual(before);
  });
});
