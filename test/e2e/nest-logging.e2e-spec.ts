import { ConsoleLogger } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { KinesisWorkerModule, type KinesisWorkerModuleOptions } from '../../lib';
import { createStream, putRecords } from '../../lib/testing';
import { kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { FAST, Recorder, recordingProcessor } from '../support/recording-processor';
import { waitFor } from '../support/wait-for';

/** One line of Nest's ConsoleLogger with json: true, as an operator's log pipeline parses it. */
interface JsonLine {
  level: string;
  context?: string;
  message: { msg: string; app?: string; stream?: string; shard?: string; worker?: string; stack?: string } | string;
}

const kinesis = kinesisClient();
afterAll(() => kinesis.destroy());

/**
 * The KinesisWorker lines Nest's real ConsoleLogger (json: true, installed as the app's logger the way a
 * user does) writes while the app runs; whatever else is written passes through.
 */
class JsonLogCapture {
  readonly lines: JsonLine[] = [];
  private readonly restore: (() => void)[] = [];

  start(): void {
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
      const spy = jest.spyOn(stream, 'write').mockImplementation((...args: unknown[]) => {
        const line = parse(String(args[0]));
        if (line?.context !== 'KinesisWorker') return original(...args);
        this.lines.push(line);
        return true;
      });
      this.restore.push(() => spy.mockRestore());
    }
  }

  stop(): void {
    for (const restore of this.restore.splice(0)) restore();
  }

  /** The engine's lines (objects); the module's own warnings are strings. */
  engineLines(): (JsonLine & { message: Exclude<JsonLine['message'], string> })[] {
    return this.lines.filter(
      (line): line is JsonLine & { message: Exclude<JsonLine['message'], string> } => typeof line.message === 'object',
    );
  }
}

function parse(text: string): JsonLine | undefined {
  try {
    return JSON.parse(text) as JsonLine;
  } catch {
    return undefined;
  }
}

async function startApp(recorder: Recorder, processors: ReturnType<typeof recordingProcessor>[], options: KinesisWorkerModuleOptions) {
  const moduleRef: TestingModule = await Test.createTestingModule({
    imports: [KinesisWorkerModule.forRoot({ ...workerClientOptions(), ...FAST, ...options })],
    providers: [{ provide: Recorder, useValue: recorder }, ...processors],
  }).compile();
  moduleRef.useLogger(new ConsoleLogger({ json: true }));
  await moduleRef.init();
  return moduleRef;
}

it("a worker's lines through Nest's ConsoleLogger (json: true) carry app, stream, shard and worker; a processor's failure is logged with its shard and stack", async () => {
  const stream = uniqueName('log-fields');
  const appName = uniqueName('log-app');
  const workerId = uniqueName('log-worker');
  await createStream(kinesis, stream, 2);
  const puts = await putRecords(
    kinesis,
    stream,
    Array.from({ length: 10 }, (_, i) => ({ partitionKey: `k${i}`, data: `r${i}` })),
  );
  const shards = new Set(puts.map((put) => put.shardId));
  const recorder = new Recorder();
  let failedShard: string | undefined;
  recorder.beforeBatch = ({ shardId }) => {
    if (failedShard !== undefined) return;
    failedShard = shardId;
    throw new Error('the first batch fails once');
  };
  const capture = new JsonLogCapture();
  capture.start();
  try {
    const app = await startApp(recorder, [recordingProcessor(stream)], { appName, workerId });
    await waitFor(() => recorder.dataSet().size === 10, 'every record delivered');
    await app.close();
  } finally {
    capture.stop();
  }

  const lines = capture.engineLines();
  expect(lines.length).toBeGreaterThan(0);
  // Every line of the worker names the application, the worker and (one stream) the stream.
  for (const { message } of lines) expect(message).toMatchObject({ app: appName, worker: workerId, stream });
  expect(lines.map(({ message }) => message.msg)).toContainEqual(expect.stringContaining(`Worker ${workerId} consuming '${stream}'`));

  // The processor's failure: an error line naming its shard, with the processor's stack.
  const failure = lines.find(({ message }) => message.msg.startsWith('processRecords for'));
  expect(failure).toMatchObject({ level: 'error', message: { shard: failedShard } });
  expect(failure!.message.stack).toContain('the first batch fails once');

  // Each lease taken and, at stop, released: each line names its shard in the field as in the text.
  const taken = lines.filter(({ message }) => /^Lease \S+ taken/.test(message.msg));
  expect(new Set(taken.map(({ message }) => message.shard))).toEqual(shards);
  for (const { message } of taken) expect(message.msg).toContain(`Lease ${message.shard} taken`);
  // At stop each lease is released, each line naming its shard in the field as in the text.
  const released = lines.filter(({ message }) => /^Lease \S+ released/.test(message.msg));
  expect(new Set(released.map(({ message }) => message.shard))).toEqual(shards);
  for (const { message } of released) expect(message.msg).toContain(`Lease ${message.shard} released`);
});

it('a worker of several streams names the stream on the lines about one, and leaves it out of the lines about the worker', async () => {
  const streams = [uniqueName('log-a'), uniqueName('log-b')];
  const appName = uniqueName('log-multi');
  for (const stream of streams) await createStream(kinesis, stream, 1);
  for (const stream of streams) await putRecords(kinesis, stream, [{ partitionKey: 'k', data: `${stream}-record` }]);
  const recorder = new Recorder();
  const capture = new JsonLogCapture();
  capture.start();
  try {
    const app = await startApp(
      recorder,
      streams.map((stream) => recordingProcessor(stream)),
      { appName, multiStream: true },
    );
    await waitFor(() => recorder.dataSet().size === 2, 'a record of each stream delivered');
    await app.close();
  } finally {
    capture.stop();
  }

  const lines = capture.engineLines();
  const released = lines.filter(({ message }) => /^Lease \S+ released/.test(message.msg));
  expect(released.map(({ message }) => message.stream).sort()).toEqual([...streams].sort());
  for (const { message } of released) expect(message).toMatchObject({ app: appName, shard: 'shardId-000000000000' });
  const consuming = lines.find(({ message }) => message.msg.includes(' consuming '));
  expect(consuming?.message).toMatchObject({ app: appName });
  expect(consuming?.message).not.toHaveProperty('stream');
});
