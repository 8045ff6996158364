import type { WorkerMetrics } from '../../core/metrics';
import type { Socket } from 'node:net';
import { describeError, errorTrace } from '../../core/aws-errors';
import { withLogFields, type WorkerLogger } from '../../core/logger';
import type { ResolvedWorkerOptions } from '../../core/options';
import type { KinesisRecordProcessor, ProcessorFactory, ShutdownReason } from '../../core/processor';
import type { ExtendedSequenceNumber } from '../../core/record';
import { callWithRetries, type Delivery } from '../../core/processing-retry';
import { assertBatchProcessor, assertProcessor } from '../../core/assert-processor';
import { SHARD_END } from '../../core/checkpoint-target';
import { callShutdown } from '../../core/processor-calls';
import { reportProcessorFailures, type ProcessorCallName } from '../../core/processor-failure';
import { positionOf } from '../../core/sequence-number';
import { reportedFailures, reportsFailures } from '../../core/batch-result';
import { KinesisWorkerError } from '../../core/errors';
import {
  runKclProtocol,
  type Done,
  type KclAdapter,
  type KclCheckpointRequest,
  type KclInitializeInput,
  type KclProcessRecordsInput,
} from './aws-kcl-adapter';
import { KclCheckpointer } from './kcl-checkpointer';
import { toKinesisRecords } from './kcl-records';
import { ActionLineFilter, ProtocolOutput, errorChannel } from './protocol-streams';

export type SessionState = 'CONNECTED' | 'INITIALIZING' | 'PROCESSING' | 'SHUTTING_DOWN' | 'SHUT_DOWN';

export interface ShardSessionDeps {
  readonly socket: Socket;
  readonly options: ResolvedWorkerOptions;
  readonly factory: ProcessorFactory;
  readonly metrics: WorkerMetrics;
  /** Evicts this worker's lease on the shard (condition: still ours), so the work is retried elsewhere or later. */
  readonly giveUpLease: (shardId: string) => Promise<void>;
  /** The child shards the Java KCL recorded on the lease, once the shard ended. */
  readonly childShards: (shardId: string) => Promise<readonly string[]>;
}

/**
 * One MultiLangDaemon child, seen from the worker: a relay connected to the worker's socket. aws-kcl
 * speaks the protocol over the socket; this class is the processor aws-kcl drives, and it drives one
 * KinesisRecordProcessor built through the factory, with the engine's Promise contract.
 */
export class ShardSession {
  state: SessionState = 'CONNECTED';
  millisBehindLatest: number | undefined;
  shardId: string | undefined;
  /** Resolves once the connection is closed and the processor has been shut down. */
  readonly closed: Promise<void>;
  /** What the session is doing for the daemon right now (for the log of a stop that gave up). */
  currentAction: string | undefined;
  private processor: KinesisRecordProcessor | undefined;
  private checkpointer: KclCheckpointer | undefined;
  private initial: ExtendedSequenceNumber = { sequenceNumber: 'UNKNOWN', subSequenceNumber: 0 };
  private shutdownCalled = false;
  /** The lease was given up, or reported lost: no more deliveries, no checkpoints. */
  private abandoned = false;
  private leaseEventEmitted = false;
  private disconnected = false;
  private stopping = false;
  private readonly abort = new AbortController();
  private readonly requestCheckpoint: KclCheckpointRequest;
  private pendingCheckpoint: ((error: string) => void) | undefined;
  private actionInFlight: Promise<void> = Promise.resolve();
  private shardLogger: WorkerLogger | undefined;

  constructor(private readonly deps: ShardSessionDeps) {
    const describe = () => `${deps.options.streamName}/${this.shardId ?? 'shard not yet known'}`;
    // These outlive the moment the shard becomes known: they log through whatever logger is current.
    const current: WorkerLogger = {
      log: (message, fields) => this.logger.log(message, fields),
      warn: (message, fields) => this.logger.warn(message, fields),
      error: (message, stack, fields) => this.logger.error(message, stack, fields),
      debug: (message, fields) => this.logger.debug?.(message, fields),
    };
    const input = new ActionLineFilter(current, describe);
    deps.socket.pipe(input);
    this.requestCheckpoint = runKclProtocol(this.adapter(), {
      input,
      output: new ProtocolOutput(deps.socket),
      error: errorChannel(current, describe),
    });
    this.closed = new Promise((resolve) => {
      deps.socket.once('close', () => void this.onDisconnect().finally(resolve));
    });
    deps.socket.on('error', (error) => this.logger.debug?.(`Relay connection for ${describe()}: ${describeError(error)}`));
  }

