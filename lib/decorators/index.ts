export * from './kinesis-processor.decorator';
export * from './inject-shard.decorator';
