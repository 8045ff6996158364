import { describeError, isTransientAwsError } from '../../../core/aws-errors';
import { LeaseLostError } from '../../../core/errors';
import type { WorkerLogger } from '../../../core/logger';
import { retry } from '../../../core/retry';
import type { RetryPolicy } from '../../../core/retry-policy';

export interface EngineStepRetrying {
  /** Stream and shard, for the log lines. */
  readonly where: string;
  readonly policy: RetryPolicy;
  readonly logger: WorkerLogger;
  /** Aborts the wait between attempts (lease lost, stop requested). */
  readonly signal: AbortSignal;
}

/**
 * One AWS call the engine makes for a shard outside processRecords (the parent lookup, a child lease,
 * the childShardIds write): transient failures (throttling, 5xx, timeouts) are backed off and retried;
 * a permanent error, a lost lease or the last failed attempt is thrown to the consumer, which gives
 * the lease up so that the shard is tried again rather than left held and idle.
 */
export function retryEngineStep<T>(
  what: string,
  step: () => Promise<T>,
  { where, policy, logger, signal }: EngineStepRetrying,
): Promise<T> {
  return retry(() => step(), {
    policy,
    signal,
    retryable: (error) => !(error instanceof LeaseLostError) && isTransientAwsError(error),
    onRetry: (error, attempt, delay) =>
      logger.warn(`${what} for ${where} failed (attempt ${attempt}), retrying in ${delay} ms: ${describeError(error)}`),
  });
}
