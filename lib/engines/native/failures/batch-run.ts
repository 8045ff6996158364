import { describeError, errorTrace } from '../../../core/aws-errors';
import { LeaseLostError } from '../../../core/errors';
import type { ResolvedWorkerOptions } from '../../../core/options';
import type { Delivery } from '../../../core/processing-retry';
import type { ExtendedSequenceNumber, KinesisRecord } from '../../../core/record';
import { pause } from '../../../core/retry';
import { backoffDelay } from '../../../core/retry-policy';
import { positionOf } from '../../../core/sequence-number';
import type { ShardCheckpointer } from '../checkpoint/shard-checkpointer';
import { bisect, nextFailureStep, type FailureStep } from './failure-step';
import { RecordsFailedError, RetriedBatch } from './retried-batch';

export interface BatchRunDeps {
  readonly records: readonly KinesisRecord[];
  readonly checkpointer: ShardCheckpointer;
  readonly options: Pick<ResolvedWorkerOptions, 'processingRetry' | 'failurePolicy' | 'logger' | 'onFailedBatch'>;
  /** Stream and shard, for the log lines. */
  readonly where: string;
  readonly signal: AbortSignal;
  /** True when the shard's processing must end now (lease lost, stop requested). */
  readonly abandoned: () => boolean;
  /** One processRecords call with these records (its timeout and metrics around it). */
  readonly call: (records: readonly KinesisRecord[]) => Promise<unknown>;
  /** Errors that end the batch at once, without another attempt (a processingTimeoutMs overrun). */
  readonly isFinal: (error: unknown) => boolean;
  /** Whether such an error sends the records to deadLetter (finite limits), or gives the lease up (retry for ever). */
  readonly finalToDestination?: boolean;
  /** Told of every failed call (the processorFailed event), before the policy decides what comes next. */
  readonly onFailure?: (error: unknown, attempt: number) => void;
  /** Hands records to onFailedBatch and checkpoints past them; false without a hook or when it failed. */
  readonly deadLetter: (
    records: readonly KinesisRecord[],
    end: ExtendedSequenceNumber,
    error: unknown,
    attempts: number,
  ) => Promise<boolean>;
  readonly now?: () => number;
}

export interface BatchRunResult {
  readonly outcome: Delivery;
  /** The last position this run stored as done (records reported done, halves that succeeded, dead letters). */
  readonly done?: ExtendedSequenceNumber;
  /** Records went to onFailedBatch: the batch counts as failed in the metrics. */
  readonly deadLettered: boolean;
}

/**
 * One batch of a processRecords processor through its failure policy (docs/failures.md): attempts with
 * backoff under processingRetry; a partial batch failure narrows the batch to the records from the first
 * failed one (the rest checkpointed, RetriedBatch); with bisectBatchOnError a thrown batch is split in
 * halves, each run on its own, the halves before the failing one checkpointed; once maxRetryAttempts,
 * processingRetry.maxAttempts or maxRecordAgeMs ends the attempts, the records still failing go to
 * onFailedBatch, or the lease is given up ('gave-up'). Nothing at or after a failed record is
 * checkpointed unless onFailedBatch took it.
 */
