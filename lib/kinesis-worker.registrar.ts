import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { createWorker } from './create-worker';
import { KinesisWorkerConfigError } from './core/errors';
import type { KinesisWorker } from './core/worker';
import { nestWorkerLogger } from './kinesis-worker.logger';
import { KinesisWorkerExplorer, type ProcessorBinding } from './kinesis-worker.explorer';
import { runHooksOutermost } from './kinesis-worker.lifecycle-order';
import { assertImportedOnce } from './kinesis-worker.single-import';
import { KINESIS_WORKER_MODULE_OPTIONS, type KinesisWorkerModuleOptions } from './kinesis-worker.module-definition';

/**
 * Creates, starts and stops one worker per lease table (the @KinesisProcessor classes of one appName share it): at bootstrap unless autoStart is false,
 * and on KinesisWorkerService.start()/stop(). Its module's hooks run after every other module's at
 * bootstrap and before them at close (see kinesis-worker.lifecycle-order.ts), so the workers drain
 * while the providers the processors use are still open.
 */
@Injectable()
export class KinesisWorkerRegistrar implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('KinesisWorker');
  private bindings?: ProcessorBinding[];
  private running: KinesisWorker[] = [];
  /** start() and stop() run one after the other, never interleaved. */
  private transitions: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly explorer: KinesisWorkerExplorer,
    @Inject(KINESIS_WORKER_MODULE_OPTIONS) private readonly options: KinesisWorkerModuleOptions,
    private readonly modules: ModulesContainer,
  ) {
    if (!runHooksOutermost(modules, KinesisWorkerRegistrar)) {
      this.logger.warn(
        'Could not order KinesisWorkerModule before the other modules at shutdown: the workers drain in their usual global-module turn. Close the resources processors use in onApplicationShutdown, or call KinesisWorkerService.stop() first.',
      );
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    // Before anything starts: with two imports, two registrars would each start every processor.
    assertImportedOnce(this.modules, KinesisWorkerRegistrar);
    const autoStart = this.options.autoStart ?? true;
    if (typeof autoStart !== 'boolean') {
      throw new KinesisWorkerConfigError(
        'autoStart',
        `expected true or false, got ${JSON.stringify(autoStart)}. Use autoStart: false to start the workers with KinesisWorkerService.start().`,
      );
    }
    if (this.discover().length === 0) {
      this.logger.warn('KinesisWorkerModule is imported but no provider is decorated with @KinesisProcessor: nothing to consume.');
      return;
    }
    if (autoStart) await this.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.stop();
  }

  workers(): readonly KinesisWorker[] {
    return this.running;
  }

  /** Starts a worker per processor; a no-op while they run. If one fails to start, the others are stopped. */
  start(): Promise<void> {
    return this.serialize(async () => {
      if (this.running.length > 0) return;
      const workers = this.discover().map(({ options, createProcessor }) => createWorker(options, createProcessor));
      try {
        await Promise.all(workers.map((worker) => worker.start()));
      } catch (error) {
        await Promise.allSettled(workers.map((worker) => worker.stop()));
        throw error;
      }
      this.running = workers;
    });
  }

  /** Stops the workers gracefully (batches in flight, shutdown(REQUESTED), final checkpoints, leases released). */
  stop(): Promise<void> {
    return this.serialize(async () => {
      const workers = this.running;
      this.running = [];
      await Promise.all(workers.map((worker) => worker.stop()));
    });
  }

  /** Explored once: the processors and options do not change while the app runs. */
  private discover(): ProcessorBinding[] {
    this.bindings ??= this.explorer.explore(nestWorkerLogger(this.options.logger ?? this.logger));
    return this.bindings;
  }

  private serialize(transition: () => Promise<void>): Promise<void> {
    const next = this.transitions.then(transition, transition);
    this.transitions = next.catch(() => undefined);
    return next;
  }
}
