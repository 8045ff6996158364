import { Inject, Injectable, type Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  KINESIS_SHARD,
  KinesisProcessor,
  KinesisWorkerModule,
  type InitializeInput,
  type KinesisRecordProcessor,
  type KinesisWorkerOptions,
  type ProcessRecordsInput,
  type ShardContext,
  type ShutdownInput,
} from '../../lib';
import { workerClientOptions } from './aws';

export interface Delivery {
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly data: string;
  readonly instance: number;
}

export interface LifecycleEvent {
  readonly type: 'initialize' | 'processRecords' | 'shutdown';
  readonly shardId: string;
  readonly instance: number;
  readonly reason?: string;
  readonly checkpoint?: string;
  readonly hadCheckpointer?: boolean;
}

/**
 * An app-module provider the processors inject: it records what they saw, and lets a test
 * shape their behaviour (fail, be slow, skip checkpoints).
 */
@Injectable()
export class Recorder {
  readonly deliveries: Delivery[] = [];
  readonly events: LifecycleEvent[] = [];
  readonly errors: unknown[] = [];
  checkpointEachBatch = true;
  checkpointAtShutdown = true;
  /** Runs before each processRecords; throwing makes the batch fail. */
  beforeBatch: (input: ProcessRecordsInput, instance: number) => void | Promise<void> = () => undefined;

  byShard(): Map<string, string[]> {
    const map = new Map<string, string[]>();
    for (const d of this.deliveries) map.set(d.shardId, [...(map.get(d.shardId) ?? []), d.data]);
    return map;
  }

  dataSet(): Set<string> {
    return new Set(this.deliveries.map((d) => d.data));
  }
}

let instances = 0;

/** A @KinesisProcessor class for the given stream, as a user would write it. */
export function recordingProcessor(stream: string, overrides: Partial<KinesisWorkerOptions> = {}): Type<KinesisRecordProcessor> {
  @KinesisProcessor({ stream, ...overrides })
  class RecordingProcessor implements KinesisRecordProcessor {
    readonly instance = ++instances;

    constructor(
      private readonly recorder: Recorder,
      @Inject(KINESIS_SHARD) readonly shard: ShardContext,
    ) {}

    initialize({ shardId, checkpoint }: InitializeInput) {
      this.recorder.events.push({ type: 'initialize', shardId, instance: this.instance, checkpoint: checkpoint.sequenceNumber });
    }

    async processRecords(input: ProcessRecordsInput) {
      await this.recorder.beforeBatch(input, this.instance);
      for (const record of input.records) {
        this.recorder.deliveries.push({
          shardId: input.shardId,
          sequenceNumber: record.sequenceNumber,
          data: record.data.toString(),
          instance: this.instance,
        });
      }
      this.recorder.events.push({ type: 'processRecords', shardId: input.shardId, instance: this.instance });
      if (this.recorder.checkpointEachBatch) await input.checkpointer.checkpoint();
    }

    async shutdown({ shardId, reason, checkpointer }: ShutdownInput) {
      this.recorder.events.push({ type: 'shutdown', shardId, reason, instance: this.instance, hadCheckpointer: !!checkpointer });
      const delivered = this.recorder.deliveries.some((d) => d.instance === this.instance);
      if (checkpointer && this.recorder.checkpointAtShutdown && (delivered || reason === 'TERMINATE')) {
        await checkpointer.checkpoint().catch((error) => this.recorder.errors.push(error));
      }
    }
  }
  return RecordingProcessor;
}

export const FAST: Partial<KinesisWorkerOptions> = {
  idleTimeBetweenReadsMs: 50,
  failoverTimeMs: 3_000,
  parentShardPollIntervalMs: 200,
  shardSyncIntervalMs: 1_000,
};

/** Boots a Nest app context the way a user does, with the module and a decorated processor. */
export async function startApp(
  recorder: Recorder,
  processor: Type<KinesisRecordProcessor>,
  options: Partial<KinesisWorkerOptions> & { appName: string },
): Promise<TestingModule> {
  const moduleRef = await Test.createTestingModule({
    imports: [KinesisWorkerModule.forRoot({ ...workerClientOptions(), ...FAST, ...options })],
    providers: [{ provide: Recorder, useValue: recorder }, processor],
  }).compile();
  moduleRef.useLogger(['error', 'warn']);
  await moduleRef.init();
  return moduleRef;
}
