import type { GetRecordsCommand } from '@aws-sdk/client-kinesis';

/** The errors with which Kinesis throttles a GetRecords call (the stream's shard, or KMS for an encrypted stream). */
const THROTTLES = new Set(['ProvisionedThroughputExceededException', 'KMSThrottlingException']);

/**
 * Tells onThrottled about every attempt of this command that Kinesis throttled, including the ones
 * the SDK retries by itself (its default is three attempts): counting only the calls that failed
 * after the SDK's retries would hide most throttling. The middleware sits inside the SDK's retry
 * loop (deserialize step, run once per attempt) and never changes the outcome.
 */
export function countThrottledAttempts(command: GetRecordsCommand, onThrottled: ((errorType: string) => void) | undefined): GetRecordsCommand {
  if (!onThrottled) return command;
  command.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const name = (error as { name?: unknown } | undefined)?.name;
        if (typeof name === 'string' && THROTTLES.has(name)) onThrottled(name);
        throw error;
      }
    },
    { step: 'deserialize', priority: 'high', name: 'kinesisWorkerCountThrottles', tags: ['KINESIS_WORKER'] },
  );
  return command;
}
