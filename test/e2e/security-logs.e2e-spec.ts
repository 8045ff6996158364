import { randomBytes } from 'node:crypto';
import {
  createWorker,
  KinesisWorkerConfigError,
  type EngineName,
  type KinesisRecordProcessor,
  type StreamWorkerOptions,
  type WorkerLogger,
} from '../../lib';
import { createStream, faults, putRecords, startFaultProxy, type FaultProxy, type ProxiedRequest } from '../../lib/testing';
import { endpoints, kinesisClient, uniqueName } from '../support/aws';
import { waitFor } from '../support/wait-for';

/**
 * No secret access key, no session token and no record payload may reach a log line, by default,
 * including on the failure paths where errors are described: a processor that throws, checkpoint
 * writes that are throttled, GetRecords answering 500, an unparsable GetRecords body, a signature
 * mismatch whose AWS message quotes the signed headers, and bootstrap errors. Every line the worker
 * writes (its logger, console, stdout and stderr) is kept and scanned.
 */
const kinesis = kinesisClient();
afterAll(() => kinesis.destroy());

const unique = randomBytes(6).toString('hex');
const credentials = {
  accessKeyId: 'AKIASECURITYSCAN0001',
  secretAccessKey: `secret-key-${unique}-must-never-be-logged`,
  sessionToken: `session-token-${unique}-must-never-be-logged`,
};
const payloads = Array.from({ length: 12 }, (_, i) => `payload-${unique}-${i}-must-never-be-logged`);

/** What must not appear: each secret, and each payload as text and as the base64 that the wire and the daemon protocol carry. */
const forbidden = [
  credentials.secretAccessKey,
  credentials.sessionToken,
  Buffer.from(credentials.secretAccessKey).toString('base64'),
  ...payloads.flatMap((p) => [p, Buffer.from(p).toString('base64')]),
];

