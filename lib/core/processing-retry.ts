import { describeError } from './aws-errors';
import { LeaseLostError } from './errors';
import type { WorkerLogger } from './logger';
import { backoffDelay, type RetryPolicy } from './retry-policy';
import { sleep } from './sleep';

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
}

/**
 * Calls a processor method until it succeeds, the same for both engines: a failure is logged with the
 * shard and the records, backed off and retried with the same records; it is never skipped.
 */
export async function callWithRetries({ what, where, call, policy, logger, signal, abandoned }: ProcessorCall): Promise<Delivery> {
  for (let attempt = 1; ; attempt++) {
    try {
      await call();
      return 'delivered';
    } catch (error) {
      if (error instanceof LeaseLostError || abandoned()) return 'abandoned';
      if (attempt >= policy.maxAttempts) {
        logger.error(`${what} on ${where} failed ${attempt} times; giving the lease up so the records are retried later: ${describeError(error)}`, (error as Error)?.stack);
        return 'gave-up';
      }
      const delay = backoffDelay(policy, attempt);
      logger.error(`${what} on ${where} failed (attempt ${attempt}), retrying the same records in ${delay} ms: ${describeError(error)}`, (error as Error)?.stack);
      await sleep(delay, signal);
      if (abandoned()) return 'abandoned';
    }
  }
}
