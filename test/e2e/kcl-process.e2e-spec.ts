import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test, type TestingModule } from '@nestjs/testing';
import { KinesisWorkerConfigError, KinesisWorkerModule, type KinesisWorkerOptions } from '../../lib';
import { createStream, putRecords } from '../../lib/testing';
import { dynamoClient, kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { closeAndCheck, kclWorkers, processesMentioning, testedKclVersion } from '../support/kcl-processes';
import { readLeases, ownerCounts } from '../support/lease-table';
import { Recorder, recordingProcessor, startApp } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';
import { WorkerFleet } from '../support/worker-fleet';
import { records } from '../support/records';
import { CapturingLogger } from '../support/capturing-logger';

/** The kcl engine's processes: the JVM, its relays and its watchdog, in good and bad times. */
const kinesis = kinesisClient();
const dynamo = dynamoClient();
const fleets: WorkerFleet[] = [];
const open = new Set<TestingModule>();
afterEach(async () => {
  for (const fleet of fleets.splice(0)) fleet.killAll();
  await Promise.all([...open].map((app) => closeAndCheck(app).catch(() => undefined)));
  open.clear();
});
afterAll(() => {
  kinesis.destroy();
  dynamo.destroy();
});

/** The run directory of the kcl worker with this workerId, found through its JVM's properties file. */
function runDirOf(workerId: string): string | undefined {
  const dirs = new Set(processesMentioning('nkw-kcl-').flatMap((p) => /(\/\S*nkw-kcl-[^/\s]+)/.exec(p.args)?.[1] ?? []));
  return [...dirs].find(
    (dir) =>
      existsSync(join(dir, 'kcl.properties')) && readFileSync(join(dir, 'kcl.properties'), 'utf8').includes(`workerId = ${workerId}\n`),
  );
}

async function bootstrapError(options: Partial<KinesisWorkerOptions>, stream: string): Promise<Error> {
  const moduleRef = await Test.createTestingModule({
    imports: [KinesisWorkerModule.forRoot({ ...workerClientOptions(), appName: uniqueName('app'), engine: 'kcl', ...options })],
    providers: [Recorder, recordingProcessor(stream)],
  }).compile();
  moduleRef.useLogger(false);
  try {
    await moduleRef.init();
  } catch (error) {
    return error as Error;
  } finally {
    await moduleRef.close().catch(() => undefined);
  }
  throw new Error('bootstrap succeeded, but it should have failed');
}

describe('the kcl engine processes', () => {
  it('kill -9 of the worker process: the watchdog ends its JVM and relays, and the leases fail over', async () => {
    const stream = uniqueName('orphan');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 2);
    await putRecords(kinesis, stream, records('r', 20));
    const fleet = new WorkerFleet({ appName, streamName: stream, engine: 'kcl', failoverTimeMs: 3000, idleTimeBetweenReadsMs: 100 });
    fleets.push(fleet);
    fleet.start('kcl-victim');
    await waitFor(() => fleet.events().filter((e) => e.kind === 'batch').length >= 2, 'both shards processed by the worker process');
    const runDir = runDirOf('kcl-victim')!;
    expect(runDir).toBeDefined();
    const before = processesMentioning(runDir);
    expect(before.some((p) => p.args.includes('MultiLangDaemon'))).toBe(true);
    expect(before.filter((p) => p.args.includes('relay.js'))).toHaveLength(2);

    const killedAt = Date.now();
    fleet.kill('kcl-victim');
    await waitFor(() => processesMentioning(runDir).length === 0, 'no JVM, relay or watchdog of the killed worker', 30_000);
    console.log(`kill -9 of the worker: its JVM and relays were gone ${Date.now() - killedAt} ms later`);

    // Its leases expire and another kcl worker takes them; its start sweeps the dead worker's run
    // directory. (Any kcl worker starting on this machine sweeps dead runs, so another test run may
    // have done it already: what matters is that none survives.)
    fleet.start('kcl-survivor');
    await waitFor(
      async () => ownerCounts(await readLeases(dynamo, appName)).byOwner.get('kcl-survivor') === 2,
      'the survivor to take both leases',
      30_000,
    );
    expect(existsSync(runDir)).toBe(false);
    await fleet.stopAll();
  });

  it('a JVM that dies under a running worker: ZOMBIE for its processors, a new JVM, and no record lost', async () => {
    const stream = uniqueName('crash');
    const appName = uniqueName('app');
    await createStream(kinesis, stream, 2);
    const first = await putRecords(kinesis, stream, records('first', 20));
    const recorder = new Recorder();
    const logger = new CapturingLogger();
    const app = await startApp(recorder, recordingProcessor(stream), { appName, engine: 'kcl', logger });
    open.add(app);
    await waitFor(() => recorder.deliveries.length >= 20, 'the first 20 records');
    const [worker] = kclWorkers(app);
    const firstPid = worker.daemonPid!;
    const firstRun = processesMentioning(worker.runDirectory!);

    process.kill(firstPid, 'SIGKILL');
    await waitFor(
      () => recorder.events.filter((e) => e.type === 'shutdown' && e.reason === 'ZOMBIE').length === 2,
      'shutdown(ZOMBIE) on both processors',
    );
    await waitFor(() => worker.daemonPid !== undefined && worker.daemonPid !== firstPid, 'a new JVM', 30_000);
    // The old JVM's relays and watchdog are gone with it; the new JVM runs in the same run directory.
    const now = processesMentioning(worker.runDirectory!).map((p) => p.pid);
    expect(firstRun.map((p) => p.pid).filter((pid) => now.includes(pid))).toEqual([]);
    expect(firstRun.filter((p) => p.args.includes('relay.js'))).toHaveLength(2);

    const second = await putRecords(kinesis, stream, records('second', 20));
    await waitFor(
      () => second.every((p) => recorder.deliveries.some((d) => d.sequenceNumber === p.sequenceNumber)),
      'the records put after the crash',
      60_000,
    );
    const delivered = new Set(recorder.deliveries.map((d) => d.sequenceNumber));
    expect([...first, ...second].filter((p) => !delivered.has(p.sequenceNumber))).toEqual([]);
    expect(logger.lines.some((l) => l.startsWith('ERROR') && l.includes('exited unexpectedly (signal SIGKILL); restarting it'))).toBe(true);
    open.delete(app);
    await closeAndCheck(app);
  });

  describe('bootstrap errors name the option and the fix, and start no JVM', () => {
    let stream: string;
    beforeAll(async () => {
      stream = uniqueName('kcl-config');
      await createStream(kinesis, stream, 1);
    });
    const runDirsNow = () => readdirSync(tmpdir()).filter((name) => name.startsWith('nkw-kcl-'));

    it('jars not provisioned', async () => {
      const empty = mkdtempSync(join(tmpdir(), 'no-jars-'));
      const before = runDirsNow();
      const error = await bootstrapError({ kcl: { jarsDir: empty } }, stream);
      expect(error).toBeInstanceOf(KinesisWorkerConfigError);
      expect((error as KinesisWorkerConfigError).option).toBe('kcl.jarsDir');
      expect(error.message).toContain(`Run: node scripts/provision-kcl-jars.js --version ${testedKclVersion()} --dir ${empty}`);
      expect(runDirsNow()).toEqual(before);
      rmSync(empty, { recursive: true, force: true });
    });

    it('no java', async () => {
      const error = await bootstrapError({ kcl: { javaPath: '/nonexistent/bin/java' } }, stream);
      expect((error as KinesisWorkerConfigError).option).toBe('kcl.javaPath');
      expect(error.message).toMatch(/no Java at '\/nonexistent\/bin\/java'.*JAVA_HOME or kcl\.javaPath/);
    });

    it('a stream that does not exist: the same error as the native engine', async () => {
      const error = await bootstrapError({}, 'no-such-stream');
      expect((error as KinesisWorkerConfigError).option).toBe('stream');
      expect(error.message).toMatch(/'no-such-stream' does not exist/);
    });

    it('a JVM that cannot start: the daemon output in the error, and nothing left behind', async () => {
      const before = runDirsNow();
      const error = await bootstrapError({ kcl: { javaOptions: ['-XX:+NoSuchJvmOption'] } }, stream);
      expect(error.message).toMatch(/exited during start-up \(exit code 1\)/);
      expect(error.message).toContain('NoSuchJvmOption');
      expect(runDirsNow()).toEqual(before);
    });
  });
});
