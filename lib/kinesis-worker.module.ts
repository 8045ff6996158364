import { Module, Scope } from '@nestjs/common';
import { DiscoveryModule, REQUEST } from '@nestjs/core';
import { KinesisEventHandlers } from './kinesis-event-handlers';
import { KinesisMetadataAccessor } from './kinesis-metadata.accessor';
import { KINESIS_SHARD } from './kinesis-worker.constants';
import { KinesisWorkerExplorer } from './kinesis-worker.explorer';
import { ConfigurableModuleClass } from './kinesis-worker.module-definition';
import { KinesisWorkerRegistrar } from './kinesis-worker.registrar';
import { KinesisWorkerService } from './kinesis-worker.service';

/**
 * KinesisWorkerModule.forRoot({ appName, region, ... }) or forRootAsync({ imports, inject, useFactory }).
 * Every @KinesisProcessor provider of the app is consumed by a worker that starts at bootstrap (after
 * every other module's hooks; autoStart: false leaves it to KinesisWorkerService.start()) and stops
 * gracefully on app.close(), before any other module's onModuleDestroy.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    KinesisMetadataAccessor,
    KinesisWorkerService,
    KinesisWorkerExplorer,
    KinesisEventHandlers,
    KinesisWorkerRegistrar,
    // The shard of the DI context a processor instance was built in.
    { provide: KINESIS_SHARD, scope: Scope.REQUEST, useFactory: (shard: unknown) => shard, inject: [REQUEST] },
  ],
  exports: [KinesisWorkerService, KINESIS_SHARD],
})
export class KinesisWorkerModule extends ConfigurableModuleClass {}
