import { Inject } from '@nestjs/common';
import { KINESIS_SHARD } from '../kinesis-worker.constants';

/** Injects the ShardContext ({ streamName, shardId, workerId }) of the processor's shard. */
export const InjectShard = (): ParameterDecorator & PropertyDecorator => Inject(KINESIS_SHARD);
