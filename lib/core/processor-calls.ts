import { describeError, errorTrace } from './aws-errors';
import type { WorkerLogger } from './logger';
import { callWithRetries, type Delivery, type ProcessorCall } from './processing-retry';
import type { ProcessorLifecycle, ShutdownInput } from './processor';

/**
 * Calls the processor's optional shutdown and reports whether it returned normally. A throw is logged
 * with the shard and the reason, never passed on: the engine decides what a failed shutdown means
 * (at TERMINATE it must not record SHARD_END for the processor).
 */
export async function callShutdown(
  processor: ProcessorLifecycle,
  input: ShutdownInput,
  logger: WorkerLogger,
  onFailure?: (error: unknown, attempt: number) => void,
): Promise<boolean> {
  try {
    await processor.shutdown?.(input);
    return true;
  } catch (error) {
    onFailure?.(error, 1);
    logger.error(`shutdown(${input.reason}) of the processor for ${input.shardId} threw: ${describeError(error)}`, errorTrace(error));
    return false;
  }
}

export type ShutdownRetrying = Omit<ProcessorCall, 'what' | 'call' | 'afterGivingUp' | 'isFinal'>;

/**
 * shutdown(TERMINATE) until it returns normally, under the processingRetry policy, as the Java KCL
 * retries its shutdown task: the shard may only be recorded as finished once the processor said so.
 * 'gave-up' and 'abandoned' mean SHARD_END must not be written; the lease goes to a next owner, who
 * reads the shard's tail again and calls TERMINATE again.
 */
export function callShutdownWithRetries(
  processor: ProcessorLifecycle,
  input: ShutdownInput,
  retrying: ShutdownRetrying,
): Promise<Delivery> {
  return callWithRetries({
    ...retrying,
    what: `shutdown(${input.reason}) of the processor for ${input.shardId}`,
    call: () => processor.shutdown?.(input),
    afterGivingUp: 'SHARD_END is not recorded and the lease is given up, so that its next owner runs shutdown(TERMINATE) again',
  });
}
