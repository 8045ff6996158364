import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createStream, putRecords, type LocalEmulators } from '../../lib/testing';
import { compiled } from '../lib/compiled';
import { kinesisClientFor } from '../lib/setup';
import { kclJarsMissing } from '../lib/kcl-jars';
import { median, row, type BenchRow } from '../lib/stats';
import { WorkerFleet } from '../../test/support/worker-fleet';

async function bareStartMs(emulators: LocalEmulators, stream: string): Promise<number> {
  const startedAt = Date.now();
  const child = fork(compiled('bench/lib/bare-first-record.ts'), [emulators.kinesis.endpoint, stream], {
    stdio: 'inherit',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const at = await new Promise<number>((resolve) => child.once('message', (m: { at: number }) => resolve(m.at)));
  child.kill('SIGKILL');
  return at - startedAt;
}

async function engineStartMs(emulators: LocalEmulators, stream: string, engine: 'native' | 'kcl'): Promise<number> {
  const fleet = new WorkerFleet(
    {
      engine,
      appName: `bench-${randomBytes(3).toString('hex')}`,
      streamName: stream,
      ...emulators.workerOptions,
      idleTimeBetweenReadsMs: 100,
    },
    0,
    {},
    compiled('test/support/worker-process.ts'),
  );
  const startedAt = Date.now();
  fleet.start();
  try {
    for (;;) {
      const first = fleet.events().find((e) => e.kind === 'batch');
      if (first && first.kind === 'batch') return first.start - startedAt;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await fleet.stopAll();
  }
}

interface RequireCost {
  readonly rssMb: number;
  readonly ms: number;
}

/** What requiring one entry point costs a fresh process (bench/lib/require-cost.ts, after a GC). */
async function requireCost(entry: string): Promise<RequireCost> {
  const child = fork(compiled('bench/lib/require-cost.ts'), [entry], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const { costs } = await new Promise<{ costs: RequireCost[] }>((resolve) => child.once('message', resolve));
  await new Promise((resolve) => child.once('exit', resolve));
  return costs[0];
}

/** The framework-free entry against the package root (which also exports, hence loads, the Nest module): medians of 3. */
async function entryPointRows(): Promise<BenchRow[]> {
  const standalone: RequireCost[] = [];
  const root: RequireCost[] = [];
  for (let i = 0; i < 3; i++) {
    standalone.push(await requireCost('lib/standalone'));
    root.push(await requireCost('lib/index'));
  }
  const name = "require('nestjs-kinesis-worker/standalone')";
  const baselineName = "require('nestjs-kinesis-worker'), the package root (loads @nestjs/common and @nestjs/core)";
  return [
    row({
      group: 'start-up',
      name: `${name}: + RSS`,
      value: median(standalone.map((c) => c.rssMb)),
      unit: 'MB',
      baseline: median(root.map((c) => c.rssMb)),
      baselineName,
    }),
    row({
      group: 'start-up',
      name: `${name}: time`,
      value: median(standalone.map((c) => c.ms)),
      unit: 'ms',
      baseline: median(root.map((c) => c.ms)),
      baselineName,
    }),
  ];
}

/** 6.: from process start to the first record delivered: native against a bare SDK process and against the kcl engine. */
export async function startupBenchmarks(emulators: LocalEmulators): Promise<BenchRow[]> {
  process.env.TEST_KINESIS_ENDPOINT = emulators.kinesis.endpoint;
  process.env.TEST_DYNAMODB_ENDPOINT = emulators.dynamodb.endpoint;
  const kinesis = kinesisClientFor(emulators.kinesis.endpoint);
  const stream = `bench-start-${randomBytes(3).toString('hex')}`;
  await createStream(kinesis, stream, 4);
  await putRecords(
    kinesis,
    stream,
    Array.from({ length: 40 }, (_, i) => ({ partitionKey: `pk-${i}`, data: `r${i}` })),
  );
  kinesis.destroy();
  const missing = kclJarsMissing();
  if (missing) console.error(`start-up: kcl rows skipped: ${missing}`);
  const bare: number[] = [];
  const native: number[] = [];
  const kcl: number[] = [];
  for (let i = 0; i < 3; i++) {
    bare.push(await bareStartMs(emulators, stream));
    native.push(await engineStartMs(emulators, stream, 'native'));
    if (!missing) kcl.push(await engineStartMs(emulators, stream, 'kcl'));
  }
  return [
    ...(await entryPointRows()),
    ...(kcl.length
      ? [
          row({
            group: 'start-up',
            name: 'native / kcl engine: process start -> first record',
            value: median(native),
            unit: 'ms',
            baseline: median(kcl),
            baselineName: 'kcl engine (JVM)',
          }),
        ]
      : []),
    row({
      group: 'start-up',
      name: 'native engine: process start -> first record (fresh application)',
      value: median(native),
      unit: 'ms',
      baseline: median(bare),
      baselineName: 'bare SDK process',
    }),
  ];
}
