import { randomBytes } from 'node:crypto';
import { bareLoop } from '../lib/bare-loop';
import { stopChild } from '../lib/child';
import { CreateTableCommand, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { dynaliteChild, kinesisClientFor, limitedKinesis, measureEngine, Meter, syntheticKinesis, type Window } from '../lib/setup';
import { median, row, type BenchRow } from '../lib/stats';
import { LOCAL_CREDENTIALS, LOCAL_REGION, createStream, putRecords, type LocalEmulators } from '../../lib/testing';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** maxGetRecordsPerSecond for the ceiling rows: the synthetic endpoints do not limit calls. */
const UNPACED = 1000;

/** The bare SDK loop; with `checkpoints`, one hand-written UpdateItem per batch into that table, as a checkpoint. */
async function measureBare(
  endpoint: string,
  stream: string,
  maxRecords: number,
  target: number,
  finite = false,
  checkpoints?: BareCheckpoints,
): Promise<Window> {
  const kinesis = kinesisClientFor(endpoint);
  const meter = new Meter(target, !finite);
  if (finite) meter.start();
  await bareLoop(kinesis, stream, {
    maxRecords,
    idleMs: 0,
    onRecords: async (records, shardId) => {
      let bytes = 0;
      for (const record of records) bytes += Buffer.from(record.Data!.buffer, record.Data!.byteOffset, record.Data!.byteLength).length;
      meter.add(records.length, bytes);
      if (checkpoints && !meter.finished) await checkpoints.write(shardId, records.at(-1)!.SequenceNumber!);
    },
    until: () => meter.finished,
  });
  kinesis.destroy();
  return meter.done;
}

/** A checkpoint table for the bare loop: what a developer adds by hand, one UpdateItem per batch. */
class BareCheckpoints {
  private constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly table: string,
  ) {}

  static async create(endpoint: string): Promise<BareCheckpoints> {
    const dynamodb = new DynamoDBClient({ region: LOCAL_REGION, endpoint, credentials: LOCAL_CREDENTIALS });
    const table = `bare-checkpoints-${randomBytes(3).toString('hex')}`;
    await dynamodb.send(
      new CreateTableCommand({
        TableName: table,
        KeySchema: [{ AttributeName: 'leaseKey', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'leaseKey', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    return new BareCheckpoints(dynamodb, table);
  }

  async write(shardId: string, sequenceNumber: string): Promise<void> {
    await this.dynamodb.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { leaseKey: { S: shardId } },
        UpdateExpression: 'SET checkpoint = :c ADD leaseCounter :one',
        ExpressionAttributeValues: { ':c': { S: sequenceNumber }, ':one': { N: '1' } },
      }),
    );
  }

  destroy(): void {
    this.dynamodb.destroy();
  }
}

/** Alternates baseline and engine RUNS times and keeps the median of each. */
async function compare(label: string, bare: () => Promise<Window>, engine: () => Promise<Window>, baselineName = 'bare SDK loop') {
  const bares: Window[] = [];
  const engines: Window[] = [];
  for (let i = 0; i < RUNS; i++) {
    bares.push(await bare());
    engines.push(await engine());
  }
  const rate = (w: Window) => (w.records / w.ms) * 1000;
  const mbRate = (w: Window) => (w.bytes / 1048576 / w.ms) * 1000;
  const cpuPerRecord = (w: Window) => w.cpuMicros / w.records;
  const cpuPerMb = (w: Window) => w.cpuMicros / 1000 / (w.bytes / 1048576);
  return {
    label,
    baselineName,
    recordsPerSec: { engine: median(engines.map(rate)), bare: median(bares.map(rate)) },
    mbPerSec: { engine: median(engines.map(mbRate)), bare: median(bares.map(mbRate)) },
    cpuMicrosPerRecord: { engine: median(engines.map(cpuPerRecord)), bare: median(bares.map(cpuPerRecord)) },
    cpuMsPerMb: { engine: median(engines.map(cpuPerMb)), bare: median(bares.map(cpuPerMb)) },
  };
}

function rows(group: string, c: Awaited<ReturnType<typeof compare>>, throughputTarget?: { minRecordsPerSec?: number }): BenchRow[] {
  const ratio = c.recordsPerSec.engine / c.recordsPerSec.bare;
  return [
    row({
      group,
      name: `${c.label} records/s`,
      value: c.recordsPerSec.engine,
      unit: 'rec/s',
      baseline: c.recordsPerSec.bare,
      baselineName: c.baselineName,
      target: throughputTarget?.minRecordsPerSec ? `>= 0.9 x bare and >= ${throughputTarget.minRecordsPerSec} rec/s` : '>= 0.9 x bare',
      met: ratio >= 0.9 && (!throughputTarget?.minRecordsPerSec || c.recordsPerSec.engine >= throughputTarget.minRecordsPerSec),
    }),
    row({
      group,
      name: `${c.label} MB/s`,
      value: c.mbPerSec.engine,
      unit: 'MB/s',
      baseline: c.mbPerSec.bare,
      baselineName: c.baselineName,
    }),
    row({
      group,
      name: `${c.label} CPU per record`,
      value: c.cpuMicrosPerRecord.engine,
      unit: 'µs',
      baseline: c.cpuMicrosPerRecord.bare,
      baselineName: c.baselineName,
    }),
    row({
      group,
      name: `${c.label} CPU per MB`,
      value: c.cpuMsPerMb.engine,
      unit: 'ms',
      baseline: c.cpuMsPerMb.bare,
      baselineName: c.baselineName,
    }),
  ];
}

/** 1. and 2.: the throughput ceiling and CPU cost, on a synthetic endpoint and on the emulators. */
export async function throughputBenchmarks(emulators: LocalEmulators): Promise<BenchRow[]> {
  const results: BenchRow[] = [];
  const dynamo = await dynaliteChild();
  try {
    for (const { bytes, perResponse, target, label } of [
      { bytes: 1024, perResponse: 1000, target: 200_000, label: 'synthetic 1 KB (unpaced)' },
      { bytes: 25 * 1024, perResponse: 100, target: 12_000, label: 'synthetic 25 KB (unpaced)' },
    ]) {
      const synthetic = await syntheticKinesis(4, bytes, perResponse);
      try {
        const c = await compare(
          label,
          () => measureBare(synthetic.endpoint, 'synthetic', 10_000, target),
          () =>
            measureEngine(
              {
                appName: `bench-${randomBytes(3).toString('hex')}`,
                streamName: 'synthetic',
                region: LOCAL_REGION,
                kinesis: { endpoint: synthetic.endpoint, credentials: LOCAL_CREDENTIALS },
                // These endpoints have no call limit, nor has the bare loop: the consumer's own ceiling.
                maxGetRecordsPerSecond: UNPACED,
                dynamodb: { endpoint: dynamo.endpoint, credentials: LOCAL_CREDENTIALS },
              },
              target,
            ),
        );
        results.push(...rows('throughput', c, bytes === 1024 ? { minRecordsPerSec: 100_000 } : undefined));
      } finally {
        await stopChild(synthetic.child);
      }
    }

    // Checkpointing every batch needs sequence numbers that increase: the limited endpoint, limits off.
    for (const { bytes, target, label } of [
      { bytes: 1024, target: 100_000, label: 'synthetic 1 KB, checkpoint per batch (unpaced)' },
      { bytes: 25 * 1024, target: 6_000, label: 'synthetic 25 KB, checkpoint per batch (unpaced)' },
    ]) {
      const synthetic = await limitedKinesis({
        streamName: 'synthetic',
        shards: 4,
        recordBytes: bytes,
        producedBytesPerSecond: null,
        enforceLimits: false,
      });
      const checkpoints = await BareCheckpoints.create(dynamo.endpoint);
      try {
        const c = await compare(
          label,
          () => measureBare(synthetic.endpoint, 'synthetic', 10_000, target, false, checkpoints),
          () =>
            measureEngine(
              {
                appName: `bench-${randomBytes(3).toString('hex')}`,
                streamName: 'synthetic',
                region: LOCAL_REGION,
                kinesis: { endpoint: synthetic.endpoint, credentials: LOCAL_CREDENTIALS },
                // These endpoints have no call limit, nor has the bare loop: the consumer's own ceiling.
                maxGetRecordsPerSecond: UNPACED,
                dynamodb: { endpoint: dynamo.endpoint, credentials: LOCAL_CREDENTIALS },
              },
              target,
              false,
              true,
            ),
          'bare SDK loop + UpdateItem per batch',
        );
        results.push(...rows('throughput', c));
      } finally {
        checkpoints.destroy();
        await stopChild(synthetic.child);
      }
    }

    const kinesis = kinesisClientFor(emulators.kinesis.endpoint);
    const stream = `bench-fill-${randomBytes(3).toString('hex')}`;
    await createStream(kinesis, stream, 4);
    const payload = 'k'.repeat(1024);
    const prefill = Number(process.env.BENCH_PREFILL ?? 6000);
    await putRecords(
      kinesis,
      stream,
      Array.from({ length: prefill }, (_, i) => ({ partitionKey: `pk-${i}`, data: payload })),
    );
    kinesis.destroy();
    const c = await compare(
      'kinesis-local 1 KB',
      () => measureBare(emulators.kinesis.endpoint, stream, 10_000, prefill, true),
      () =>
        measureEngine(
          {
            appName: `bench-${randomBytes(3).toString('hex')}`,
            streamName: stream,
            ...emulators.workerOptions,
            dynamodb: { endpoint: dynamo.endpoint, credentials: LOCAL_CREDENTIALS },
          },
          prefill,
          true,
        ),
    );
    results.push(...rows('throughput', c));
  } finally {
    await stopChild(dynamo.child);
  }
  return results;
}
