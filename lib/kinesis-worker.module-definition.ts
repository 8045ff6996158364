import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { KinesisWorkerOptions } from './core/options';

export interface KinesisWorkerModuleOptions extends KinesisWorkerOptions {
  /**
   * Start the workers when the application bootstraps. Default true. With false nothing consumes until
   * KinesisWorkerService.start() is called (e.g. after a warm-up, or only in some process roles).
   */
  autoStart?: boolean;
}

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
