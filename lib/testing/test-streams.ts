import {
  DeleteStreamCommand,
  DescribeStreamSummaryCommand,
  ListShardsCommand,
  SplitShardCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import type { KinesisWorkerOptions } from '../core/options';
import type { KinesisRecord } from '../core/record';
import type { WorkerLogger } from '../core/logger';
import type { KinesisWorker, WorkerEvent, WorkerStatus } from '../core/worker';
import { checkpointProgress, describePending, shardKey, type PutRecordRef } from './checkpoint-progress';
import { localKinesisClient } from './clients';
import { startFaultProxy, type FaultProxy } from './fault-proxy';
import type { LocalEmulators } from './local-emulators';
import { ProcessorFailures, quietTestLogger, type ProcessorFailedError } from './processor-failures';
import { sharedEmulators } from './shared-emulators';
import { claimStreamNames, type StreamNamesClaim } from './stream-regions';
import { createStream, putRecords, waitForStreamActive, type PutResult } from './streams';
import { toRecordData } from './test-records';
import { uniqueTestName } from './unique-name';
import { waitUntil } from './wait-until';

export interface KinesisTestStreamsOptions {
  /** The streams to create, by name, with their shard counts: `{ orders: 2 }`. Deleted again by close(). */
  readonly streams: Readonly<Record<string, number>>;
  /** Default: sharedEmulators(), one set per process started on first use. */
  readonly emulators?: LocalEmulators;
  /** The application name (lease table). Default a unique one per instance, so that tests never share leases. */
  readonly appName?: string;
  /** How long processed(), checkpointed() and waitFor() wait by default. Default 10000 ms. */
  readonly timeoutMs?: number;
  /** Where the worker's log lines go. Default: warnings and errors on the console. */
  readonly logger?: WorkerLogger;
}

/** A record to put: `data` as in TestRecordFactory (objects as JSON). */
export interface TestPutEntry {
  readonly data: unknown;
  readonly partitionKey: string;
  readonly explicitHashKey?: string;
}

export interface TestWaitOptions {
  /** Default: the instance's timeoutMs. */
  readonly timeoutMs?: number;
  /** Keep waiting through processor failures (the engine retries them) instead of rejecting with the first one. */
  readonly tolerateFailures?: boolean;
}

/**
 * Records the worker handed to a destination hook given to workerOptions() (onFailedBatch, onFailedRecord),
 * once the hook resolved: retries ran out, or lag shedding (`error` a RecordsShedError, `attempts` 0).
 */
export interface TestDeadLetter {
  readonly hook: 'onFailedBatch' | 'onFailedRecord';
  readonly streamName: string;
  readonly shardId: string;
  readonly records: readonly KinesisRecord[];
  readonly error: unknown;
  readonly attempts: number;
}

/** What a worker reports, from the worker itself or from KinesisWorkerService.status(). */
export type WorkerStatusSource = KinesisWorker | (() => readonly WorkerStatus[]);

/**
 * The streams of one test, on the emulators: put records, then wait until the worker has processed and
 * checkpointed them, with failures of the processor reported as such. The worker reaches the emulators
 * through two fault proxies (`faults.kinesis`, `faults.dynamodb`) so that a test can inject the AWS
 * faults the engine handles; the test's own puts go straight to the emulator.
 *
 * Standalone: `const streams = await KinesisTestStreams.create({ streams: { orders: 2 } })`, then
 * `createWorker({ ...streams.workerOptions(), streamName: 'orders' }, factory)`, `streams.watch(worker)`.
 * With Nest, KinesisWorkerTestingModule (nestjs-kinesis-worker/testing/nest) does all of that.
 */
export class KinesisTestStreams {
  /** The Kinesis client the test uses (HTTP/1.1, straight to the emulator, no fault proxy). */
  readonly client: KinesisClient;
  private readonly puts: PutRecordRef[] = [];
  private readonly ended = new Set<string>();
  private readonly seenEvents: (WorkerEvent & { streamName: string })[] = [];
  private readonly failures = new ProcessorFailures();
  private readonly deadLetters: TestDeadLetter[] = [];
  private readonly sources: WorkerStatusSource[] = [];
  private closed = false;

  /**
   * Where the streams live on the emulator: its own region, or another one when a live KinesisTestStreams
   * of this process already uses one of these stream names (stream-regions.ts). workerOptions() and
   * `client` use it; a client of your own needs it too: localKinesisClient({ ...streams.emulators, region: streams.region }).
   */
  readonly region: string;

  private constructor(
    readonly emulators: LocalEmulators,
    readonly appName: string,
    readonly streamNames: readonly string[],
    /** Fault proxies in front of the emulators, on the worker's path only (workerOptions() points at them). */
    readonly faults: { readonly kinesis: FaultProxy; readonly dynamodb: FaultProxy },
    private readonly options: KinesisTestStreamsOptions,
    private readonly claim: StreamNamesClaim,
  ) {
    this.region = claim.region;
    this.client = localKinesisClient({ ...emulators, region: claim.region });
  }

  /** Starts (or reuses) the emulators, creates the streams and the fault proxies. */
  static async create(options: KinesisTestStreamsOptions): Promise<KinesisTestStreams> {
    const entries = Object.entries(options?.streams ?? {});
    if (entries.length === 0)
      throw new Error('KinesisTestStreams needs at least one stream: { streams: { orders: 2 } } (name: shard count).');
    for (const [name, shards] of entries) {
      if (!Number.isInteger(shards) || shards < 1) {
        throw new Error(`KinesisTestStreams: stream '${name}' needs a whole number of shards >= 1, got ${JSON.stringify(shards)}.`);
      }
    }
    const emulators = options.emulators ?? (await sharedEmulators());
    const claim = claimStreamNames(
      emulators.kinesis.endpoint,
      entries.map(([name]) => name),
      emulators.region,
    );
    try {
      const [kinesis, dynamodb] = await Promise.all([
        startFaultProxy({ target: emulators.kinesis.endpoint }),
        startFaultProxy({ target: emulators.dynamodb.endpoint }),
      ]);
      const streams = new KinesisTestStreams(
        emulators,
        options.appName ?? uniqueTestName('test-app'),
        entries.map(([name]) => name),
        { kinesis, dynamodb },
        options,
        claim,
      );
      try {
        await Promise.all(entries.map(([name, shards]) => streams.recreate(name, shards)));
      } catch (error) {
        await streams.close();
        throw error;
      }
      return streams;
    } catch (error) {
      claim.release();
      throw error;
    }
  }

  /**
   * Options for a worker on these streams (give them to KinesisWorkerModule.forRoot or createWorker with a
   * streamName): the emulators through the fault proxies, a unique appName, TRIM_HORIZON, and short
   * intervals so that a test does not wait on production timings (failover 1 s, lease taking every 200 ms,
   * reads every 50 ms, parents polled every 100 ms). `overrides` win.
   */
  workerOptions(overrides: Partial<KinesisWorkerOptions> = {}): KinesisWorkerOptions {
    const { onEvent, logger, onFailedBatch, onFailedRecord, ...rest } = overrides;
    return {
      appName: this.appName,
      region: this.region,
      initialPosition: 'TRIM_HORIZON',
      failoverTimeMs: 1_000,
      leaseTakerIntervalMs: 200,
      shardSyncIntervalMs: 500,
      parentShardPollIntervalMs: 100,
      idleTimeBetweenReadsMs: 50,
      maxGetRecordsPerSecond: 20,
      shutdownTimeoutMs: 5_000,
      ...rest,
      kinesis: { ...this.emulators.workerOptions.kinesis, endpoint: this.faults.kinesis.url, ...rest.kinesis },
      dynamodb: { ...this.emulators.workerOptions.dynamodb, endpoint: this.faults.dynamodb.url, ...rest.dynamodb },
      logger: logger ?? this.options.logger ?? quietTestLogger,
      // The hooks are the test's own; what they took is remembered once they resolved (deadLettered()).
      ...(onFailedBatch && {
        onFailedBatch: async (batch) => {
          await onFailedBatch(batch);
          this.deadLetters.push({ hook: 'onFailedBatch', ...batch });
        },
      }),
      ...(onFailedRecord && {
        onFailedRecord: async ({ record, ...failed }) => {
          await onFailedRecord({ record, ...failed });
          this.deadLetters.push({ hook: 'onFailedRecord', ...failed, records: [record] });
        },
      }),
      onEvent: (event) => {
        this.seenEvents.push(event);
        // The engine's own report of a processor call that threw, with the error object: no log line is parsed.
        if (event.type === 'processorFailed') this.failures.record(event);
        if (event.type === 'shardEnded') this.ended.add(shardKey(event.streamName, event.shardId));
        onEvent?.(event);
      },
    };
  }

  /** Where processed() and checkpointed() read the checkpoints: a worker, or a function such as () => service.status(). */
  watch(source: WorkerStatusSource): this {
    this.sources.push(source);
    return this;
  }

  /** Puts records (PutRecords, retried until every one is in) and remembers where each landed. */
  async put(stream: string, entries: readonly TestPutEntry[]): Promise<PutResult[]> {
    this.assertOpen('put');
    this.assertKnown(stream);
    const results = await putRecords(
      this.client,
      stream,
      entries.map((entry) => ({
        partitionKey: entry.partitionKey,
        data: toRecordData(entry.data),
        explicitHashKey: entry.explicitHashKey,
      })),
    );
    for (const result of results) {
      this.puts.push({ stream, shardId: result.shardId, sequenceNumber: result.sequenceNumber, partitionKey: result.partitionKey });
    }
    return results;
  }

  /**
   * Resolves once every record put so far was processed and checkpointed (each shard's checkpoint covers
   * the last record put to it, or the shard ended). A record handed to onFailedBatch / onFailedRecord (its
   * retries ran out, or it was shed) counts once the hook resolved, since the checkpoint then passes it;
   * so does a record shed with shedTo: 'skip'. Rejects with the processor's error when a processor throws
   * (unless tolerateFailures: a test of a poison record passes it, then reads deadLettered()), at once
   * when no worker is running, and on timeout with each shard's checkpoint and the records it does not
   * cover yet.
   */
  processed(options: TestWaitOptions = {}): Promise<void> {
    return this.waitForCheckpoints(() => true, 'every record put so far to be processed and checkpointed', options);
  }

  /** As processed(), for one stream (by name) or one shard (by id) only. */
  checkpointed(streamOrShard?: string, options: TestWaitOptions = {}): Promise<void> {
    if (streamOrShard === undefined) return this.processed(options);
    const isStream = this.streamNames.includes(streamOrShard);
    if (!isStream && !this.puts.some((put) => put.shardId === streamOrShard)) {
      throw new Error(
        `checkpointed('${streamOrShard}'): no record was put to a stream or shard of that name. Streams: ${this.streamNames.join(', ')}; shards put to: ${[...new Set(this.puts.map((p) => p.shardId))].join(', ') || 'none'}.`,
      );
    }
    return this.waitForCheckpoints(
      (put) => (isStream ? put.stream === streamOrShard : put.shardId === streamOrShard),
      `the records put to ${isStream ? 'stream' : 'shard'} ${streamOrShard} to be checkpointed`,
      options,
    );
  }

  /** Waits for the test's own condition (say, a repository's content), with processor failures reported as in processed(). */
  waitFor(condition: () => boolean | Promise<boolean>, what: string, options: TestWaitOptions = {}): Promise<void> {
    return waitUntil(condition, what, { timeoutMs: this.timeout(options), abortWith: () => this.abortReason(options, false) });
  }

  /** The shard ids of a stream, open and closed, as ListShards returns them. */
  async shardIds(stream: string): Promise<string[]> {
    this.assertKnown(stream);
    const { Shards } = await this.client.send(new ListShardsCommand({ StreamName: stream }));
    return (Shards ?? []).map((shard) => shard.ShardId!);
  }

  /**
   * Splits a shard (default: the stream's first open shard) in the middle of its hash key range and waits
   * for the stream to be ACTIVE again. Records put afterwards go to the children, which the engine starts
   * only after the parent finished.
   */
  async split(stream: string, shardId?: string): Promise<{ parent: string; children: string[] }> {
    this.assertKnown(stream);
    const { Shards = [] } = await this.client.send(new ListShardsCommand({ StreamName: stream }));
    const open = Shards.filter((shard) => !shard.SequenceNumberRange?.EndingSequenceNumber);
    const shard = shardId ? open.find((s) => s.ShardId === shardId) : open[0];
    if (!shard)
      throw new Error(`split: no open shard ${shardId ?? ''} in stream ${stream}; open shards: ${open.map((s) => s.ShardId).join(', ')}.`);
    const start = BigInt(shard.HashKeyRange!.StartingHashKey!);
    const end = BigInt(shard.HashKeyRange!.EndingHashKey!);
    await this.client.send(
      new SplitShardCommand({ StreamName: stream, ShardToSplit: shard.ShardId, NewStartingHashKey: String((start + end) / 2n) }),
    );
    await waitForStreamActive(this.client, stream);
    const after = (await this.client.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
    const children = after.filter((s) => s.ParentShardId === shard.ShardId || s.AdjacentParentShardId === shard.ShardId);
    return { parent: shard.ShardId!, children: children.map((s) => s.ShardId!) };
  }

  /** The events of the workers using workerOptions() (lease events, processorFailed), oldest first. */
  events(): readonly (WorkerEvent & { streamName: string })[] {
    return this.seenEvents;
  }

  /** What the workers handed to the onFailedBatch / onFailedRecord hooks of workerOptions(), once each hook resolved, oldest first. */
  deadLettered(): readonly TestDeadLetter[] {
    return this.deadLetters;
  }

  /** The processor failures the workers reported (processorFailed events), oldest first. */
  processorFailures(): readonly ProcessorFailedError[] {
    return this.failures.all();
  }

  /** A test that expected the failures so far: the next waits do not reject with them. */
  acknowledgeFailures(): void {
    this.failures.acknowledge();
  }

  /** Deletes the streams, closes the proxies and the client. Stop the workers first. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await Promise.allSettled(this.streamNames.map((name) => this.deleteStream(name)));
    } finally {
      this.client.destroy();
      await Promise.allSettled([this.faults.kinesis.close(), this.faults.dynamodb.close()]);
      this.claim.release();
    }
  }

  private waitForCheckpoints(selected: (put: PutRecordRef) => boolean, what: string, options: TestWaitOptions): Promise<void> {
    this.assertOpen('wait');
    const progress = () => checkpointProgress(this.puts.filter(selected), this.statuses(), this.ended);
    return waitUntil(
      () => progress().every((shard) => shard.pending.length === 0),
      what,
      { timeoutMs: this.timeout(options), abortWith: () => this.abortReason(options, true) },
      () => describePending(progress()).join('\n'),
    );
  }

  private statuses(): WorkerStatus[] {
    return this.sources.flatMap((source) => (typeof source === 'function' ? [...source()] : [source.describe()]));
  }

  private abortReason(options: TestWaitOptions, needsWorker: boolean): Error | undefined {
    if (!options.tolerateFailures) {
      const failure = this.failures.takeUnreported();
      if (failure) return failure;
    }
    if (needsWorker && !this.statuses().some((status) => status.running)) {
      return new Error(
        this.sources.length === 0
          ? 'No worker to wait for: pass the worker to streams.watch(worker) (KinesisWorkerTestingModule does this for you).'
          : 'No worker is running: call await app.init() (or worker.start()) before waiting; with autoStart: false, start KinesisWorkerService first. ' +
              `Or no @KinesisProcessor consumes the streams ${this.streamNames.join(', ')}.`,
      );
    }
    return undefined;
  }

  private timeout(options: TestWaitOptions): number {
    return options.timeoutMs ?? this.options.timeoutMs ?? 10_000;
  }

  private assertKnown(stream: string): void {
    if (!this.streamNames.includes(stream)) {
      throw new Error(
        `Unknown test stream '${stream}': this KinesisTestStreams created ${this.streamNames.map((name) => `'${name}'`).join(', ')}. Add it to streams: { ${stream}: 1 }.`,
      );
    }
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new Error(`Cannot ${what}: this KinesisTestStreams is closed (the app was closed).`);
  }

  /** Creates the stream; one left over by a test that never closed is deleted first. */
  private async recreate(name: string, shards: number): Promise<void> {
    if (await this.exists(name)) await this.deleteStream(name);
    await createStream(this.client, name, shards);
  }

  private async deleteStream(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteStreamCommand({ StreamName: name, EnforceConsumerDeletion: true }));
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceNotFoundException') return;
      throw error;
    }
    await waitUntil(async () => !(await this.exists(name)), `stream ${name} to be deleted`, { timeoutMs: 10_000 });
  }

  private async exists(name: string): Promise<boolean> {
    try {
      await this.client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceNotFoundException') return false;
      throw error;
    }
  }
}
