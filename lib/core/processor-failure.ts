import { LeaseLostError } from './errors';
import type { WorkerEvent } from './worker';

/** Which call of the processor threw. */
export type ProcessorCallName = 'factory' | 'initialize' | 'processRecords' | 'processRecord' | 'shutdown';

/**
 * A call of the user's processor threw: the engines report it to onEvent as it happens (every attempt,
 * the retried ones too), with the processor's own error, so that alerts and tests need not read log
 * lines. The engine's handling does not change: it logs, retries under processingRetry, never skips.
 */
export interface ProcessorFailedEvent {
  readonly type: 'processorFailed';
  readonly shardId: string;
  readonly call: ProcessorCallName;
  /** The engine's description of the call, as in its log line: 'processRecords for 3 records 4954..4956'. */
  readonly description: string;
  /** 1 for the first attempt of this call; the engine retries the same call with the same records. */
  readonly attempt: number;
  /** What the processor threw, the object itself. */
  readonly error: unknown;
}

/**
 * The listener the engines give a processor call: reports each throw as a processorFailed event. A
 * LeaseLostError is the engine's own (the checkpointer's), passed on by the processor: not reported.
 */
export function reportProcessorFailures(
  emit: (event: WorkerEvent) => void,
  shardId: string,
  call: ProcessorCallName,
  description: string,
): (error: unknown, attempt: number) => void {
  return (error, attempt) => {
    if (error instanceof LeaseLostError) return;
    emit({ type: 'processorFailed', shardId, call, description, attempt, error });
  };
}
