import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test, type TestingModule } from '@nestjs/testing';
import { KinesisWorkerModule, KinesisWorkerService } from '../../lib';
import { KinesisWorkerHealthIndicator } from '../../lib/health';
import { createStream, putRecords, startFaultProxy, type FaultProxy } from '../../lib/testing';
import { endpoints, kinesisClient, uniqueName } from '../support/aws';
import { Recorder, recordingProcessor } from '../support/recording-processor';
import { records } from '../support/records';
import { waitFor } from '../support/wait-for';

/** The terminus health indicator in a real Nest app with a terminus HealthCheckService, on the emulators. */
const kinesis = kinesisClient();
let proxy: FaultProxy;
let app: TestingModule | undefined;
beforeAll(async () => {
  proxy = await startFaultProxy({ target: endpoints().dynamodb });
});
afterEach(async () => {
  proxy.clear();
  await app?.close();
  app = undefined;
});
afterAll(async () => {
  await proxy.close();
  kinesis.destroy();
});

async function boot(
  stream: string,
  recorder: Recorder,
  autoStart = true,
  processorOptions: Parameters<typeof recordingProcessor>[1] = {},
  failoverTimeMs = 6_000,
) {
  app = await Test.createTestingModule({
    imports: [
      TerminusModule,
      KinesisWorkerModule.forRoot({
        appName: uniqueName('app'),
        autoStart,
        kinesis: { endpoint: endpoints().kinesis },
        dynamodb: { endpoint: proxy.url, maxAttempts: 1 },
        idleTimeBetweenReadsMs: 50,
        failoverTimeMs,
      }),
    ],
    providers: [{ provide: Recorder, useValue: recorder }, recordingProcessor(stream, processorOptions), KinesisWorkerHealthIndicator],
  }).compile();
  app.useLogger(false);
  await app.init();
  return app;
}

/** What a /health endpoint returns: terminus' result, or its error response when a check is down. */
async function check(moduleRef: TestingModule, options: Parameters<KinesisWorkerHealthIndicator['isHealthy']>[1] = {}) {
  const health = moduleRef.get(HealthCheckService);
  const indicator = moduleRef.get(KinesisWorkerHealthIndicator);
  try {
    return await health.check([() => indicator.isHealthy('kinesis', options)]);
  } catch (error) {
    return (error as { getResponse(): { status: string; error: Record<string, { problems?: string[] }> } }).getResponse();
  }
}

it('up while the worker runs; down before start (autoStart: false) and after stop', async () => {
  const stream = uniqueName('health');
  await createStream(kinesis, stream, 1);
  const moduleRef = await boot(stream, new Recorder(), false);
  const before = await check(moduleRef);
  expect(before.status).toBe('error');
  expect(JSON.stringify(before)).toContain('no worker is running');
  await moduleRef.get(KinesisWorkerService).start();
  await waitFor(() => moduleRef.get(KinesisWorkerService).status()[0].shards.length === 1, 'the shard leased');
  expect((await check(moduleRef)).status).toBe('ok');
  await moduleRef.get(KinesisWorkerService).stop();
  expect((await check(moduleRef)).status).toBe('error');
});

it('down when lease renewals fail for longer than the threshold, up again once DynamoDB answers', async () => {
  const stream = uniqueName('health');
  await createStream(kinesis, stream, 1);
  const moduleRef = await boot(stream, new Recorder());
  await waitFor(() => moduleRef.get(KinesisWorkerService).status()[0].shards.length === 1, 'the shard leased');
  expect((await check(moduleRef, { maxMsSinceLeaseRenewal: 3_000 })).status).toBe('ok');
  const rule = proxy.set('UpdateItem', 'http500');
  await waitFor(async () => (await check(moduleRef, { maxMsSinceLeaseRenewal: 3_000 })).status === 'error', 'the check to go down', 20_000);
  expect(JSON.stringify(await check(moduleRef, { maxMsSinceLeaseRenewal: 3_000 }))).toMatch(/lease renewals of .* have failed for \d+ ms/);
  rule.remove();
  await waitFor(
    async () => (await check(moduleRef, { maxMsSinceLeaseRenewal: 3_000 })).status === 'ok',
    'the check to come back up',
    20_000,
  );
});

