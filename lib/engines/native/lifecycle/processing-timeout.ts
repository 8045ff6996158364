import { KinesisWorkerError } from '../../../core/errors';

/** A processRecords call that did not return within processingTimeoutMs. */
export class ProcessingTimeoutError extends KinesisWorkerError {
  constructor(readonly timeoutMs: number) {
    super(
      `processRecords did not return within processingTimeoutMs (${timeoutMs} ms). The engine stops waiting: this processor ` +
        'gets no further batch and its checkpoints are refused (raise processingTimeoutMs if batches may legitimately take longer)',
    );
  }
}

/**
 * Runs a processor call, but stops waiting for it after timeoutMs (Infinity: waits as long as it takes).
 * On a timeout, onTimeout runs first, then the returned promise rejects with ProcessingTimeoutError;
 * the call itself cannot be cancelled and may still finish later.
 */
export function withProcessingTimeout<T>(call: () => T | Promise<T>, timeoutMs: number, onTimeout: () => void): Promise<T> {
  const running = Promise.resolve().then(call);
  if (!Number.isFinite(timeoutMs)) return running;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new ProcessingTimeoutError(timeoutMs));
    }, timeoutMs);
  });
  return Promise.race([running, expired]).finally(() => clearTimeout(timer));
}
