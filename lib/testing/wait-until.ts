import { sleep } from '../core/sleep';

/** Thrown when a wait of the testing helpers runs out of time; the message says what was still missing. */
export class TestWaitTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TestWaitTimeoutError';
  }
}

export interface WaitUntilOptions {
  /** How long to wait at most. */
  readonly timeoutMs: number;
  /** How often the condition is checked. Default 25 ms. */
  readonly pollMs?: number;
  /**
   * Checked before each attempt: an error returned here ends the wait at once (a processor that threw,
   * no worker running) instead of letting it run into its timeout.
   */
  readonly abortWith?: () => Error | undefined;
}

/**
 * Checks `condition` until it returns true; on timeout, rejects with a TestWaitTimeoutError that starts
 * with `what` and adds what `missing()` says is still missing at that moment.
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  options: WaitUntilOptions,
  missing: () => string | Promise<string> = () => '',
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const abort = options.abortWith?.();
    if (abort) throw abort;
    if (await condition()) return;
    if (Date.now() > deadline) {
      const detail = await missing();
      throw new TestWaitTimeoutError(`Timed out after ${options.timeoutMs} ms waiting for ${what}${detail ? `:\n${detail}` : '.'}`);
    }
    await sleep(options.pollMs ?? 25);
  }
}