it("without a limit, renewals are judged by the worker's own lease timing: up across a slow renewer's gaps, down once rounds fail", async () => {
  const stream = uniqueName('health');
  await createStream(kinesis, stream, 1);
  // failoverTimeMs 18000: renewals every 5975 ms, so the default limit is (5975 + 18000) / 2 = 11988 ms.
  const moduleRef = await boot(stream, new Recorder(), true, {}, 18_000);
  await waitFor(() => moduleRef.get(KinesisWorkerService).status()[0].shards.length === 1, 'the shard leased');
  type Details = { status: string; details: { kinesis: { workers: { msSinceLeaseRenewal?: number }[] } } };
  let late: Details | undefined;
  await waitFor(
    async () => {
      const result = (await check(moduleRef)) as unknown as Details;
      if ((result.details.kinesis.workers[0].msSinceLeaseRenewal ?? 0) <= 5_500) return false;
      late = result;
      return true;
    },
    'a moment more than 5.5 s after the last renewal (a fixed 5 s limit would flap here)',
    20_000,
  );
  expect(late!.status).toBe('ok');
  proxy.set('UpdateItem', 'http500');
  await waitFor(async () => (await check(moduleRef)).status === 'error', 'the check to go down', 30_000);
  expect(JSON.stringify(await check(moduleRef))).toMatch(/lease renewals of .* have failed for \d+ ms \(limit 11988 ms\)/);
});

it('a DynamoDB outage long enough to lose every lease: still down (DynamoDB has not answered), although no held lease is left to fail its renewal; up again once DynamoDB answers', async () => {
  const stream = uniqueName('health');
  await createStream(kinesis, stream, 1);
  // failoverTimeMs 6000: the taker scans every 12050 ms, so the default DynamoDB limit is 12050 + 6000 = 18050 ms.
  const moduleRef = await boot(stream, new Recorder());
  const service = moduleRef.get(KinesisWorkerService);
  await waitFor(() => service.status()[0].shards.length === 1, 'the shard leased');
  expect((await check(moduleRef)).status).toBe('ok');
  const outage = proxy.set('*', 'http500');
  await waitFor(
    () => service.status()[0].shards.length === 0 && service.status()[0].msSinceLeaseRenewal === undefined,
    'the lease lost: nothing left to renew',
    30_000,
  );
  await waitFor(async () => (await check(moduleRef)).status === 'error', 'the check down for DynamoDB itself', 30_000);
  const down = JSON.stringify(await check(moduleRef));
  expect(down).toMatch(/DynamoDB has not answered the worker of .* for \d+ ms \(limit 18050 ms\): it can neither renew nor take leases/);
  expect(down).not.toMatch(/lease renewals of/);
  outage.remove();
  await waitFor(async () => (await check(moduleRef)).status === 'ok', 'the check back up once DynamoDB answers', 30_000);
  await waitFor(() => service.status()[0].shards.length === 1, 'the lease taken back');
});

it('down when a shard is further behind than maxMillisBehindLatest', async () => {
  const stream = uniqueName('health');
  await createStream(kinesis, stream, 1);
  await putRecords(kinesis, stream, records('old', 1));
  await new Promise((resolve) => setTimeout(resolve, 1_500)); // the next record arrives 1.5 s later
  await putRecords(kinesis, stream, records('new', 1));
  const recorder = new Recorder();
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  recorder.beforeBatch = () => held; // the processor is stuck on the first (oldest) record
  const moduleRef = await boot(stream, recorder, true, { maxRecords: 1 });
  const shard = () => moduleRef.get(KinesisWorkerService).status()[0].shards[0];
  await waitFor(() => shard()?.millisBehindLatest !== undefined, 'the first batch read');
  const behind = shard().millisBehindLatest!;
  expect(behind).toBeGreaterThan(1_000);
  const down = await check(moduleRef, { maxMillisBehindLatest: 1_000 });
  expect(down.status).toBe('error');
  expect(JSON.stringify(down)).toMatch(/shardId-000000000000 is \d+ ms behind \(limit 1000 ms\)/);
  expect((await check(moduleRef, { maxMillisBehindLatest: 60_000 })).status).toBe('ok');
  release();
});
