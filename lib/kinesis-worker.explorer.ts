import { Inject, Injectable, type Type } from '@nestjs/common';
import { ContextIdFactory, DiscoveryService, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { KinesisWorkerConfigError } from './core/errors';
import type { WorkerLogger } from './core/logger';
import type { StreamWorkerOptions } from './core/options';
import type { AnyRecordProcessor, ShardContext } from './core/processor';
import { resolveWorkerOptions } from './core/resolve-options';
import { STREAM_OPTION_KEYS, WORKER_OPTION_KEYS, checkOptionKeys } from './core/option-keys';
import { assertBatchProcessor, assertProcessor } from './core/assert-processor';
import { KinesisEventHandlers } from './kinesis-event-handlers';
import { groupByLeaseTable, type ProcessorBinding, type ProcessorEntry } from './kinesis-worker.grouping';
import { KinesisMetadataAccessor } from './kinesis-metadata.accessor';
import { KINESIS_WORKER_MODULE_OPTIONS, type KinesisWorkerModuleOptions } from './kinesis-worker.module-definition';

export type { ProcessorBinding } from './kinesis-worker.grouping';

type ProcessorSettings = NonNullable<ReturnType<KinesisMetadataAccessor['processorOptions']>>;

/**
 * Finds the @KinesisProcessor providers of the app, validates them and their options, and builds for
 * each the factory that makes one processor instance per shard. Processors of one appName (one lease
 * table) are grouped into one worker of several streams (kinesis-worker.grouping.ts). It starts nothing:
 * the registrar does.
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
  /** `logger`: where every worker logs, the module's `logger` option or Nest's Logger, as the registrar chose it. */
  explore(logger: WorkerLogger): ProcessorBinding[] {
    checkModuleOptionKeys(this.moduleOptions);
    const {
      autoStart: _moduleOnly,
      isGlobal: _builderExtra,
      ...workerOptions
    } = this.moduleOptions as KinesisWorkerModuleOptions & {
      isGlobal?: unknown;
    };
    const workerIds = new Map<string, string>();
    const entries = this.findProcessors().map(({ wrapper, settings }): ProcessorEntry => {
      const processorName = wrapper.metatype!.name;
      checkProcessorOptionKeys(processorName, settings);
      const { stream, ...overrides } = settings;
      const options: StreamWorkerOptions & { streamName: string } = {
        ...workerOptions,
        ...overrides,
        streamName: stream,
        logger,
      };
      options.onEvent = this.eventHandlers.listenerFor(stream, options.onEvent, logger);
      const resolved = resolveFor(processorName, options);
      if (resolved.engine === 'kcl')
        assertBatchProcessor(wrapper.metatype!.prototype as AnyRecordProcessor, `@KinesisProcessor class ${processorName}`);
      // The worker id is fixed here so that a worker restarted by the service keeps its identity; the
      // processors of one lease table share one worker, hence one id.
      const workerId = workerIds.get(resolved.tableName) ?? resolved.workerId;
      workerIds.set(resolved.tableName, workerId);
      return {
        processorName,
        tableName: resolved.tableName,
        options: { ...options, workerId },
        createProcessor: (shard) => this.instantiate(wrapper, shard),
      };
    });
    return groupByLeaseTable(entries);
  }

  private findProcessors(): { wrapper: InstanceWrapper; settings: ProcessorSettings }[] {
    const found: { wrapper: InstanceWrapper; settings: ProcessorSettings }[] = [];
    const seen = new Set<Type>();
    for (const wrapper of this.discovery.getProviders()) {
      const metatype = wrapper.metatype as Type | undefined;
      if (!metatype || wrapper.isAlias || wrapper.inject) continue;
      const settings = this.metadata.processorOptions(metatype);
      if (!settings) continue;
      if (seen.has(metatype)) {
        throw new KinesisWorkerConfigError(
          'processor',
          `${metatype.name} is provided by more than one module; provide each @KinesisProcessor class once.`,
        );
      }
      seen.add(metatype);
      assertProcessor(metatype.prototype, `@KinesisProcessor class ${metatype.name}`);
      if (typeof settings.stream !== 'string' || settings.stream === '') {
        throw new KinesisWorkerConfigError(
          'stream',
          `@KinesisProcessor on ${metatype.name} names no stream. Example: @KinesisProcessor('orders').`,
        );
      }
      found.push({ wrapper, settings });
    }
    return found;
  }

  /**
   * One instance per shard, built in the module that declares the processor. A processor that
   * injects request-scoped providers (KINESIS_SHARD among them) gets its own DI context per shard.
   */
  private async instantiate(wrapper: InstanceWrapper, shard: ShardContext): Promise<AnyRecordProcessor> {
    const metatype = wrapper.metatype as Type<AnyRecordProcessor>;
    if (!wrapper.isDependencyTreeStatic()) {
      const contextId = ContextIdFactory.create();
      this.moduleRef.registerRequestByContextId(shard, contextId);
      return this.moduleRef.resolve(metatype, contextId, { strict: false });
    }
    const hostRef = wrapper.host?.providers.get(ModuleRef)?.instance as ModuleRef | undefined;
    return (hostRef ?? this.moduleRef).create(metatype);
  }
}

/** The keys forRoot / forRootAsync take: the worker options but the stream, and the module's own. */
const MODULE_OPTION_KEYS = [...WORKER_OPTION_KEYS.filter((key) => !STREAM_OPTION_KEYS.includes(key)), 'autoStart', 'isGlobal'];

const STREAM_HINT =
  "the stream of each processor is the one of its @KinesisProcessor('stream'); for several streams on one lease table, write one @KinesisProcessor per stream and set multiStream: true.";

function checkModuleOptionKeys(options: object): void {
  if (options === null || typeof options !== 'object') return;
  checkOptionKeys(options, {
    known: MODULE_OPTION_KEYS,
    where: 'in the KinesisWorkerModule options (forRoot / forRootAsync)',
    hints: { streamName: STREAM_HINT, streams: STREAM_HINT },
  });
}

/** Set once for the module: its clients, engine and logger serve every processor. */
const MODULE_WIDE_KEYS = ['engine', 'kcl', 'logger', 'kinesis', 'dynamodb', 'region', 'autoStart'];

/** The keys @KinesisProcessor({ ... }) takes: its stream and the per-processor worker options. */
const PROCESSOR_OPTION_KEYS = [
  'stream',
  ...WORKER_OPTION_KEYS.filter((key) => !STREAM_OPTION_KEYS.includes(key) && !MODULE_WIDE_KEYS.includes(key)),
];

function checkProcessorOptionKeys(processorName: string, settings: object): void {
  const moduleWide = `is module-wide (one worker serves every processor of an appName with one set of clients): set it in KinesisWorkerModule.forRoot, not on ${processorName}.`;
  checkOptionKeys(settings, {
    known: PROCESSOR_OPTION_KEYS,
    where: `in @KinesisProcessor({ ... }) on ${processorName}`,
    hints: {
      ...Object.fromEntries(MODULE_WIDE_KEYS.map((key) => [key, moduleWide])),
      streamName: `the stream of a processor is its 'stream' option: @KinesisProcessor({ stream: 'orders' }).`,
      streams:
        'a processor consumes one stream: write one @KinesisProcessor per stream (they share a worker and lease table with multiStream: true).',
    },
  });
}

function resolveFor(processorName: string, options: StreamWorkerOptions) {
  try {
    return resolveWorkerOptions(options);
  } catch (error) {
    if (error instanceof KinesisWorkerConfigError) error.message = `${error.message} (for @KinesisProcessor class ${processorName})`;
    throw error;
  }
}
