import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy, type Type } from '@nestjs/common';
import { ContextIdFactory, DiscoveryService, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { createWorker } from './create-worker';
import { KinesisWorkerConfigError } from './core/errors';
import type { KinesisRecordProcessor, ShardContext } from './core/processor';
import type { KinesisWorker } from './core/worker';
import { resolveWorkerOptions } from './core/resolve-options';
import { assertProcessor } from './core/assert-processor';
import { KinesisMetadataAccessor } from './kinesis-metadata.accessor';
import { KINESIS_WORKER_MODULE_OPTIONS, type KinesisWorkerModuleOptions } from './kinesis-worker.module-definition';
import { KinesisWorkerService } from './kinesis-worker.service';

/**
 * Finds the @KinesisProcessor providers, starts one worker per processor at bootstrap, and stops
 * them gracefully when the app closes.
 */
@Injectable()
export class KinesisWorkerExplorer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('KinesisWorker');
  private readonly workers: KinesisWorker[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly moduleRef: ModuleRef,
    private readonly metadata: KinesisMetadataAccessor,
    private readonly service: KinesisWorkerService,
    @Inject(KINESIS_WORKER_MODULE_OPTIONS) private readonly options: KinesisWorkerModuleOptions,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const processors = this.findProcessors();
    if (processors.length === 0) {
      this.logger.warn('KinesisWorkerModule is imported but no provider is decorated with @KinesisProcessor: nothing to consume.');
      return;
    }
    const tables = new Map<string, string>();
    for (const { wrapper, settings } of processors) {
      const name = wrapper.metatype!.name;
      const options = { ...this.options, ...settings, streamName: settings.stream, logger: this.options.logger ?? this.logger };
      let resolved;
      try {
        resolved = resolveWorkerOptions(options);
      } catch (error) {
        if (error instanceof KinesisWorkerConfigError) error.message = `${error.message} (for @KinesisProcessor class ${name})`;
        throw error;
      }
      const other = tables.get(resolved.tableName);
      if (other) {
        throw new KinesisWorkerConfigError(
          'appName',
          `${other} and ${name} would share the lease table '${resolved.tableName}', and shard ids collide across streams. Give one a distinct appName: @KinesisProcessor({ stream: '${settings.stream}', appName: '${resolved.appName}-${settings.stream}' }).`,
        );
      }
      tables.set(resolved.tableName, name);
      const worker = createWorker({ ...options, workerId: resolved.workerId }, (shard) => this.instantiate(wrapper, shard));
      this.workers.push(worker);
    }
    try {
      await Promise.all(this.workers.map((worker) => worker.start()));
    } catch (error) {
      await Promise.allSettled(this.workers.map((worker) => worker.stop()));
      throw error;
    }
    this.workers.forEach((worker) => this.service.register(worker));
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.stop()));
  }

  private findProcessors() {
    const found: { wrapper: InstanceWrapper; settings: NonNullable<ReturnType<KinesisMetadataAccessor['processorOptions']>> }[] = [];
    const seen = new Set<Function>();
    for (const wrapper of this.discovery.getProviders()) {
      const metatype = wrapper.metatype as Type | undefined;
      if (!metatype || wrapper.isAlias || wrapper.inject) continue;
      const settings = this.metadata.processorOptions(metatype);
      if (!settings) continue;
      if (seen.has(metatype)) {
        throw new KinesisWorkerConfigError('processor', `${metatype.name} is provided by more than one module; provide each @KinesisProcessor class once.`);
      }
      seen.add(metatype);
      assertProcessor(metatype.prototype, `@KinesisProcessor class ${metatype.name}`);
      if (typeof settings.stream !== 'string' || settings.stream === '') {
        throw new KinesisWorkerConfigError('stream', `@KinesisProcessor on ${metatype.name} names no stream. Example: @KinesisProcessor('orders').`);
      }
      found.push({ wrapper, settings });
    }
    return found;
  }

  /**
   * One instance per shard, built in the module that declares the processor. A processor that
   * injects request-scoped providers (KINESIS_SHARD among them) gets its own DI context per shard.
   */
  private async instantiate(wrapper: InstanceWrapper, shard: ShardContext): Promise<KinesisRecordProcessor> {
    const metatype = wrapper.metatype as Type<KinesisRecordProcessor>;
    if (!wrapper.isDependencyTreeStatic()) {
      const contextId = ContextIdFactory.create();
      this.moduleRef.registerRequestByContextId(shard, contextId);
      return this.moduleRef.resolve(metatype, contextId, { strict: false });
    }
    const hostRef = wrapper.host?.providers.get(ModuleRef)?.instance as ModuleRef | undefined;
    return (hostRef ?? this.moduleRef).create(metatype);
  }
}
