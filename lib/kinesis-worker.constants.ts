export const KINESIS_PROCESSOR_METADATA = 'nestjs-kinesis-worker:processor';

/** Inject this in a processor (or its request-scoped dependencies) to learn its ShardContext. */
export const KINESIS_SHARD = Symbol('KINESIS_SHARD');

export const KINESIS_EVENT_HANDLER_METADATA = 'nestjs-kinesis-worker:event-handler';