export async function runBatch(deps: BatchRunDeps): Promise<BatchRunResult> {
  const { checkpointer, options, where, signal, abandoned, isFinal, now = Date.now } = deps;
  const { processingRetry: policy, failurePolicy, logger } = options;
  const limits = { maxAttempts: policy.maxAttempts, ...failurePolicy, bisectOnError: failurePolicy.bisectBatchOnError };
  const batchEnd = positionOf(deps.records.at(-1)!);
  // Segments still to run, in shard order: the batch, or the halves a bisection left.
  const queue: (readonly KinesisRecord[])[] = [deps.records];
  let done: ExtendedSequenceNumber | undefined;
  let deadLettered = false;
  while (queue.length > 0) {
    const retried = new RetriedBatch(queue[0], checkpointer, logger, where);
    let failedAttempts = 0;
    for (;;) {
      const pending = retried.pending;
      const what = `processRecords for ${pending.length} records ${pending[0].sequenceNumber}..${pending.at(-1)!.sequenceNumber}`;
      // A checkpoint() with no argument inside the call names the end of what it was given, never past it.
      checkpointer.markDelivered(positionOf(pending.at(-1)!));
      let failure: unknown;
      try {
        await retried.attempt(deps.call);
      } catch (error) {
        failure = error;
      }
      done = retried.done ?? done;
      if (failure === undefined) {
        queue.shift();
        if (queue.length > 0) {
          const stored = await checkpointSegment(deps, pending);
          if (stored === 'lost') return { outcome: 'abandoned', done, deadLettered };
          done = stored ?? done;
        }
        break;
      }
      deps.onFailure?.(failure, failedAttempts + 1);
      if (failure instanceof LeaseLostError || abandoned()) return { outcome: 'abandoned', done, deadLettered };
      if (isFinal(failure)) {
        failedAttempts++;
        const records = retried.pending;
        const toDestination = deps.finalToDestination === true && options.onFailedBatch !== undefined;
        logger.error(
          `${what} on ${where}: ${describeError(failure)}; ${toDestination ? 'handing them to onFailedBatch' : 'giving the lease up so the records are retried later'}.`,
        );
        if (!toDestination) return { outcome: 'gave-up', done, deadLettered };
        const end = positionOf(records.at(-1)!);
        if (!(await deps.deadLetter(records, end, failure, failedAttempts))) return { outcome: 'gave-up', done, deadLettered };
        // The processor is still busy with the call that overran: nothing more of this batch goes to it.
        return { outcome: 'delivered', done: end, deadLettered: true };
      }
      failedAttempts++;
      const records = retried.pending;
      const step = nextFailureStep(
        {
          records: records.length,
          failedAttempts,
          oldestRecordAgeMs: now() - oldestArrival(records),
          reported: failure instanceof RecordsFailedError && failure.reported,
        },
        limits,
      );
      if (step === 'bisect') {
        const [first, second] = bisect(records);
        logger.error(
          `${what} on ${where} failed; bisecting it (bisectBatchOnError) into ${first.length} and ${second.length} records: ${describeError(failure)}`,
          errorTrace(failure),
        );
        queue.splice(0, 1, first, second);
        break;
      }
      if (step === 'retry') {
        const wait = backoffDelay(policy, failedAttempts);
        logger.error(
          `${what} on ${where} failed (attempt ${failedAttempts}), retrying in ${wait} ms: ${describeError(failure)}`,
          errorTrace(failure),
        );
        if (!(await pause(wait, signal)) || abandoned()) return { outcome: 'abandoned', done, deadLettered };
        continue;
      }
      const next = options.onFailedBatch ? 'handing them to onFailedBatch' : 'giving the lease up so the records are retried later';
      logger.error(
        `${what} on ${where} ${limitReached(step, failedAttempts, failurePolicy.maxRecordAgeMs)}; ${next}: ${describeError(failure)}`,
        errorTrace(failure),
      );
      const end = positionOf(records.at(-1)!);
      if (!(await deps.deadLetter(records, end, failure, failedAttempts))) return { outcome: 'gave-up', done, deadLettered };
      deadLettered = true;
      done = end;
      queue.shift();
      break;
    }
  }
  // What a checkpoint() at shutdown, or the automatic one, may name again: the end of the batch.
  checkpointer.markDelivered(batchEnd);
  return { outcome: 'delivered', done, deadLettered };
}

function limitReached(step: FailureStep, attempts: number, maxRecordAgeMs: number): string {
  return step === 'too-old'
    ? `failed ${attempts} times and holds records older than failurePolicy.maxRecordAgeMs (${maxRecordAgeMs} ms)`
    : `failed ${attempts} times`;
}

function oldestArrival(records: readonly KinesisRecord[]): number {
  let oldest = Infinity;
  for (const record of records) oldest = Math.min(oldest, record.approximateArrivalTimestamp.getTime());
  return oldest;
}

/** A half that succeeded while another one follows: stored, so that a give-up on the next one keeps it. */
async function checkpointSegment(
  deps: BatchRunDeps,
  segment: readonly KinesisRecord[],
): Promise<ExtendedSequenceNumber | 'lost' | undefined> {
  const last = segment.at(-1)!;
  try {
    await deps.checkpointer.checkpoint(last.sequenceNumber, last.subSequenceNumber);
    return positionOf(last);
  } catch (error) {
    if (error instanceof LeaseLostError) return 'lost';
    deps.options.logger.warn(
      `Checkpoint of ${deps.where} after a bisected half failed; going on with the next half: ${describeError(error)}`,
    );
    return undefined;
  }
}
