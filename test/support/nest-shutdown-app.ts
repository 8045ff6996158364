/**
 * A Nest app whose processor depends on a feature-module "pool" that connects in onApplicationBootstrap
 * and closes in onModuleDestroy, the way a repository's database pool may. It writes what happens to a
 * journal, so a test can check that the workers started after the pool opened and drained (last batch,
 * shutdown(REQUESTED), final checkpoint) while it was still open.
 * Imported by the in-process test; run as a script it is a child process app with enableShutdownHooks()
 * that a test stops with SIGTERM (configured by one JSON argument, journal appended to a JSONL file).
 */
import 'reflect-metadata';
import { appendFileSync } from 'node:fs';
import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  KinesisProcessor,
  KinesisWorkerModule,
  type KinesisRecordProcessor,
  type InitializeInput,
  type KinesisWorkerModuleOptions,
  type ProcessRecordsInput,
  type ShutdownInput,
} from '../../lib';

export type JournalEntry =
  | { kind: 'initialize'; shardId: string; poolOpen: boolean }
  | { kind: 'batchStarted'; shardId: string; count: number }
  | { kind: 'batchDone'; shardId: string; lastSequenceNumber: string }
  | { kind: 'checkpointed'; shardId: string; sequenceNumber: string; final: boolean }
  | { kind: 'failed'; shardId: string; step: string; error: string }
  | { kind: 'shutdown'; shardId: string; reason: string; poolOpen: boolean }
  | { kind: 'poolOpened' }
  | { kind: 'poolClosed' }
  | { kind: 'appStarted' };

export type Journal = (entry: JournalEntry) => void;

export interface ShutdownAppConfig {
  readonly stream: string;
  /** Module options: appName, endpoints, timings. */
  readonly options: KinesisWorkerModuleOptions;
  /** How long each batch works before it touches the pool, so a close can land while it is in flight. */
  readonly batchDelayMs: number;
  readonly maxRecords: number;
}

const JOURNAL = Symbol('JOURNAL');

/** Builds the app's root module: KinesisWorkerModule, a DatabaseModule with the pool, and an OrdersModule with the processor. */
export function shutdownAppModule(config: ShutdownAppConfig, journal: Journal) {
  /** Stands in for a database pool: connected in the last start hook, closed in the first stop hook. */
  @Injectable()
  class Pool implements OnApplicationBootstrap, OnModuleDestroy {
    private open = false;
    get isOpen() {
      return this.open;
    }
    // eslint-disable-next-line @typescript-eslint/require-await -- async like a real pool query: a closed pool is a rejection
    async query(what: string): Promise<void> {
      if (!this.open) throw new Error(`pool is closed: cannot ${what}`);
    }
    onApplicationBootstrap() {
      this.open = true;
      journal({ kind: 'poolOpened' });
    }
    onModuleDestroy() {
      this.open = false;
      journal({ kind: 'poolClosed' });
    }
  }

  @Module({ providers: [Pool, { provide: JOURNAL, useValue: journal }], exports: [Pool, JOURNAL] })
  class DatabaseModule {}

  @KinesisProcessor({ stream: config.stream, maxRecords: config.maxRecords })
  class OrdersProcessor implements KinesisRecordProcessor {
    constructor(
      private readonly pool: Pool,
      @Inject(JOURNAL) private readonly journal: Journal,
    ) {}

    initialize({ shardId }: InitializeInput) {
      this.journal({ kind: 'initialize', shardId, poolOpen: this.pool.isOpen });
    }

    async processRecords({ shardId, records, checkpointer }: ProcessRecordsInput) {
      this.journal({ kind: 'batchStarted', shardId, count: records.length });
      await new Promise((resolve) => setTimeout(resolve, config.batchDelayMs));
      const lastSequenceNumber = records.at(-1)!.sequenceNumber;
      await this.step(shardId, 'save the batch', () => this.pool.query(`save ${records.length} orders`));
      this.journal({ kind: 'batchDone', shardId, lastSequenceNumber });
      await this.step(shardId, 'checkpoint', () => checkpointer.checkpoint());
      this.journal({ kind: 'checkpointed', shardId, sequenceNumber: lastSequenceNumber, final: false });
    }

    async shutdown({ shardId, reason, checkpointer }: ShutdownInput) {
      this.journal({ kind: 'shutdown', shardId, reason, poolOpen: this.pool.isOpen });
      if (reason !== 'REQUESTED' || !checkpointer) return;
      await this.step(shardId, 'flush at shutdown', () => this.pool.query('flush'));
      await this.step(shardId, 'final checkpoint', () => checkpointer.checkpoint());
      this.journal({ kind: 'checkpointed', shardId, sequenceNumber: 'last delivered', final: true });
    }

    private async step(shardId: string, step: string, run: () => Promise<unknown>) {
      try {
        await run();
      } catch (error) {
        this.journal({ kind: 'failed', shardId, step, error: String(error) });
        throw error;
      }
    }
  }

  @Module({ imports: [DatabaseModule], providers: [OrdersProcessor] })
  class OrdersModule {}

  @Module({ imports: [KinesisWorkerModule.forRoot(config.options), OrdersModule] })
  class AppModule {}
  return AppModule;
}

async function main() {
  const { journalFile, ...config } = JSON.parse(process.argv[2]) as ShutdownAppConfig & { journalFile: string };
  const journal: Journal = (entry) => appendFileSync(journalFile, `${JSON.stringify(entry)}\n`);
  const app = await NestFactory.createApplicationContext(shutdownAppModule(config, journal), { logger: ['log', 'warn', 'error'] });
  app.enableShutdownHooks();
  journal({ kind: 'appStarted' });
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(2);
  });
}