  get checkpoint(): ExtendedSequenceNumber {
    return this.checkpointer?.lastCheckpoint ?? this.initial;
  }

  /** Graceful stop: no new batch is delivered and a failing call stops being retried; shutdown(REQUESTED) follows from the daemon. */
  requestStop(): void {
    this.stopping = true;
    this.abort.abort();
  }

  /** The options' logger; once the daemon has named the shard, with the shard in every line's fields. */
  private get logger(): WorkerLogger {
    return this.shardLogger ?? this.deps.options.logger;
  }

  private get where() {
    return `${this.deps.options.streamName}/${this.shardId}`;
  }

  /** The checkpoint request itself; the answer (an exception name or null) comes back through aws-kcl. */
  private sendCheckpoint(position: ExtendedSequenceNumber): Promise<string | null> {
    if (this.deps.socket.destroyed) return Promise.resolve('ShutdownException');
    return new Promise((resolve) => {
      this.pendingCheckpoint = resolve;
      this.requestCheckpoint(position.sequenceNumber === 'SHARD_END' ? null : position, (error) => {
        this.pendingCheckpoint = undefined;
        resolve(error ? String(error) : null);
      });
    });
  }

  private adapter(): KclAdapter {
    // Each action answers the daemon once its work is done, whatever happened: the daemon must never
    // get out of step with the child (it would exit).
    const act =
      <T>(name: string, work: (input: T) => Promise<void>) =>
      (input: T, done: Done) => {
        this.currentAction = name;
        this.actionInFlight = work(input)
          .catch((error) =>
            this.logger.error(`The kcl engine failed on ${name} for ${this.where}: ${describeError(error)}`, errorTrace(error)),
          )
          .finally(() => {
            this.currentAction = undefined;
            try {
              done();
            } catch (error) {
              this.logger.warn(`Could not answer ${name} for ${this.where}: ${describeError(error)}`);
            }
          });
      };
    return {
      initialize: act('initialize', (input) => this.onInitialize(input)),
      processRecords: act('processRecords', (input) => this.onProcessRecords(input)),
      leaseLost: act('leaseLost', () => this.onLeaseLost()),
      shardEnded: act('shardEnded', () => this.onShardEnded()),
      shutdownRequested: act('shutdownRequested', () => this.onShutdownRequested()),
    };
  }

  private async onInitialize(input: KclInitializeInput): Promise<void> {
    const { options } = this.deps;
    this.shardId = input.shardId;
    this.shardLogger = withLogFields(options.logger, { shard: input.shardId });
    this.state = 'INITIALIZING';
    // The daemon starts a child for each lease its worker took: from here on this worker holds it.
    options.emit({ type: 'leaseTaken', shardId: input.shardId, how: 'assigned' });
    this.initial = { sequenceNumber: input.sequenceNumber ?? 'TRIM_HORIZON', subSequenceNumber: input.subSequenceNumber ?? 0 };
    this.checkpointer = new KclCheckpointer(
      this.shardId,
      this.initial,
      (position) => this.sendCheckpoint(position),
      options.checkpointRetry,
      this.logger,
      () => (this.abandoned = true),
      (seconds, stored) => this.deps.metrics.checkpoint(input.shardId, seconds, stored),
    );
    const built = await this.withRetries('factory', 'building the processor', async () => {
      const processor = await this.deps.factory({ streamName: options.streamName, shardId: input.shardId, workerId: options.workerId });
      assertProcessor(processor, `the processor built for ${options.streamName}`);
      assertBatchProcessor(processor, `the processor built for ${options.streamName}`);
      this.processor = processor;
    });
    if (built === 'gave-up') return this.giveUp();
    if (built !== 'delivered') return;
    const start = this.initial;
    const initialized = await this.withRetries('initialize', `initialize at ${start.sequenceNumber}`, () =>
      this.processor!.initialize?.({ shardId: input.shardId, streamName: options.streamName, checkpoint: start }),
    );
    if (initialized === 'gave-up') return this.giveUp();
    // Abandoned (stopping): no batch follows; shutdownRequested comes next.
    if (initialized === 'delivered') this.state = 'PROCESSING';
  }

