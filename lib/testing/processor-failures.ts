import { describeError } from '../core/aws-errors';
import type { WorkerLogger } from '../core/logger';
import type { ProcessorCallName, ProcessorFailedEvent } from '../core/processor-failure';

/**
 * A call of the processor threw (or its factory did), as the engine reported it in its processorFailed
 * event: `cause` is the processor's error itself (the same object), the message names the call, the
 * records' sequence numbers, the stream and shard, then the processor's error, and the stack is the
 * processor's. The engine itself retries; a test waiting on the result fails with this.
 */
export class ProcessorFailedError extends Error {
  /** What the processor threw, the object itself (also `cause`). */
  readonly processorError: unknown;
  readonly streamName: string;
  readonly shardId: string;
  readonly call: ProcessorCallName;
  /** 1 for the first attempt; the engine retried the same call before a later one. */
  readonly attempt: number;

  constructor(event: ProcessorFailedEvent & { readonly streamName: string }) {
    super(
      `A processor failed: ${event.description} on ${event.streamName}/${event.shardId} (attempt ${event.attempt}) threw ${describeError(event.error)}`,
      { cause: event.error },
    );
    this.name = 'ProcessorFailedError';
    this.processorError = event.error;
    this.streamName = event.streamName;
    this.shardId = event.shardId;
    this.call = event.call;
    this.attempt = event.attempt;
    const stack = (event.error as { stack?: unknown } | undefined)?.stack;
    const frames = typeof stack === 'string' ? stack.split('\n').filter((line) => /^\s+at /.test(line)) : [];
    if (frames.length > 0) this.stack = [`${this.name}: ${this.message}`, ...frames].join('\n');
  }
}

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

/** The processor failures the engine reported through its processorFailed events (not read from log lines). */
export class ProcessorFailures {
  private readonly found: ProcessorFailedError[] = [];
  private reported = 0;

  /** Keeps one processorFailed event of the worker's onEvent. */
  record(event: ProcessorFailedEvent & { readonly streamName: string }): void {
    this.found.push(new ProcessorFailedError(event));
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
