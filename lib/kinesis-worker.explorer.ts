import { Inject, Injectable, type Type } from '@nestjs/common';
import { ContextIdFactory, DiscoveryService, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { KinesisWorkerConfigError } from './core/errors';
import type { StreamWorkerOptions } from './core/options';
import type { KinesisRecordProcessor, ProcessorFactory, ShardContext } from './core/processor';
import { resolveWorkerOptions } from './core/resolve-options';
import { assertProcessor } from './core/assert-processor';
import { KinesisEventHandlers } from './kinesis-event-handlers';
import { KinesisMetadataAccessor } from './kinesis-metadata.accessor';
import { KINESIS_WORKER_MODULE_OPTIONS, type KinesisWorkerModuleOptions } from './kinesis-worker.module-definition';

/** What one worker needs: a @KinesisProcessor class, its merged options and its per-shard factory. */
export interface ProcessorBinding {
  readonly processorName: string;
  readonly options: StreamWorkerOptions;
  readonly createProcessor: ProcessorFactory;
}

type ProcessorSettings = NonNullable<ReturnType<KinesisMetadataAccessor['processorOptions']>>;

/**
 * Finds the @KinesisProcessor providers of the app, validates them and their options, and builds for
 * each the factory that makes one processor instance per shard. It starts nothing: the registrar does.
 */
@Injectable()
export class KinesisWorkerExplorer {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly moduleRef: ModuleRef,
    private readonly metadata: KinesisMetadataAccessor,
    private readonly eventHandlers: KinesisEventHandlers,
    @Inject(KINESIS_WORKER_MODULE_OPTIONS) private readonly moduleOptions: KinesisWorkerModuleOptions,
  ) {}

  /** Throws KinesisWorkerConfigError naming the class and the option when something is wrong. */
  explore(logger: StreamWorkerOptions['logger']): ProcessorBinding[] {
    const { autoStart: _moduleOnly, ...workerOptions } = this.moduleOptions;
    const tables = new Map<string, string>();
    return this.findProcessors().map(({ wrapper, settings }) => {
      const processorName = wrapper.metatype!.name;
      const options: StreamWorkerOptions = { ...workerOptions, ...settings, streamName: settings.stream, logger: workerOptions.logger ?? logger };
      options.onEvent = this.eventHandlers.listenerFor(settings.stream, options.onEvent, options.logger ?? console);
      const resolved = resolveFor(processorName, options);
      const other = tables.get(resolved.tableName);
      if (other) {
        throw new KinesisWorkerConfigError(
          'appName',
          `${other} and ${processorName} would share the lease table '${resolved.tableName}', and shard ids collide across streams. Give one a distinct appName: @KinesisProcessor({ stream: '${settings.stream}', appName: '${resolved.appName}-${settings.stream}' }).`,
        );
      }
      tables.set(resolved.tableName, processorName);
      // The worker id is fixed here so that a worker restarted by the service keeps its identity.
      return { processorName, options: { ...options, workerId: resolved.workerId }, createProcessor: (shard) => this.instantiate(wrapper, shard) };
    });
  }

  private findProcessors(): { wrapper: InstanceWrapper; settings: ProcessorSettings }[] {
    const found: { wrapper: InstanceWrapper; settings: ProcessorSettings }[] = [];
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

function resolveFor(processorName: string, options: StreamWorkerOptions) {
  try {
    return resolveWorkerOptions(options);
  } catch (error) {
    if (error instanceof KinesisWorkerConfigError) error.message = `${error.message} (for @KinesisProcessor class ${processorName})`;
    throw error;
  }
}