  private async onProcessRecords(input: KclProcessRecordsInput): Promise<void> {
    this.millisBehindLatest = input.millisBehindLatest ?? undefined;
    const records = toKinesisRecords(input.records ?? []);
    // Records that reach no processor are not checkpointed: whoever holds the lease next gets them again.
    if (records.length === 0 || !this.processor || this.abandoned || this.stopping || this.shutdownCalled) return;
    const checkpointer = this.checkpointer!;
    const previous = checkpointer.delivered;
    const last = records.at(-1)!;
    checkpointer.markDelivered(positionOf(last));
    checkpointer.openWindow();
    try {
      const bytes = records.reduce((total, record) => total + record.data.length, 0);
      const outcome = await this.withRetries(
        'processRecords',
        `processRecords for ${records.length} records ${records[0].sequenceNumber}..${last.sequenceNumber}`,
        () =>
          this.deps.metrics
            .delivery(this.shardId!, records.length, bytes, () =>
              this.processor!.processRecords({
                shardId: this.shardId!,
                records,
                checkpointer,
                millisBehindLatest: this.millisBehindLatest,
                // No `lease` (fencing token): the MultiLangDaemon's messages carry no lease counter.
              }),
            )
            .then(wholeBatchOnPartialFailure),
      );
      this.deps.metrics.batch(this.shardId!, outcome === 'delivered');
      if (outcome !== 'delivered') {
        // The batch did not succeed: a checkpoint() at shutdown must not cover it.
        checkpointer.rollBackDelivered(previous);
        if (outcome === 'gave-up') await this.giveUp();
      }
    } finally {
      checkpointer.closeWindow();
    }
  }

  /** Graceful stop of the daemon: the processor may checkpoint what it finished. A leaseLost follows; it is ignored then. */
  private async onShutdownRequested(): Promise<void> {
    if (!this.processor || this.shutdownCalled || this.abandoned) return;
    await this.callShutdown('REQUESTED', true);
  }

  private async onLeaseLost(): Promise<void> {
    this.checkpointer?.close('the Java KCL reported the lease lost');
    this.abandoned = true;
    if (!this.processor || this.shutdownCalled) return;
    this.emitLeaseLost('the Java KCL reported the lease lost');
    await this.callShutdown('ZOMBIE', false);
  }

  private emitLeaseLost(reason: string): void {
    if (this.leaseEventEmitted || this.stopping) return;
    this.leaseEventEmitted = true;
    this.deps.options.emit({ type: 'leaseLost', shardId: this.shardId!, reason });
  }

  /**
   * SHARD_END: the processor's shutdown(TERMINATE), retried with processingRetry while it throws (as
   * the Java KCL retries its shutdown task). Only once it returned normally is SHARD_END checkpointed
   * on its behalf (if it did not do so itself), so that the children can start. A TERMINATE that never
   * succeeds leaves the shard unfinished: the lease is given up without SHARD_END, and whoever takes
   * it next runs TERMINATE again.
   */
  private async onShardEnded(): Promise<void> {
    if (!this.processor || this.shutdownCalled || this.abandoned) return;
    const checkpointer = this.checkpointer!;
    checkpointer.markShardEnded();
    this.shutdownCalled = true;
    this.state = 'SHUTTING_DOWN';
    checkpointer.openWindow();
    let outcome: Delivery;
    try {
      outcome = await this.withRetries('shutdown', 'shutdown(TERMINATE)', () =>
        this.processor!.shutdown?.({ shardId: this.shardId!, reason: 'TERMINATE', checkpointer }),
      );
      if (outcome === 'delivered' && !checkpointer.finished) await this.checkpointShardEnd(checkpointer);
    } finally {
      checkpointer.closeWindow();
      this.state = 'SHUT_DOWN';
    }
    if (outcome === 'gave-up') return this.giveUp();
    if (outcome === 'abandoned') {
      this.logger.warn(
        `shutdown(TERMINATE) of ${this.where} did not succeed before the lease went away or the worker stopped; SHARD_END is not recorded, the next owner runs TERMINATE again.`,
      );
      return;
    }
    if (!checkpointer.finished) return;
    const children = await this.deps.childShards(this.shardId!).catch(() => [] as string[]);
    this.logger.log(`Shard ${this.shardId} finished (SHARD_END); children: ${children.join(', ') || 'none'}.`);
    this.deps.options.emit({ type: 'shardEnded', shardId: this.shardId!, childShardIds: children });
    // As in the native engine: the shard is finished, so this worker is done with its lease.
    this.leaseEventEmitted = true;
    this.deps.options.emit({ type: 'leaseReleased', shardId: this.shardId!, reason: 'SHARD_END' });
  }

