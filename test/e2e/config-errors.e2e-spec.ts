import { Test } from '@nestjs/testing';
import { KinesisProcessor, KinesisWorkerConfigError, KinesisWorkerModule, type KinesisWorkerOptions } from '../../lib';
import { createStream } from '../../lib/testing';
import { kinesisClient, uniqueName, workerClientOptions } from '../support/aws';
import { Recorder, recordingProcessor } from '../support/recording-processor';

const kinesis = kinesisClient();
let stream: string;
beforeAll(async () => {
  stream = uniqueName('config');
  await createStream(kinesis, stream, 1);
});
afterAll(() => kinesis.destroy());

async function bootstrap(options: Partial<KinesisWorkerOptions>, processor: Function): Promise<unknown> {
  const moduleRef = await Test.createTestingModule({
    imports: [KinesisWorkerModule.forRoot({ ...workerClientOptions(), ...options } as KinesisWorkerOptions)],
    providers: [Recorder, processor as never],
  }).compile();
  moduleRef.useLogger(false);
  try {
    await moduleRef.init();
  } catch (error) {
    return error;
  } finally {
    // A failed init makes close() reject with the same error again.
    await moduleRef.close().catch(() => undefined);
  }
  throw new Error('bootstrap succeeded, but it should have failed');
}

describe('bad configuration fails at bootstrap with a message naming the option', () => {
  it('a missing appName', async () => {
    const error = await bootstrap({}, recordingProcessor(stream));
    expect(error).toBeInstanceOf(KinesisWorkerConfigError);
    expect((error as KinesisWorkerConfigError).option).toBe('appName');
    expect((error as Error).message).toMatch(/'appName'.*required/);
  });

  it('a processor with no stream', async () => {
    const error = await bootstrap({ appName: uniqueName('app') }, recordingProcessor(''));
    expect((error as KinesisWorkerConfigError).option).toBe('stream');
    expect((error as Error).message).toContain('RecordingProcessor');
  });

  it('a stream that does not exist', async () => {
    const error = await bootstrap({ appName: uniqueName('app') }, recordingProcessor('no-such-stream'));
    expect((error as KinesisWorkerConfigError).option).toBe('stream');
    expect((error as Error).message).toMatch(/'no-such-stream' does not exist/);
  });

  it('an unknown initialPosition', async () => {
    const error = await bootstrap({ appName: uniqueName('app'), initialPosition: 'OLDEST' as never }, recordingProcessor(stream));
    expect((error as KinesisWorkerConfigError).option).toBe('initialPosition');
    expect((error as Error).message).toContain("'TRIM_HORIZON' or 'LATEST'");
  });

  it('a processor class without processRecords', async () => {
    @KinesisProcessor(stream)
    class NotAProcessor {
      handle() {}
    }
    const error = await bootstrap({ appName: uniqueName('app') }, NotAProcessor);
    expect((error as KinesisWorkerConfigError).option).toBe('processor');
    expect((error as Error).message).toMatch(/NotAProcessor has no processRecords/);
  });

  it('two processors that would share one lease table', async () => {
    const other = uniqueName('config');
    await createStream(kinesis, other, 1);
    const moduleRef = await Test.createTestingModule({
      imports: [KinesisWorkerModule.forRoot({ ...workerClientOptions(), appName: uniqueName('app') })],
      providers: [Recorder, recordingProcessor(stream), recordingProcessor(other)],
    }).compile();
    moduleRef.useLogger(false);
    await expect(moduleRef.init()).rejects.toThrow(/share the lease table/);
    await moduleRef.close().catch(() => undefined);
  });
});
