import { describeError, errorTrace } from './aws-errors';
import { LeaseLostError } from './errors';
import type { WorkerLogger } from './logger';
import { retry } from './retry';
import type { RetryPolicy } from './retry-policy';

/** delivered: the call succeeded; abandoned: the lease went away or the worker stops; gave-up: retries ran out. */
export type Delivery = 'delivered' | 'abandoned' | 'gave-up';

export interface ProcessorCall {
  /** What is being called, with the records' sequence numbers: it goes into every log line. */
  readonly what: string;
  /** Stream and shard, for the log lines. */
  readonly where: string;
  readonly call: () => unknown;
  readonly policy: RetryPolicy;
  readonly logger: WorkerLogger;
  readonly signal: AbortSignal;
  /** True when the shard's processing must end now (lease lost, stop requested). */
  readonly abandoned: () => boolean;
  /** What giving up means, for the last log line. Default: the records are retried later. */
  readonly afterGivingUp?: string;
  /**
   * Errors that end the call at once, without another attempt (a processingTimeoutMs overrun: the
   * processor is still busy with the last call). Logged once, as they are, then 'gave-up'.
   */
  readonly isFinal?: (error: unknown) => boolean;
  /** Told of every attempt that threw, as it happens (the engines report it as a processorFailed event). */
  readonly onFailure?: (error: unknown, attempt: number) => void;
  /** Receives the last error and the attempts made, before 'gave-up' is returned. */
  readonly onGaveUp?: (error: unknown, attempts: number) => void;
}

/**
 * Calls a processor method until it succeeds, the same for both engines: a failure is logged with the
 * shard and the records, backed off and retried with the same records; it is never skipped.
 */
export async function callWithRetries(processorCall: ProcessorCall): Promise<Delivery> {
  const { what, where, call, policy, logger, signal, abandoned, isFinal = () => false, onFailure } = processorCall;
  const afterGivingUp = processorCall.afterGivingUp ?? 'giving the lease up so the records are retried later';
  let attempt = 0;
  const attemptCall = async () => {
    attempt++;
    try {
      await call();
    } catch (error) {
      onFailure?.(error, attempt);
      throw error;
    }
  };
  try {
    await retry(attemptCall, {
      policy,
      signal,
      retryable: (error) => !(error instanceof LeaseLostError) && !abandoned() && !isFinal(error),
      onRetry: (error, attempt, delay) =>
        logger.error(
          `${what} on ${where} failed (attempt ${attempt}), retrying the same call in ${delay} ms: ${describeError(error)}`,
          errorTrace(error),
        ),
    });
    return 'delivered';
  } catch (error) {
    if (error instanceof LeaseLostError || abandoned()) return 'abandoned';
    if (isFinal(error)) {
      logger.error(`${what} on ${where}: ${describeError(error)}; ${afterGivingUp}.`);
      return 'gave-up';
    }
    logger.error(`${what} on ${where} failed ${policy.maxAttempts} times; ${afterGivingUp}: ${describeError(error)}`, errorTrace(error));
    processorCall.onGaveUp?.(error, policy.maxAttempts);
    return 'gave-up';
  }
}