  private async checkpointShardEnd(checkpointer: KclCheckpointer): Promise<void> {
    try {
      await checkpointer.checkpoint(SHARD_END.sequenceNumber);
    } catch (error) {
      this.logger.warn(
        `Could not checkpoint SHARD_END on ${this.where}; the next owner of the lease will finish it: ${describeError(error)}`,
      );
    }
  }

  /** REQUESTED or ZOMBIE: called once; a throw is logged (callShutdown) and changes nothing, nothing is recorded on the processor's behalf. */
  private async callShutdown(reason: Exclude<ShutdownReason, 'TERMINATE'>, withCheckpointer: boolean): Promise<void> {
    this.shutdownCalled = true;
    this.state = 'SHUTTING_DOWN';
    const checkpointer = this.checkpointer!;
    if (withCheckpointer) checkpointer.openWindow();
    try {
      await callShutdown(
        this.processor!,
        { shardId: this.shardId!, reason, checkpointer: withCheckpointer ? checkpointer : undefined },
        this.logger,
        reportProcessorFailures(this.deps.options.emit, this.shardId!, 'shutdown', `shutdown(${reason})`),
      );
    } finally {
      checkpointer.closeWindow();
      this.state = 'SHUT_DOWN';
    }
  }

  /** The processor could not be built or initialized, or a batch or TERMINATE failed processingRetry.maxAttempts times. */
  private async giveUp(): Promise<void> {
    this.abandoned = true;
    this.checkpointer?.close('the lease was given up');
    if (this.processor && !this.shutdownCalled) await this.callShutdown('ZOMBIE', false);
    try {
      await this.deps.giveUpLease(this.shardId!);
      this.leaseEventEmitted = true;
      this.deps.options.emit({ type: 'leaseReleased', shardId: this.shardId!, reason: 'GAVE_UP' });
    } catch (error) {
      this.logger.warn(`Giving up the lease of ${this.where} failed; it will expire instead: ${describeError(error)}`);
    }
  }

  private withRetries(name: ProcessorCallName, what: string, call: () => unknown): Promise<Delivery> {
    return callWithRetries({
      what,
      onFailure: reportProcessorFailures(this.deps.options.emit, this.shardId!, name, what),
      where: this.where,
      call,
      policy: this.deps.options.processingRetry,
      logger: this.logger,
      signal: this.abort.signal,
      abandoned: () => this.stopping || this.abandoned || this.disconnected,
    });
  }

  /** The relay went away: the daemon is done with the shard, or the JVM died. */
  private async onDisconnect(): Promise<void> {
    this.disconnected = true;
    this.pendingCheckpoint?.('ShutdownException');
    this.checkpointer?.close('the connection to the MultiLangDaemon closed');
    this.abort.abort();
    await this.actionInFlight;
    if (this.processor && !this.shutdownCalled) {
      this.emitLeaseLost('the MultiLangDaemon closed the connection');
      this.abandoned = true;
      await this.callShutdown('ZOMBIE', false);
    }
    this.state = 'SHUT_DOWN';
  }
}

/**
 * Partial batch failures are a native-engine feature: here a report of failed records fails the whole
 * batch, which is retried as a throw is, so that a failed record is never passed over.
 */
function wholeBatchOnPartialFailure(result: unknown): void {
  if (reportsFailures(reportedFailures(result)))
    throw new KinesisWorkerError(
      'processRecords reported failed records; the kcl engine retries the whole batch (partial batch failures need the native engine, docs/failures.md)',
    );
}
