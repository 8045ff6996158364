import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { KinesisProcessor, type KinesisRecordProcessor, type ProcessRecordsInput } from '../../lib';
import * as testing from '../../lib/testing';
import { KinesisTestStreams, KinesisWorkerTestingModule } from '../../lib/testing/nest';

/**
 * Several specs on one jest worker's emulators (sharedEmulators(): one set per process), each with its
 * own KinesisWorkerTestingModule and the stream names its processors have in production: modules alive
 * at once (two describe blocks whose apps overlap, Promise.all in a beforeAll) and one after the other,
 * one loaded through another module registry, and two real spec files run by a jest of their own.
 * Each sees only its own records, on its own lease table.
 */

const ROOT = resolve(__dirname, '../..');

@Injectable()
class Seen {
  readonly data: string[] = [];
}

@KinesisProcessor('orders')
class OrdersProcessor implements KinesisRecordProcessor {
  constructor(private readonly seen: Seen) {}

  async processRecords({ records, checkpointer }: ProcessRecordsInput) {
    for (const record of records) this.seen.data.push(record.data.toString());
    await checkpointer.checkpoint();
  }
}

const apps: TestingModule[] = [];
async function startApp(shards = 2): Promise<{ kinesis: KinesisTestStreams; seen: Seen }> {
  const app = await Test.createTestingModule({
    imports: [KinesisWorkerTestingModule.forRoot({ streams: { orders: shards } })],
    providers: [OrdersProcessor, Seen],
  }).compile();
  apps.push(app);
  await app.init();
  return { kinesis: app.get(KinesisTestStreams), seen: app.get(Seen) };
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

const entries = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({ data: `${prefix}-${i}`, partitionKey: `${prefix}-${i}` }));

describe('KinesisWorkerTestingModules sharing one jest worker’s emulators', () => {
  it('two modules alive at once with the same stream name: one emulator, a stream each, a lease table each, each worker sees only its own records', async () => {
    const [a, b] = await Promise.all([startApp(), startApp()]);
    expect(a.kinesis.emulators.kinesis.endpoint).toBe(b.kinesis.emulators.kinesis.endpoint);
    expect(a.kinesis.region).not.toBe(b.kinesis.region);
    expect(a.kinesis.appName).not.toBe(b.kinesis.appName);

    await Promise.all([a.kinesis.put('orders', entries('a', 6)), b.kinesis.put('orders', entries('b', 4))]);
    await Promise.all([a.kinesis.processed(), b.kinesis.processed()]);
    expect([...a.seen.data].sort()).toEqual(entries('a', 6).map((entry) => entry.data));
    expect([...b.seen.data].sort()).toEqual(entries('b', 4).map((entry) => entry.data));
    // Each worker took both leases of its own stream (one table and stream for both would split them 1 and 1).
    const leasesTaken = (kinesis: KinesisTestStreams) => kinesis.events().filter((event) => event.type === 'leaseTaken').length;
    expect([leasesTaken(a.kinesis), leasesTaken(b.kinesis)]).toEqual([2, 2]);
  });

  it('one after the other: the second module gets the name back and a new stream, without the first one’s records', async () => {
    const first = await startApp(1);
    await first.kinesis.put('orders', entries('first', 3));
    await first.kinesis.processed();
    const firstRegion = first.kinesis.region;
    await apps.splice(0)[0].close();

    const second = await startApp(1);
    expect(second.kinesis.region).toBe(firstRegion);
    await second.kinesis.put('orders', entries('second', 2));
    await second.kinesis.processed();
    expect(second.seen.data).toEqual(['second-0', 'second-1']);
  });

  it('a KinesisTestStreams from another module registry (a second spec file of this jest worker) shares the emulators, not the stream', async () => {
    const nest = await startApp(1);
    let isolated: typeof testing | undefined;
    jest.isolateModules(() => {
      isolated = jest.requireActual<typeof testing>('../../lib/testing');
    });
    expect(isolated!.KinesisTestStreams).not.toBe(testing.KinesisTestStreams); // another copy of the module, as in another spec file
    const other = await isolated!.KinesisTestStreams.create({ streams: { orders: 1 } });
    try {
      expect(other.emulators.kinesis.endpoint).toBe(nest.kinesis.emulators.kinesis.endpoint);
      expect(other.region).not.toBe(nest.kinesis.region);
      // Put first into the other 'orders': were it the same stream (one shard), the app's worker would
      // process it before its own record, which processed() waits for.
      await other.put('orders', entries('other', 2));
      await nest.kinesis.put('orders', entries('mine', 1));
      await nest.kinesis.processed();
      expect(nest.seen.data).toEqual(['mine-0']);
    } finally {
      await other.close();
    }
  });

  it('two spec files in one jest worker (a jest of their own, in band, as a user runs it): one emulator set, each file its own records', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'two-spec-files-'));
    try {
      const report = join(dir, 'report.jsonl');
      writeFileSync(report, '');
      const config = join(dir, 'jest.config.json');
      // A user's jest: Node's environment, no globalSetup; the package names mapped as in this repo's config.
      writeFileSync(
        config,
        JSON.stringify({
          rootDir: ROOT,
          roots: ['<rootDir>/test/fixtures/two-spec-files'],
          testRegex: '\\.fixture-spec\\.ts$',
          testEnvironment: 'node',
          transform: { '^.+\\.ts$': 'ts-jest' },
          // eslint-disable-next-line @typescript-eslint/no-require-imports -- jest.config.js is CommonJS
          moduleNameMapper: (require(join(ROOT, 'jest.config.js')) as { moduleNameMapper: Record<string, string> }).moduleNameMapper,
          setupFiles: ['reflect-metadata'],
          // As docs/testing.md says: the first test of a jest worker also starts the emulators.
          testTimeout: 30_000,
        }),
      );
      const run = await new Promise<{ code: number; output: string }>((done) =>
        execFile(
          process.execPath,
          [join(ROOT, 'node_modules/jest/bin/jest.js'), '--config', config, '--runInBand', '--verbose'],
          { cwd: ROOT, env: { ...process.env, TWO_SPEC_FILES_REPORT: report }, timeout: 120_000 },
          (error, stdout, stderr) => done({ code: error ? Number(error.code ?? -1) : 0, output: `${stdout}${stderr}` }),
        ),
      );
      expect([run.code, run.code === 0 ? '' : run.output]).toEqual([0, '']);
      console.log(
        `the two spec files, in one jest process:\n${run.output
          .split('\n')
          .filter((line) => /PASS|✓|Time:/.test(line))
          .join('\n')}`,
      );
      const files = readFileSync(report, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { file: string; endpoint: string; dynamodb: string; appName: string; seen: string[] });
      expect(files.map((file) => file.file).sort()).toEqual(['first', 'second']);
      expect(new Set(files.map((file) => file.endpoint)).size).toBe(1);
      expect(new Set(files.map((file) => file.dynamodb)).size).toBe(1);
      expect(new Set(files.map((file) => file.appName)).size).toBe(2);
      for (const file of files) expect(file.seen.every((data) => data.startsWith(`${file.file}-`))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
