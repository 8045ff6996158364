import {
  createWorker,
  type KinesisRecordProcessor,
  type KinesisWorker,
  type ProcessRecordsInput,
  type ShardContext,
  type ShutdownInput,
  type StreamWorkerOptions,
  type WorkerEvent,
} from '../../lib';
import type { PutResult } from '../../lib/testing';
import { workerClientOptions } from '../support/aws';
import { CapturingLogger } from '../support/capturing-logger';

export interface Delivered {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly data: string;
  readonly instance: number;
  readonly at: number;
}

export interface Observed {
  readonly type: 'build' | 'initialize' | 'batch' | 'shutdown';
  readonly shardId: string;
  readonly instance: number;
  readonly reason?: string;
  readonly at: number;
}

/** How a test shapes its processors; every hook may throw or hang. */
export interface Behaviour {
  build?(shard: ShardContext, attempt: number): void;
  /** Before the records of a batch are recorded; throwing fails the batch. */
  beforeBatch?(input: ProcessRecordsInput, instance: number, batch: number): void | Promise<void>;
  /** After the records are recorded; default: checkpoint() the batch. */
  afterBatch?(input: ProcessRecordsInput, instance: number): void | Promise<void>;
  /** Default: checkpoint() at TERMINATE and REQUESTED. */
  shutdown?(input: ShutdownInput, instance: number): void | Promise<void>;
}

/** One in-process native worker (the framework-free API) with processors that record what they see. */
export class ObservedWorker {
  readonly logger = new CapturingLogger();
  readonly events: WorkerEvent[] = [];
  readonly deliveries: Delivered[] = [];
  readonly observed: Observed[] = [];
  readonly worker: KinesisWorker;
  private instances = 0;
  private builds = 0;

  constructor(options: Partial<StreamWorkerOptions> & Pick<StreamWorkerOptions, 'appName' | 'streamName'>, behaviour: Behaviour = {}) {
    this.worker = createWorker(
      {
        ...workerClientOptions(),
        idleTimeBetweenReadsMs: 50,
        failoverTimeMs: 3_000,
        leaseTakerIntervalMs: 300,
        parentShardPollIntervalMs: 200,
        shardSyncIntervalMs: 1_000,
        ...options,
        logger: this.logger,
        onEvent: (event) => this.events.push(event),
      },
      (shard) => this.build(shard, behaviour),
    );
  }

  private build(shard: ShardContext, behaviour: Behaviour): KinesisRecordProcessor {
    behaviour.build?.(shard, ++this.builds);
    const instance = ++this.instances;
    let batches = 0;
    const note = (type: Observed['type'], reason?: string) =>
      void this.observed.push({ type, shardId: shard.shardId, instance, reason, at: Date.now() });
    note('build');
    return {
      initialize: () => note('initialize'),
      processRecords: async (input) => {
        await behaviour.beforeBatch?.(input, instance, ++batches);
        const at = Date.now();
        for (const r of input.records)
          this.deliveries.push({ shardId: input.shardId, sequenceNumber: r.sequenceNumber, data: r.data.toString(), instance, at });
        note('batch');
        if (behaviour.afterBatch) await behaviour.afterBatch(input, instance);
        else await input.checkpointer.checkpoint();
      },
      shutdown: async (input) => {
        note('shutdown', input.reason);
        if (behaviour.shutdown) await behaviour.shutdown(input, instance);
        else if (input.checkpointer && (input.reason === 'TERMINATE' || this.deliveries.some((d) => d.instance === instance)))
          await input.checkpointer.checkpoint();
      },
    };
  }

  delivered(puts: readonly PutResult[]): boolean {
    const seen = new Set(this.deliveries.map((d) => d.sequenceNumber));
    return puts.every((p) => seen.has(p.sequenceNumber));
  }

  /** Per shard: the distinct data in first-delivery order, for an in-order, nothing-lost comparison. */
  firstDeliveries(shardId: string): string[] {
    return [...new Set(this.deliveries.filter((d) => d.shardId === shardId).map((d) => d.data))];
  }

  /** Each processor instance must see its shard's records in increasing sequence order. */
  orderViolations(): string[] {
    const last = new Map<number, bigint>();
    const violations: string[] = [];
    for (const d of this.deliveries) {
      const seq = BigInt(d.sequenceNumber);
      const before = last.get(d.instance);
      if (before !== undefined && seq <= before)
        violations.push(`${d.shardId} instance ${d.instance}: ${d.sequenceNumber} after ${before}`);
      last.set(d.instance, seq);
    }
    return violations;
  }

  lines(pattern: RegExp): string[] {
    return this.logger.lines.filter((line) => pattern.test(line));
  }
}

/** The data each shard holds, in put order. */
export function expectedData(puts: readonly PutResult[], shardId: string): string[] {
  return puts.filter((p) => p.shardId === shardId).map((p) => p.data.toString());
}
