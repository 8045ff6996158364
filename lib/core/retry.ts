import { setTimeout as delay } from 'node:timers/promises';
import { backoffDelay, type RetryPolicy } from './retry-policy';

export interface RetryOptions {
  readonly policy: RetryPolicy;
  /** Aborting ends the wait between attempts at once; retry() then rethrows the last error. */
  readonly signal?: AbortSignal;
  /** False: rethrow at once (a lost lease, a permanent error). Default: every error is retried. */
  readonly retryable?: (error: unknown, attempt: number) => boolean;
  /** Called before each wait, for the log line that says what failed and when it is tried again. */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

/**
 * The one backoff loop of the library: calls `attempt` until it resolves, waiting with exponential
 * backoff and full jitter in between. It stops, rethrowing the last error, when the error is not
 * retryable, the policy's attempts run out, or the signal aborts.
 */
export async function retry<T>(attempt: (attemptNumber: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, signal, retryable = () => true, onRetry } = options;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (signal?.aborted || n >= policy.maxAttempts || !retryable(error, n)) throw error;
      const wait = backoffDelay(policy, n);
      onRetry?.(error, n, wait);
      if (!(await pause(wait, signal))) throw error;
    }
  }
}

/** Waits ms, or less when the signal aborts. Resolves to false when aborted: callers check, nobody catches. */
export async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  try {
    await delay(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
