import { describeError } from './aws-errors';
import type { WorkerLogger } from './logger';
import type { KinesisRecordProcessor, ShutdownInput } from './processor';

/**
 * Calls the processor's optional shutdown and reports whether it returned normally. A throw is logged
 * with the shard and the reason, never passed on: the engine decides what a failed shutdown means
 * (at TERMINATE it must not record SHARD_END for the processor).
 */
export async function callShutdown(processor: KinesisRecordProcessor, input: ShutdownInput, logger: WorkerLogger): Promise<boolean> {
  try {
    await processor.shutdown?.(input);
    return true;
  } catch (error) {
    logger.error(`shutdown(${input.reason}) of the processor for ${input.shardId} threw: ${describeError(error)}`, (error as Error)?.stack);
    return false;
  }
}
