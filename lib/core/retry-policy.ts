/** Exponential backoff with full jitter, as the AWS SDKs do. */
export interface RetryPolicy {
  /** Attempts in all, the first included. Infinity retries until the worker stops. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.max(1, Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
}
