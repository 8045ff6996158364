import type { WorkerLogger } from '../core/logger';

/**
 * A processor method threw (or its factory did), as the engine logged it: the message is the engine's log
 * line (the call, the records' sequence numbers, the stream and shard, then the processor's own error), and
 * the stack is the processor's. The engine itself retries; a test waiting on the result fails with this.
 */
export class ProcessorFailedError extends Error {
  constructor(
    /** The engine's log line. */
    readonly logLine: string,
    /** The processor's error as the engine logged it: its name and message, then its stack frames. */
    readonly processorError: string | undefined,
  ) {
    super(`A processor failed: ${logLine}`);
    this.name = 'ProcessorFailedError';
    const frames = processorError?.split('\n').filter((line) => /^\s+at /.test(line)) ?? [];
    if (frames.length > 0) this.stack = [`${this.name}: ${this.message}`, ...frames].join('\n');
  }
}

/** The engines' log lines for a processor call that threw (lib/core/processing-retry.ts, processor-calls.ts, shard-consumer.ts). */
const PROCESSOR_CALL =
  /^(processRecords for |processRecord for |initialize at |the processor factory |shutdown\((?:TERMINATE|REQUESTED|ZOMBIE)\) of the processor for )/;

/**
 * Where the worker logs by default in tests: errors only (a processor that threw, a shard that failed),
 * which a failing test needs. Routine lines and warnings (a retried throttle, say: every fault-injection
 * test has them) are dropped; pass your own logger to see them.
 */
export const quietTestLogger: WorkerLogger = {
  log: () => undefined,
  warn: () => undefined,
  error: (message, stack) => console.error(`[kinesis-worker] ${message}${stack ? `\n${stack}` : ''}`),
};

/** Collects the processor failures the worker logs, through a logger that forwards every line to the real one. */
export class ProcessorFailures {
  private readonly found: ProcessorFailedError[] = [];
  private reported = 0;

  /** The logger to give the worker: every line goes on to `next`; processor failures are also kept. */
  logger(next: WorkerLogger = quietTestLogger): WorkerLogger {
    return {
      log: (message, fields) => next.log(message, fields),
      warn: (message, fields) => next.warn(message, fields),
      error: (message, stack, fields) => {
        if (PROCESSOR_CALL.test(message)) this.found.push(new ProcessorFailedError(message, stack));
        next.error(message, stack, fields);
      },
      debug: (message, fields) => next.debug?.(message, fields),
    };
  }

  /** Every failure seen, oldest first. */
  all(): readonly ProcessorFailedError[] {
    return this.found;
  }

  /** The oldest failure no wait has reported yet; reporting it once is enough. */
  takeUnreported(): ProcessorFailedError | undefined {
    if (this.reported >= this.found.length) return undefined;
    const failure = this.found[this.reported];
    this.reported = this.found.length;
    return failure;
  }

  /** Marks every failure so far as reported (a test that expected them). */
  acknowledge(): void {
    this.reported = this.found.length;
  }
}
