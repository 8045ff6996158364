import { Tag } from 'cbor-x';
import { createWorker, type KinesisWorker, type StreamWorkerOptions, type WireFormat } from '../../lib';
import { createStream, faults, putRecords, startFaultProxy, type FaultProxy, type PutResult } from '../../lib/testing';
import { CapturingLogger } from '../support/capturing-logger';
import { endpoints, kinesisClient, uniqueName } from '../support/aws';
import { putAggregated, records } from '../support/records';
import { waitFor } from '../support/wait-for';

/**
 * retrieval.wireFormat 'cbor' on kinesis-local, through the fault proxy (which reads and answers CBOR):
 * every record is delivered byte for byte, KPL aggregates included, in kinesis-local's CBOR shape (Data
 * base64 text, untagged millisecond timestamps) and, rewritten by the proxy, in real Kinesis' shape
 * (byte strings, tag 1); throttling and an expired iterator behave as they do in JSON.
 */
const kinesis = kinesisClient();
let proxy: FaultProxy;
const workers = new Set<KinesisWorker>();

beforeAll(async () => {
  proxy = await startFaultProxy({ target: endpoints().kinesis });
});
afterEach(async () => {
  proxy.clear();
  proxy.resetStats();
  await Promise.all([...workers].map((w) => w.stop()));
  workers.clear();
});
afterAll(async () => {
  await proxy.close();
  kinesis.destroy();
});

interface Delivered {
  data: Buffer;
  sequenceNumber: string;
  subSequenceNumber?: number;
  arrival: Date;
}

async function startWorker(stream: string, wireFormat: WireFormat, options: Partial<StreamWorkerOptions> = {}) {
  const delivered: Delivered[] = [];
  const logger = new CapturingLogger();
  const worker = createWorker(
    {
      appName: uniqueName('app'),
      streamName: stream,
      kinesis: { endpoint: proxy.url, maxAttempts: 1 },
      dynamodb: { endpoint: endpoints().dynamodb },
      idleTimeBetweenReadsMs: 50,
      failoverTimeMs: 3_000,
      retrieval: { wireFormat },
      logger,
      ...options,
    },
    () => ({
      async processRecords({ records: batch, checkpointer }) {
        for (const r of batch)
          delivered.push({
            data: Buffer.from(r.data),
            sequenceNumber: r.sequenceNumber,
            subSequenceNumber: r.subSequenceNumber,
            arrival: r.approximateArrivalTimestamp,
          });
        await checkpointer.checkpoint();
      },
    }),
  );
  workers.add(worker);
  await worker.start();
  return { delivered, logger };
}

/** Binary payloads (every byte value, invalid UTF-8) and non-ASCII text: what base64 and byte strings must carry alike. */
function binaryRecords(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    partitionKey: `clé-${i % 3}`,
    data: Buffer.concat([Buffer.from(`bin-${i}:`), Buffer.from(Array.from({ length: 256 }, (__, b) => (b + i) % 256))]),
  }));
}

const GetRecordsAnswers = () => {
  const seen: { data: string; arrival: string }[] = [];
  const observe = (body: unknown) => {
    for (const record of (body as { Records?: Record<string, unknown>[] } | undefined)?.Records ?? [])
      seen.push({
        data: record.Data instanceof Uint8Array ? 'bytes' : typeof record.Data,
        arrival: record.ApproximateArrivalTimestamp instanceof Date ? 'date' : typeof record.ApproximateArrivalTimestamp,
      });
  };
  return { seen, observe };
};

