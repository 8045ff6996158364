import type { WorkerEvent } from '../core/worker';
import { KINESIS_EVENT_HANDLER_METADATA } from '../kinesis-worker.constants';

export type KinesisEventType = WorkerEvent['type'] | '*';

export interface OnKinesisEventOptions {
  /** Only events of this stream's worker. Default: every stream's. */
  stream?: string;
}

export interface KinesisEventHandlerMetadata extends OnKinesisEventOptions {
  readonly type: KinesisEventType;
}

/**
 * Calls the decorated method of any singleton provider on a worker event ('leaseTaken', 'leaseLost',
 * 'leaseReleased', 'shardEnded', 'processorFailed', or '*' for all), with the event and its workerId and streamName, as
 * @nestjs/bullmq's @OnWorkerEvent does. A handler that throws or rejects is logged; the worker goes on.
 */
export function OnKinesisEvent(type: KinesisEventType, options: OnKinesisEventOptions = {}): MethodDecorator {
  return (target, key, descriptor) => {
    const method = descriptor.value as unknown as object;
    const registered = (Reflect.getMetadata(KINESIS_EVENT_HANDLER_METADATA, method) as KinesisEventHandlerMetadata[] | undefined) ?? [];
    Reflect.defineMetadata(KINESIS_EVENT_HANDLER_METADATA, [...registered, { type, ...options }], method);
    return descriptor;
  };
}
