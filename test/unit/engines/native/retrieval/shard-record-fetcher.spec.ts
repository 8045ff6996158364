import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { ShardRecordFetcher, type ShardRecordFetcherConfig } from '../../../../../lib/engines/native/retrieval/shard-record-fetcher';
import { classifyReadError } from '../../../../../lib/engines/native/retrieval/read-errors';
import { waitFor } from '../../../../support/wait-for';
import { CapturingLogger } from '../../../../support/capturing-logger';

/** A Kinesis client that answers each command with the next scripted outcome for its name. */
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

const awsError = (name: string, message = name) => Object.assign(new Error(message), { name });

function fetcher(client: KinesisClient, overrides: Partial<ShardRecordFetcherConfig> = {}) {
  const logger = new CapturingLogger();
  const f = new ShardRecordFetcher({
    kinesis: client,
    streamName: 's',
    shardId: 'shardId-000000000001',
    start: { sequenceNumber: 'TRIM_HORIZON', subSequenceNumber: 0 },
    leaseTakenAt: new Date('2026-11-28T10:00:00Z'),
    maxRecords: 100,
    maxCallsPerSecond: 1000,
    logger,
    signal: new AbortController().signal,
    ...overrides,
  });
  return { f, logger };
}

describe('ShardRecordFetcher', () => {
  it('a shard that ListShards no longer lists (closed, past retention) has ended on ResourceNotFoundException, as the Java KCL treats it', async () => {
    const { client, calls } = fakeKinesis({
      GetShardIterator: [
        () => Promise.reject(awsError('ResourceNotFoundException', 'Shard shardId-000000000001 in stream s does not exist')),
      ],
      ListShards: [() => ({ Shards: [{ ShardId: 'shardId-000000000002' }, { ShardId: 'shardId-000000000003' }] })],
    });
    const { f, logger } = fetcher(client);
    await expect(f.fetch()).resolves.toMatchObject({ records: [], shardEnded: true });
    expect(calls.map((c) => c.name)).toEqual(['GetShardIterator', 'ListShards']);
    expect(logger.lines.some((l) => l.includes('treating it as ended'))).toBe(true);
  });

  it('ResourceNotFoundException for a shard the stream still lists does not end it: it is read again', async () => {
    const { client } = fakeKinesis({
      GetShardIterator: [() => Promise.reject(awsError('ResourceNotFoundException')), () => ({ ShardIterator: 'i1' })],
      ListShards: [() => ({ Shards: [{ ShardId: 'shardId-000000000001' }] })],
      GetRecords: [() => ({ Records: [], NextShardIterator: 'i2', MillisBehindLatest: 0 })],
    });
    const { f } = fetcher(client);
    await expect(f.fetch()).resolves.toMatchObject({ records: [], shardEnded: false });
  });

  it('a missing stream never ends the shard: a clear problem in status() until the stream answers', async () => {
    const streamGone = () => Promise.reject(awsError('ResourceNotFoundException', 'Stream s under account 1 not found.'));
    const { client } = fakeKinesis({
      GetShardIterator: [streamGone, streamGone, () => ({ ShardIterator: 'i1' })],
      ListShards: [streamGone, streamGone],
      GetRecords: [() => ({ Records: [], NextShardIterator: 'i2', MillisBehindLatest: 0 })],
    });
    const { f, logger } = fetcher(client);
    const problems: (string | undefined)[] = [];
    const watch = setInterval(() => problems.push(f.problem), 20);
    const batch = await f.fetch();
    clearInterval(watch);
    expect(batch.shardEnded).toBe(false);
    expect(problems.some((p) => p?.includes('the stream is not found'))).toBe(true);
    expect(f.problem).toBeUndefined();
    expect(logger.lines.filter((l) => l.startsWith('ERROR') && l.includes('stream is not found'))).toHaveLength(1);
  });

  it('a denial names the permission of the call that was refused: kinesis:GetShardIterator, kinesis:GetRecords, kms:Decrypt', async () => {
    const { client } = fakeKinesis({
      GetShardIterator: [() => Promise.reject(awsError('AccessDeniedException')), () => ({ ShardIterator: 'i1' })],
      GetRecords: [
        () => Promise.reject(awsError('AccessDeniedException')),
        () => Promise.reject(awsError('KMSAccessDeniedException')),
        () => ({ Records: [], NextShardIterator: 'i2', MillisBehindLatest: 0 }),
      ],
    });
    const { f, logger } = fetcher(client);
    await f.fetch();
    const errors = logger.lines.filter((l) => l.startsWith('ERROR'));
    expect(errors).toHaveLength(3);
    expect(errors[0]).toContain('kinesis:GetShardIterator');
    expect(errors[1]).toContain('kinesis:GetRecords');
    expect(errors[2]).toContain('kms:Decrypt');
  });

  it('LATEST is pinned: the first and every later iterator is AT_TIMESTAMP of the take, less the clock margin', async () => {
    const { client, calls } = fakeKinesis({
      GetShardIterator: [() => ({ ShardIterator: 'i1' }), () => ({ ShardIterator: 'i2' })],
      GetRecords: [
        () => Promise.reject(awsError('ExpiredIteratorException')),
        () => ({ Records: [], NextShardIterator: 'i3', MillisBehindLatest: 0 }),
      ],
    });
    const { f } = fetcher(client, { start: { sequenceNumber: 'LATEST', subSequenceNumber: 0 } });
    await f.fetch();
    const iterators = calls.filter((c) => c.name === 'GetShardIterator').map((c) => c.input);
    expect(iterators).toEqual([
      expect.objectContaining({ ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date('2026-11-28T09:59:59Z') }),
      expect.objectContaining({ ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date('2026-11-28T09:59:59Z') }),
    ]);
  });

  it('throttling and typed 5xx keep the iterator', async () => {
    const { client, calls } = fakeKinesis({
      GetShardIterator: [() => ({ ShardIterator: 'i1' })],
      GetRecords: [
        () => Promise.reject(awsError('ProvisionedThroughputExceededException')),
        () => Promise.reject(Object.assign(awsError('InternalFailure'), { $metadata: { httpStatusCode: 500 } })),
        () => ({ Records: [], NextShardIterator: 'i2', MillisBehindLatest: 0 }),
      ],
    });
    const { f } = fetcher(client);
    await f.fetch();
    expect(calls.filter((c) => c.name === 'GetShardIterator')).toHaveLength(1);
    expect(calls.filter((c) => c.name === 'GetRecords').map((c) => c.input.ShardIterator)).toEqual(['i1', 'i1', 'i1']);
  });

  it('an AT_TIMESTAMP checkpoint starts at the configured timestamp, and so does every iterator before a record is read', async () => {
    const startTimestamp = new Date('2026-11-27T08:00:00.250Z');
    const { client, calls } = fakeKinesis({
      GetShardIterator: [() => ({ ShardIterator: 'i1' }), () => ({ ShardIterator: 'i2' }), () => ({ ShardIterator: 'i3' })],
      GetRecords: [
        () => Promise.reject(awsError('ExpiredIteratorException')),
        () => ({
          Records: [
            { SequenceNumber: '49000000000000000000000000000000000000000000000000000007', Data: new Uint8Array([1]), PartitionKey: 'k' },
          ],
          NextShardIterator: 'i2b',
          MillisBehindLatest: 0,
        }),
        () => Promise.reject(awsError('ExpiredIteratorException')),
        () => ({ Records: [], NextShardIterator: 'i3b', MillisBehindLatest: 0 }),
      ],
    });
    const { f } = fetcher(client, { start: { sequenceNumber: 'AT_TIMESTAMP', subSequenceNumber: 0 }, startTimestamp });
    await expect(f.fetch()).resolves.toMatchObject({
      records: [expect.objectContaining({ sequenceNumber: '49000000000000000000000000000000000000000000000000000007' })],
    });
    await f.fetch();
    const iterators = calls.filter((c) => c.name === 'GetShardIterator').map((c) => c.input);
    expect(iterators).toEqual([
      expect.objectContaining({ ShardIteratorType: 'AT_TIMESTAMP', Timestamp: startTimestamp }),
      expect.objectContaining({ ShardIteratorType: 'AT_TIMESTAMP', Timestamp: startTimestamp }),
      // Once a record was read, renewal continues after it; the timestamp is never used again.
      expect.objectContaining({
        ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
        StartingSequenceNumber: '49000000000000000000000000000000000000000000000000000007',
      }),
    ]);
  });

  it('a sequence-number checkpoint wins over a configured timestamp', async () => {
    const { client, calls } = fakeKinesis({
      GetShardIterator: [() => ({ ShardIterator: 'i1' })],
      GetRecords: [() => ({ Records: [], NextShardIterator: 'i2', MillisBehindLatest: 0 })],
    });
    const { f } = fetcher(client, {
      start: { sequenceNumber: '49000000000000000000000000000000000000000000000000000003', subSequenceNumber: 0 },
      startTimestamp: new Date('2026-11-27T08:00:00Z'),
    });
    await f.fetch();
    expect(calls[0].input).toMatchObject({
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      StartingSequenceNumber: '49000000000000000000000000000000000000000000000000000003',
    });
    expect(calls[0].input.Timestamp).toBeUndefined();
  });

  it("an AT_TIMESTAMP checkpoint with no timestamp configured is refused with one clear error, surfaced as the shard's problem", async () => {
    const { client } = fakeKinesis({});
    const abort = new AbortController();
    const { f, logger } = fetcher(client, { start: { sequenceNumber: 'AT_TIMESTAMP', subSequenceNumber: 0 }, signal: abort.signal });
    const pending = f.fetch().catch((error: Error) => error);
    await waitFor(() => f.problem !== undefined, "the shard's problem");
    expect(f.problem).toContain('AT_TIMESTAMP');
    expect(f.problem).toContain('initialPosition');
    abort.abort();
    await pending;
    expect(logger.lines.filter((l) => l.startsWith('ERROR'))).toHaveLength(1);
  });

  it('classifies read errors', () => {
    const http500 = (name: string) => Object.assign(awsError(name, 'UnknownError'), { $metadata: { httpStatusCode: 500 } });
    expect(classifyReadError(awsError('InvalidArgumentException', 'Invalid ShardIterator'))).toBe('iterator');
    // kinesis-local's answer to an iterator it cannot read: HTTP 500 with no error type.
    expect(classifyReadError(http500('Unknown'))).toBe('iterator');
    // An untyped 503 (a load balancer) and a typed 500 say nothing about the iterator.
    expect(classifyReadError(Object.assign(awsError('Unknown'), { $metadata: { httpStatusCode: 503 } }))).toBe('retry');
    expect(classifyReadError(http500('InternalFailure'))).toBe('retry');
    expect(classifyReadError(awsError('KMSAccessDeniedException'))).toBe('permission');
    expect(classifyReadError(awsError('KMSThrottlingException'))).toBe('retry');
    expect(classifyReadError(awsError('ResourceNotFoundException'))).toBe('not-found');
    expect(classifyReadError(awsError('ServiceUnavailable'))).toBe('retry');
  });

  it('sustained throttling logs one warning, not one per call, and keeps the iterator', async () => {
    const throttled = () => Promise.reject(awsError('ProvisionedThroughputExceededException'));
    const { client, calls } = fakeKinesis({
      GetShardIterator: [() => ({ ShardIterator: 'i1' })],
      GetRecords: [throttled, throttled, throttled, throttled, () => ({ Records: [], NextShardIterator: 'i2', MillisBehindLatest: 0 })],
    });
    const { f, logger } = fetcher(client);
    await f.fetch();
    expect(calls.filter((c) => c.name === 'GetRecords').map((c) => c.input.ShardIterator)).toEqual(['i1', 'i1', 'i1', 'i1', 'i1']);
    expect(logger.lines.filter((l) => l.includes('ProvisionedThroughputExceededException'))).toHaveLength(1);
  });
  describe('a LATEST lease', () => {
    const LATEST = { sequenceNumber: 'LATEST', subSequenceNumber: 0 };
    const takenAt = new Date('2026-11-28T10:00:00Z');
    const pinned = new Date(takenAt.getTime() - 1_000);
    const shapes = (calls: { name: string; input: Record<string, unknown> }[]) =>
      calls.filter((c) => c.name === 'GetShardIterator').map((c) => [c.input.ShardIteratorType, c.input.Timestamp]);

    it('starts at the LATEST iterator prime() got when the lease was taken, and asks for no other', async () => {
      const { client, calls } = fakeKinesis({
        GetShardIterator: [() => ({ ShardIterator: 'latest' })],
        GetRecords: [() => ({ Records: [], NextShardIterator: 'i2', MillisBehindLatest: 0 })],
      });
      const { f } = fetcher(client, { start: LATEST, leaseTakenAt: takenAt });
      await f.prime();
      await f.prime(); // once per lease
      await f.fetch();
      expect(shapes(calls)).toEqual([['LATEST', undefined]]);
      expect(calls.find((c) => c.name === 'GetRecords')!.input.ShardIterator).toBe('latest');
    });

    it('its LATEST iterator lost before any record was read (expired): the new one starts at the take time less the margin, never a fresh LATEST', async () => {
      const { client, calls } = fakeKinesis({
        GetShardIterator: [() => ({ ShardIterator: 'latest' }), () => ({ ShardIterator: 'pinned' })],
        GetRecords: [
          () => ({ Records: [], NextShardIterator: 'i2', MillisBehindLatest: 0 }),
          () => Promise.reject(awsError('ExpiredIteratorException')),
          () => ({ Records: [], NextShardIterator: 'i3', MillisBehindLatest: 0 }),
        ],
      });
      const { f } = fetcher(client, { start: LATEST, leaseTakenAt: takenAt });
      await f.prime();
      await f.fetch();
      await f.fetch();
      expect(shapes(calls)).toEqual([
        ['LATEST', undefined],
        ['AT_TIMESTAMP', pinned],
      ]);
    });

    it('no LATEST iterator at the take (GetShardIterator failing): one warning, and reading starts at the take time less the margin', async () => {
      const { client, calls } = fakeKinesis({
        GetShardIterator: [() => Promise.reject(awsError('ProvisionedThroughputExceededException')), () => ({ ShardIterator: 'pinned' })],
        GetRecords: [() => ({ Records: [], NextShardIterator: 'i2', MillisBehindLatest: 0 })],
      });
      const { f, logger } = fetcher(client, { start: LATEST, leaseTakenAt: takenAt });
      await expect(f.prime()).resolves.toBeUndefined();
      await f.fetch();
      expect(shapes(calls)).toEqual([
        ['LATEST', undefined],
        ['AT_TIMESTAMP', pinned],
      ]);
      expect(logger.lines.filter((l) => l.startsWith('WARN') && l.includes('no LATEST iterator when the lease was taken'))).toHaveLength(1);
    });

    it('a read asked for while the LATEST iterator is on its way waits for it (one iterator, no pinned one)', async () => {
      let answer: (value: unknown) => void = () => undefined;
      const { client, calls } = fakeKinesis({
        GetShardIterator: [() => new Promise((resolve) => (answer = resolve))],
        GetRecords: [() => ({ Records: [], NextShardIterator: 'i2', MillisBehindLatest: 0 })],
      });
      const { f } = fetcher(client, { start: LATEST, leaseTakenAt: takenAt });
      const primed = f.prime();
      const batch = f.fetch();
      await waitFor(() => calls.length === 1, 'the LATEST GetShardIterator sent');
      answer({ ShardIterator: 'latest' });
      await primed;
      await batch;
      expect(shapes(calls)).toEqual([['LATEST', undefined]]);
    });

    it('without prime() (a consumer that waited behind an earlier one of the shard) it starts at the take time less the margin', async () => {
      const { client, calls } = fakeKinesis({
        GetShardIterator: [() => ({ ShardIterator: 'pinned' })],
        GetRecords: [() => ({ Records: [], NextShardIterator: 'i2', MillisBehindLatest: 0 })],
      });
      const { f } = fetcher(client, { start: LATEST, leaseTakenAt: takenAt });
      await f.fetch();
      expect(shapes(calls)).toEqual([['AT_TIMESTAMP', pinned]]);
    });

    it('prime() does nothing for any other start', async () => {
      const { client, calls } = fakeKinesis({});
      const { f } = fetcher(client);
      await f.prime();
      expect(calls).toEqual([]);
    });
  });
});
