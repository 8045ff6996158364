export * from './kinesis-processor.decorator';
export * from './inject-shard.decorator';
export * from './on-kinesis-event.decorator';
