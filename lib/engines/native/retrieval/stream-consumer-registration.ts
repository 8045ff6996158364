import {
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  RegisterStreamConsumerCommand,
  type ConsumerDescription,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { describeError, isTransientAwsError } from '../../../core/aws-errors';
import { KinesisWorkerError } from '../../../core/errors';
import type { WorkerLogger } from '../../../core/logger';
import { pause, retry } from '../../../core/retry';
import { backoffDelay, type RetryPolicy } from '../../../core/retry-policy';

/** Throttling (RegisterStreamConsumer allows 5 calls/s per stream, DescribeStreamConsumer 20), 5xx, dropped connections. */
const CALL_RETRY: RetryPolicy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 5_000 };
/** Between two looks at a consumer that is CREATING (or DELETING, before it is registered again). */
const STATUS_POLL: RetryPolicy = { maxAttempts: Infinity, baseDelayMs: 100, maxDelayMs: 2_000 };
/** Kinesis makes a consumer ACTIVE within seconds; past this the worker does not start, and says why. */
export const CONSUMER_ACTIVE_TIMEOUT_MS = 120_000;

export interface ConsumerRegistrationConfig {
  readonly kinesis: KinesisClient;
  readonly streamName: string;
  readonly consumerName: string;
  /** An existing consumer: only waited for, never registered. */
  readonly consumerArn?: string;
  readonly logger: WorkerLogger;
  readonly activeTimeoutMs?: number;
}

/** The consumer could not be registered or did not become ACTIVE: the worker does not start. */
export class StreamConsumerError extends KinesisWorkerError {}

/**
 * Registers the enhanced fan-out consumer, or finds the one registered already (RegisterStreamConsumer
 * answers ResourceInUseException for a taken name: then DescribeStreamConsumer by name), and waits until
 * it is ACTIVE. Every worker of the application runs this at start, so it must be idempotent; the consumer
 * is never deregistered by the worker (other workers keep using it). Returns the consumer's ARN.
 */
export async function ensureStreamConsumer(config: ConsumerRegistrationConfig): Promise<string> {
  const deadline = Date.now() + (config.activeTimeoutMs ?? CONSUMER_ACTIVE_TIMEOUT_MS);
  const where = config.consumerArn
    ? `the stream consumer ${config.consumerArn}`
    : `the stream consumer '${config.consumerName}' of '${config.streamName}'`;
  const call = <T>(what: string, send: () => Promise<T>): Promise<T> =>
    retry(send, {
      policy: CALL_RETRY,
      retryable: (error) => isTransientAwsError(error) && Date.now() < deadline,
      onRetry: (error, attempt, delay) =>
        config.logger.warn(`${what} for ${where} failed (attempt ${attempt}), retrying in ${delay} ms: ${describeError(error)}`),
    }).catch((error: unknown) => {
      if (error instanceof StreamConsumerError) throw error;
      throw new StreamConsumerError(`${what} for ${where} failed: ${describeError(error)}. ${fixFor(error, what)}`, { cause: error });
    });
  const { kinesis } = config;
  const describe = (byArn: string | undefined, streamArn: string | undefined) =>
    call('DescribeStreamConsumer', async () => {
      const out = await kinesis.send(
        new DescribeStreamConsumerCommand(byArn ? { ConsumerARN: byArn } : { StreamARN: streamArn, ConsumerName: config.consumerName }),
      );
      return out.ConsumerDescription!;
    });

  let consumer: ConsumerDescription;
  let streamArn: string | undefined;
  if (config.consumerArn) {
    consumer = await describe(config.consumerArn, undefined);
  } else {
    const summary = await call('DescribeStreamSummary', () =>
      kinesis.send(new DescribeStreamSummaryCommand({ StreamName: config.streamName })),
    );
    streamArn = summary.StreamDescriptionSummary!.StreamARN!;
    consumer = await registerOrFind(config, streamArn, call, describe);
  }
  for (let attempt = 1; consumer.ConsumerStatus !== 'ACTIVE'; attempt++) {
    if (Date.now() > deadline) {
      throw new StreamConsumerError(
        `${where} is still ${consumer.ConsumerStatus} after ${(config.activeTimeoutMs ?? CONSUMER_ACTIVE_TIMEOUT_MS) / 1000} s; fan-out needs it ACTIVE. Check it with aws kinesis describe-stream-consumer, or use retrieval.mode 'polling'.`,
      );
    }
    await pause(backoffDelay(STATUS_POLL, attempt));
    try {
      consumer = await describe(consumer.ConsumerARN, undefined);
    } catch (error) {
      // A consumer that was DELETING is gone now: register the name again (unless it was given by ARN).
      if (!streamArn || (error as { cause?: { name?: string } }).cause?.name !== 'ResourceNotFoundException') throw error;
      consumer = await registerOrFind(config, streamArn, call, describe);
    }
  }
  config.logger.log(`Enhanced fan-out through ${where}: ${consumer.ConsumerARN} is ACTIVE.`);
  return consumer.ConsumerARN!;
}

async function registerOrFind(
  config: ConsumerRegistrationConfig,
  streamArn: string,
  call: <T>(what: string, send: () => Promise<T>) => Promise<T>,
  describe: (byArn: string | undefined, streamArn: string | undefined) => Promise<ConsumerDescription>,
): Promise<ConsumerDescription> {
  try {
    const out = await call('RegisterStreamConsumer', () =>
      config.kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: config.consumerName })),
    );
    config.logger.log(
      `Registered the stream consumer '${config.consumerName}' (${out.Consumer!.ConsumerARN}); waiting until it is ACTIVE.`,
    );
    return out.Consumer as ConsumerDescription;
  } catch (error) {
    // The name is taken: by this application's other workers, or an earlier run. Use it.
    if ((error as { cause?: { name?: string } }).cause?.name !== 'ResourceInUseException') throw error;
    return describe(undefined, streamArn);
  }
}

function fixFor(error: unknown, what: string): string {
  const name = (error as { name?: string })?.name ?? '';
  if (name === 'AccessDeniedException')
    return `The worker needs kinesis:${what} on the stream and its consumers (docs/iam.md), or pass retrieval.consumerArn of a consumer registered for it.`;
  if (name === 'LimitExceededException')
    return 'Kinesis allows 20 consumers per stream (and throttles registrations): deregister unused consumers, or share one through retrieval.consumerName.';
  if (name === 'ResourceNotFoundException') return 'Check streamName, region and retrieval.consumerArn.';
  return "Fix the cause, or use retrieval.mode 'polling'.";
}