/** Every line written anywhere by this process while `run` runs. */
async function captureOutput(run: (logger: WorkerLogger & { debug(message: string): void }) => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const keep = (...args: unknown[]) =>
    void lines.push(args.map((a) => (a instanceof Error ? `${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) => jest.spyOn(console, method).mockImplementation(keep));
  const writes = [process.stdout, process.stderr].map((stream) =>
    jest.spyOn(stream, 'write').mockImplementation((chunk: unknown) => (keep(String(chunk)), true)),
  );
  const logger = { log: keep, warn: keep, error: keep, debug: keep };
  try {
    await run(logger);
  } finally {
    [...spies, ...writes].forEach((spy) => spy.mockRestore());
  }
  return lines;
}

function leaks(lines: readonly string[]): { secret: string; line: string }[] {
  return lines.flatMap((line) => forbidden.filter((secret) => line.includes(secret)).map((secret) => ({ secret, line })));
}

/** How AWS answers a SigV4 mismatch: the canonical request it expected, signed header values included. */
function signatureMismatch(request: ProxiedRequest) {
  const header = (name: string) => String(request.headers[name] ?? '');
  const canonical = [
    'POST',
    '/',
    '',
    `host:${header('host')}`,
    `x-amz-date:${header('x-amz-date')}`,
    `x-amz-security-token:${header('x-amz-security-token')}`,
    `x-amz-target:${header('x-amz-target')}`,
    '',
    'host;x-amz-date;x-amz-security-token;x-amz-target',
    'e3b0c442',
  ].join('\n');
  return {
    status: 400,
    body: {
      __type: 'InvalidSignatureException',
      message: `The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'${canonical}'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\n${header('x-amz-date')}\n20261128/us-east-1/kinesis/aws4_request\n9f86d081'\n`,
    },
  };
}

/** A GetRecords body that breaks off right after the first record's data, as a cut connection or a broken proxy would leave it. */
function unparsableGetRecords() {
  return { status: 200, body: `{"Records":[{"Data":"${Buffer.from(payloads[0]).toString('base64')}"},}],"NextShardIterator":"x"}` };
}

const isCheckpointWrite = (request: ProxiedRequest) =>
  request.operation === 'UpdateItem' && /"?:?checkpoint"/.test(request.rawBody.toString());

describe.each<EngineName>(['native', 'kcl'])('logs of the %s engine', (engine) => {
  let kinesisProxy: FaultProxy;
  let dynamoProxy: FaultProxy;
  beforeEach(async () => {
    kinesisProxy = await startFaultProxy({ target: endpoints().kinesis });
    dynamoProxy = await startFaultProxy({ target: endpoints().dynamodb });
  });
  afterEach(async () => {
    await kinesisProxy.close();
    await dynamoProxy.close();
  });

  // The Java KCL's Kinesis client speaks HTTP/2 only, so with the kcl engine Kinesis is reached directly
  // (the Node side's calls included, since the engine hands the same endpoint to the JVM); its DynamoDB
  // client goes through the proxy.
  const kinesisEndpoint = () => (engine === 'kcl' ? endpoints().kinesis : kinesisProxy.url);

  it('carry no secret key, session token or record payload, through processing, retrieval, checkpoint and bootstrap failures', async () => {
    const stream = uniqueName('security');
    await createStream(kinesis, stream, 1);
    await putRecords(
      kinesis,
      stream,
      payloads.map((data, i) => ({ partitionKey: `key-${i}`, data })),
    );

    const delivered = new Set<string>();
    let failures = 0;
    const processor = (): KinesisRecordProcessor => ({
      async processRecords({ records, checkpointer }) {
        // Twice, as an application's own bug would: the message says what went wrong, not what the record held.
        if (failures < 2) {
          failures++;
          throw new Error(`processor failed on purpose (${failures})`);
        }
        for (const record of records) delivered.add(record.data.toString());
        await checkpointer.checkpoint();
      },
      async shutdown({ checkpointer }) {
        await checkpointer?.checkpoint();
      },
    });

    // Later rules win: the first GetRecords gets an unparsable body, the next a signature mismatch, then
    // four 500s (more than the SDK's own three attempts, so that the engine's retry logs them).
    kinesisProxy.set('GetRecords', faults.http500(), { times: 4 });
    kinesisProxy.set('GetRecords', faults.respond(signatureMismatch), { times: 1 });
    kinesisProxy.set('GetRecords', faults.respond(unparsableGetRecords), { times: 1 });
    dynamoProxy.set(isCheckpointWrite, 'throttle', { times: 4 });

    const options: StreamWorkerOptions = {
      engine,
      appName: uniqueName('security-app'),
      streamName: stream,
      failoverTimeMs: 3_000,
      idleTimeBetweenReadsMs: 50,
      processingRetry: { baseDelayMs: 20, maxDelayMs: 50 },
      checkpointRetry: { maxAttempts: 10, baseDelayMs: 20, maxDelayMs: 100 },
      kinesis: { endpoint: kinesisEndpoint(), credentials },
      dynamodb: { endpoint: dynamoProxy.url, credentials },
    };

    const lines = await captureOutput(async (logger) => {
      // By default: the console logger. The kcl engine's JVM log reaches only a logger with debug, so it gets one.
      const worker = createWorker(engine === 'kcl' ? { ...options, logger } : options, processor);
      await worker.start();
      try {
        await waitFor(() => payloads.every((p) => delivered.has(p)), 'every payload delivered', 90_000);
        await waitFor(
          () => dynamoProxy.requests.filter((r) => r.operation === 'UpdateItem' && r.fault === 'throttle').length >= 4,
          'the throttled checkpoints',
        );
      } finally {
        await worker.stop();
      }

      // Bootstrap failures, printed the way an application's crash handler prints them (message and stack).
      kinesisProxy.set('DescribeStreamSummary', faults.respond(signatureMismatch), { times: 1 });
      kinesisProxy.set(
        'DescribeStreamSummary',
        faults.error(
          400,
          'AccessDeniedException',
          'User: arn:aws:iam::123456789012:user/worker is not authorized to perform: kinesis:DescribeStreamSummary',
        ),
        { times: 1 },
      );
      for (let i = 0; i < 2; i++) {
        const failing = createWorker(
          { ...options, appName: uniqueName('security-app'), kinesis: { endpoint: kinesisProxy.url, credentials } },
          processor,
        );
        const error = await failing.start().then(
          () => undefined,
          (e: unknown) => e,
        );
        await failing.stop();
        expect(error).toBeInstanceOf(KinesisWorkerConfigError);
        console.error((error as Error).stack);
      }
    });

    // The failure paths really ran and were logged...
    const text = lines.join('\n');
    expect(text).toMatch(/processor failed on purpose \(2\)/);
    expect(text).toMatch(/permission denied/);
    expect(text).toMatch(/InvalidSignatureException: The request signature we calculated does not match/);
    if (engine === 'native') {
      expect(text).toMatch(/GetRecords .* failed .*InternalFailure/);
      expect(text).toMatch(/GetRecords .* failed .*SyntaxError/);
      expect(text).toMatch(/Checkpoint of shardId-000000000000 .* failed .*ThrottlingException/);
    }
    // ... and none of them told a secret.
    expect(leaks(lines)).toEqual([]);
  }, 180_000);
});
