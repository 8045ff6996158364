import { Module } from '@nestjs/common';
import { KinesisWorkerModule, type KinesisWorkerOptions } from '../lib';
import { CustomerTotalsService } from './orders/customer-totals.service';
import { OrdersProcessor } from './orders/orders.processor';

export function appModule(clientOptions: Pick<KinesisWorkerOptions, 'region' | 'kinesis' | 'dynamodb'>) {
  @Module({
    imports: [
      KinesisWorkerModule.forRootAsync({
        // A real app would inject ConfigService here.
        useFactory: () => ({
          appName: process.env.APP_NAME ?? 'orders-totals',
          initialPosition: 'TRIM_HORIZON',
          idleTimeBetweenReadsMs: 250,
          ...clientOptions,
        }),
      }),
    ],
    providers: [CustomerTotalsService, OrdersProcessor],
  })
  class AppModule {}
  return AppModule;
}
