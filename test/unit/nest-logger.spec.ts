import { ConsoleLogger, Logger } from '@nestjs/common';
import { KinesisLogLine, nestWorkerLogger } from '../../lib/kinesis-worker.logger';
import type { WorkerLogger } from '../../lib';

const FIELDS = { app: 'orders', stream: 'orders-stream', shard: 'shardId-000000000001', worker: 'w1' };
const STACK = 'Error: boom\n    at processRecords (orders.processor.ts:10:5)';

/** What Nest's ConsoleLogger writes to stdout and stderr while `run` runs. */
function captureOutput(run: () => void): { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => (stdout.push(String(chunk)), true));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => (stderr.push(String(chunk)), true));
  try {
    run();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { stdout, stderr };
}

/** The engine's calls, through the adapter, to Nest's Logger('KinesisWorker') backed by `consoleLogger`. */
function logThroughNest(consoleLogger: ConsoleLogger): { stdout: string[]; stderr: string[] } {
  return captureOutput(() => {
    Logger.overrideLogger(consoleLogger);
    try {
      const logger: WorkerLogger = nestWorkerLogger(new Logger('KinesisWorker'));
      logger.log('Lease shardId-000000000001 released (REQUESTED).', FIELDS);
      logger.error('processRecords on orders-stream/shardId-000000000001 failed', STACK, FIELDS);
    } finally {
      Logger.overrideLogger(new ConsoleLogger());
    }
  });
}

describe("the Nest adapter, through Nest's real ConsoleLogger", () => {
  it('json: true writes the fields under message, with the context, the level and the stack', () => {
    const { stdout, stderr } = logThroughNest(new ConsoleLogger({ json: true }));
    const log = JSON.parse(stdout.join(''));
    expect(log).toMatchObject({ level: 'log', context: 'KinesisWorker' });
    expect(log.message).toEqual({ msg: 'Lease shardId-000000000001 released (REQUESTED).', ...FIELDS });
    const error = JSON.parse(stderr.join(''));
    expect(error).toMatchObject({ level: 'error', context: 'KinesisWorker' });
    expect(error.message).toEqual({ msg: 'processRecords on orders-stream/shardId-000000000001 failed', ...FIELDS, stack: STACK });
  });

  it('text mode reads as before: the message, then the stack, no object dump', () => {
    const { stdout, stderr } = logThroughNest(new ConsoleLogger({ colors: false }));
    expect(stdout.join('')).toMatch(/LOG \[KinesisWorker\] Lease shardId-000000000001 released \(REQUESTED\)\.\n$/);
    expect(stderr.join('')).toMatch(
      /ERROR \[KinesisWorker\] processRecords on orders-stream\/shardId-000000000001 failed\nError: boom\n {4}at /,
    );
    expect(stdout.join('') + stderr.join('')).not.toMatch(/Object|\{|shardId-000000000001'/);
  });

  it('with colours, the text is coloured as ConsoleLogger colours a string of that level', () => {
    const { stdout, stderr } = logThroughNest(new ConsoleLogger({ colors: true }));
    expect(stdout.join('')).toContain('\x1B[32mLease shardId-000000000001 released (REQUESTED).\x1B[39m');
    expect(stderr.join('')).toContain('\x1B[31mprocessRecords on orders-stream/shardId-000000000001 failed\n');
  });
});

describe('KinesisLogLine', () => {
  it("holds the text as msg and the fields as its own fields, as a JSON logger's merge of an object message sees them", () => {
    const line = new KinesisLogLine('warn', 'text', FIELDS);
    expect({ ...line }).toEqual({ msg: 'text', ...FIELDS });
    expect(Object.keys(new KinesisLogLine('log', 'text', { app: 'a' }))).toEqual(['msg', 'app']);
    expect(String(line)).toBe('text');
  });
});

describe('nestWorkerLogger', () => {
  it("leaves a logger that is not Nest's as it is: it gets (message, fields) as the engine calls it", () => {
    const own: WorkerLogger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
    expect(nestWorkerLogger(own)).toBe(own);
  });
});
