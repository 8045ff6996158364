import type { GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-kinesis';
import { isThrottling } from '../../../core/aws-errors';
import type { CallPacer } from './call-pacer';

/** Thrown when the worker stops while a call waits for its turn; the fetcher treats it as the stop it is. */
export class PacingAbortedError extends Error {
  constructor() {
    super('stopped while waiting for a turn to call Kinesis');
    this.name = 'PacingAbortedError';
  }
}

/**
 * Puts every HTTP attempt of `command` through the pacer: the middleware sits in the finalizeRequest
 * step below the SDK's retry middleware, so the SDK's own retries (maxAttempts) wait for their turn too,
 * a throttled answer widens the spacing before the SDK tries again, and every throttled attempt is
 * counted (onThrottled), not only those the SDK gave up on. The next attempt is spaced from the moment
 * this one was answered (its body read: the deserialize step lies below this one), see CallPacer.
 */
export function pacedBy<C extends GetRecordsCommand | GetShardIteratorCommand>(
  command: C,
  pacer: CallPacer,
  signal: AbortSignal,
  onThrottled?: () => void,
): C {
  // Both stacks take the same finalizeRequest middleware; one type for the call keeps TypeScript simple.
  (command.middlewareStack as GetRecordsCommand['middlewareStack']).add(
    (next) => async (args) => {
      if (!(await pacer.turn(signal))) throw new PacingAbortedError();
      try {
        return await next(args);
      } catch (error) {
        if (isThrottling(error)) {
          pacer.throttled();
          onThrottled?.();
        }
        throw error;
      } finally {
        pacer.answered();
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'kinesisWorkerPacing', tags: ['KINESIS_WORKER'] },
  );
  return command;
}
