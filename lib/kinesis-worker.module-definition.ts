import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { KinesisWorkerOptions } from './core/options';

export type KinesisWorkerModuleOptions = KinesisWorkerOptions;

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: KINESIS_WORKER_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<KinesisWorkerModuleOptions>({ moduleName: 'KinesisWorker' })
  .setClassMethodName('forRoot')
  // Global by default: processors and the KINESIS_SHARD token live in feature modules.
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();
