import { Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { describeError } from './core/aws-errors';
import type { WorkerLogger } from './core/logger';
import type { WorkerEventListener } from './core/worker';
import type { KinesisEventHandlerMetadata } from './decorators/on-kinesis-event.decorator';
import { KINESIS_EVENT_HANDLER_METADATA } from './kinesis-worker.constants';

interface Handler extends KinesisEventHandlerMetadata {
  readonly owner: string;
  readonly call: (event: Parameters<WorkerEventListener>[0]) => unknown;
}

/** Finds the @OnKinesisEvent methods of the app's singleton providers and turns them into one listener per stream. */
@Injectable()
export class KinesisEventHandlers {
  private handlers?: Handler[];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
  ) {}

  /**
   * The listener for one stream's worker: the option's own onEvent first, then every matching handler.
   * Each is isolated from the others: one that throws is logged and the rest still run.
   */
  listenerFor(stream: string, own: WorkerEventListener | undefined, logger: WorkerLogger): WorkerEventListener | undefined {
    const handlers = this.discover(logger).filter((h) => h.stream === undefined || h.stream === stream);
    // A non-function onEvent is left as it is, for option validation to reject with its message.
    if (handlers.length === 0 || (own !== undefined && typeof own !== 'function')) return own;
    return (event) => {
      try {
        own?.(event);
      } catch (error) {
        logger.warn(`onEvent listener threw on ${event.type}: ${describeError(error)}`);
      }
      for (const handler of handlers) {
        if (handler.type !== '*' && handler.type !== event.type) continue;
        const failed = (error: unknown) =>
          logger.warn(`@OnKinesisEvent('${handler.type}') handler ${handler.owner} failed on ${event.type}: ${describeError(error)}`);
        try {
          const result = handler.call(event);
          if (result && typeof (result as Promise<unknown>).then === 'function') (result as Promise<unknown>).catch(failed);
        } catch (error) {
          failed(error);
        }
      }
    };
  }

  private discover(logger: WorkerLogger): Handler[] {
    if (this.handlers) return this.handlers;
    this.handlers = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object') continue;
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const method = (prototype as Record<string, unknown>)[name] as object;
        const registrations = Reflect.getMetadata(KINESIS_EVENT_HANDLER_METADATA, method) as KinesisEventHandlerMetadata[] | undefined;
        if (!registrations) continue;
        const owner = `${(wrapper.name as string | symbol | undefined)?.toString() ?? prototype.constructor.name}.${name}`;
        if (!wrapper.isDependencyTreeStatic()) {
          logger.warn(
            `@OnKinesisEvent on ${owner} is ignored: its provider is request-scoped or transient; put the handler on a singleton provider.`,
          );
          continue;
        }
        for (const registration of registrations) {
          this.handlers.push({
            ...registration,
            owner,
            call: (event) => (instance[name] as (e: unknown) => unknown).call(instance, event),
          });
        }
      }
    }
    return this.handlers;
  }
}