describe("retrieval.wireFormat 'cbor' (native engine, kinesis-local behind the fault proxy)", () => {
  it("delivers every record, KPL aggregates included, from kinesis-local's CBOR answers", async () => {
    const stream = uniqueName('cbor');
    await createStream(kinesis, stream, 1);
    const plain = await putRecords(kinesis, stream, binaryRecords(5));
    const aggregated = await putAggregated(kinesis, stream, 'agg', 8);
    const after = await putRecords(kinesis, stream, records('tail', 3));
    const answers = GetRecordsAnswers();
    const requestTypes: string[] = [];
    proxy.set(
      'GetRecords',
      faults.transform((body, request) => {
        requestTypes.push(String(request.headers['content-type']));
        answers.observe(body);
        return undefined;
      }),
    );
    const { delivered } = await startWorker(stream, 'cbor');
    await waitFor(() => delivered.length >= 16, '16 user records');
    expect(delivered.map((d) => d.data)).toEqual([
      ...plain.map((p) => p.data),
      ...Array.from({ length: 8 }, (_, i) => Buffer.from(`agg-${i}`)),
      ...after.map((p) => p.data),
    ]);
    expect(delivered.slice(5, 13).map((d) => [d.sequenceNumber, d.subSequenceNumber])).toEqual(
      Array.from({ length: 8 }, (_, i) => [aggregated, i]),
    );
    // The answers were kinesis-local's CBOR: base64 text and untagged integers (milliseconds), read as dates of now.
    expect(new Set(requestTypes)).toEqual(new Set(['application/x-amz-cbor-1.1']));
    expect(new Set(answers.seen.map((s) => `${s.data} ${s.arrival}`))).toEqual(new Set(['string number']));
    for (const d of delivered) expect(Math.abs(d.arrival.getTime() - Date.now())).toBeLessThan(10 * 60_000);
  });

  it("delivers every record from answers in real Kinesis' shape (byte strings, tag 1 seconds)", async () => {
    const stream = uniqueName('cborreal');
    await createStream(kinesis, stream, 1);
    const plain = await putRecords(kinesis, stream, binaryRecords(5));
    const aggregated = await putAggregated(kinesis, stream, 'agg', 4);
    const arrivals = new Map<string, number>();
    // The proxy rewrites kinesis-local's shape into real Kinesis' one, and encodes it back to CBOR.
    proxy.set(
      'GetRecords',
      faults.transform((body, _, status) => {
        const answer = body as { Records?: Record<string, unknown>[] } | undefined;
        if (status !== 200 || !answer?.Records) return undefined;
        for (const record of answer.Records) {
          const ms = record.ApproximateArrivalTimestamp as number;
          arrivals.set(record.SequenceNumber as string, ms);
          record.Data = Buffer.from(record.Data as string, 'base64');
          record.ApproximateArrivalTimestamp = new Tag(ms / 1000, 1);
        }
        return answer;
      }),
    );
    const { delivered } = await startWorker(stream, 'cbor');
    await waitFor(() => delivered.length >= 9, '9 user records');
    expect(delivered.map((d) => d.data)).toEqual([
      ...plain.map((p) => p.data),
      ...Array.from({ length: 4 }, (_, i) => Buffer.from(`agg-${i}`)),
    ]);
    expect(delivered.at(-1)!.sequenceNumber).toBe(aggregated);
    expect(arrivals.size).toBeGreaterThan(0);
    for (const d of delivered) expect(d.arrival.getTime()).toBe(arrivals.get(d.sequenceNumber));
  });

  it.each<WireFormat>(['json', 'cbor'])(
    '%s: throttled GetRecords reach the engine as ProvisionedThroughputExceededException, and nothing is lost',
    async (wireFormat) => {
      const stream = uniqueName(`throttle${wireFormat}`);
      await createStream(kinesis, stream, 1);
      proxy.set('GetRecords', 'throttle', { times: 3 });
      const { delivered, logger } = await startWorker(stream, wireFormat);
      const puts = await putRecords(kinesis, stream, records('r', 20));
      await waitFor(() => delivered.length >= puts.length, `${puts.length} records`);
      expect(delivered.map((d) => d.data.toString())).toEqual(puts.map((p) => p.data.toString()));
      expect(proxy.requests.filter((r) => r.fault === 'throttle' && r.status === 400)).toHaveLength(3);
      const warnings = logger.lines.filter((l) => l.startsWith('WARN') && l.includes('GetRecords on'));
      expect(warnings.some((l) => l.includes('ProvisionedThroughputExceededException'))).toBe(true);
    },
  );

  it.each<WireFormat>(['json', 'cbor'])(
    '%s: ExpiredIteratorException resumes right after the last record delivered, no gap and no replay',
    async (wireFormat) => {
      const stream = uniqueName(`expired${wireFormat}`);
      await createStream(kinesis, stream, 1);
      const { delivered } = await startWorker(stream, wireFormat);
      const first = await putRecords(kinesis, stream, records('a', 10));
      await waitFor(() => delivered.length >= 10, 'the first 10 records');
      const shapes: string[] = [];
      proxy.set(
        'GetShardIterator',
        faults.respond((r) => void shapes.push(`${String(r.body?.ShardIteratorType)} ${String(r.body?.StartingSequenceNumber)}`)),
      );
      proxy.set('GetRecords', 'expiredIterator', { times: 2 });
      const second = await putRecords(kinesis, stream, records('b', 10));
      await waitFor(() => delivered.length >= 20, '20 records');
      const getRecordsAt20 = proxy.count('GetRecords');
      await waitFor(() => proxy.count('GetRecords') >= getRecordsAt20 + 3, '3 more GetRecords after the 20th record');
      const sent = (puts: PutResult[]) => puts.map((p) => p.data.toString());
      expect(delivered.map((d) => d.data.toString())).toEqual([...sent(first), ...sent(second)]);
      expect(shapes).toEqual([
        `AFTER_SEQUENCE_NUMBER ${first.at(-1)!.sequenceNumber}`,
        `AFTER_SEQUENCE_NUMBER ${first.at(-1)!.sequenceNumber}`,
      ]);
    },
  );
});
