import { Injectable, type Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { KinesisProcessorOptions } from './decorators/kinesis-processor.decorator';
import { KINESIS_PROCESSOR_METADATA } from './kinesis-worker.constants';

@Injectable()
export class KinesisMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  processorOptions(target: Type | undefined): Omit<KinesisProcessorOptions, 'scope' | 'durable'> | undefined {
    return target ? this.reflector.get(KINESIS_PROCESSOR_METADATA, target) : undefined;
  }
}
