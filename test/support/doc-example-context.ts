/**
 * What the documentation's examples take as given (test/unit/docs/doc-examples.spec.ts): the reader's
 * own classes that a guide names without writing them out, the application its main.ts created, and
 * two packages the examples mention but this repository does not install. Everything of this library
 * comes from its real public API, never from here. `OrdersProcessor` and `TotalsRepository` are the
 * ones the README's five-minute start writes (its `orders.ts` block, `readmeOrders` below), so that an
 * example elsewhere that builds a processor by hand must call the real constructor.
 */
export function docExampleContext(readmeOrders: string): string {
  return `
import type * as readme from ${JSON.stringify(readmeOrders)};

declare global {
  const OrdersProcessor: typeof readme.OrdersProcessor;
  type OrdersProcessor = readme.OrdersProcessor;
  const TotalsRepository: typeof readme.TotalsRepository;
  type TotalsRepository = readme.TotalsRepository;

  class CustomerTotals {
    of(customer: string): number;
  }
  class AlertService {
    send(message: string): Promise<void>;
  }
  class PaymentsProcessor {
    constructor(shard: import('nestjs-kinesis-worker').ShardContext);
    processRecords(input: import('nestjs-kinesis-worker').ProcessRecordsInput): Promise<void>;
  }
  /** The root module of the reader's app, for examples of main.ts. */
  class AppModule {}
  /** The Nest application (or testing module) an example's own main.ts or spec created. */
  const app: import('@nestjs/common').INestApplicationContext;
}
`;
}

/** Ambient declarations (a script, not a module) of the packages the examples import but this repository does not install. */
export const UNINSTALLED_PACKAGES = `
declare module '@nestjs/config' {
  export class ConfigModule {
    static forRoot(options?: object): import('@nestjs/common').DynamicModule;
  }
  export class ConfigService {
    get<T = string>(key: string): T | undefined;
  }
}
declare module '@opentelemetry/exporter-metrics-otlp-http' {
  export const OTLPMetricExporter: new (config?: object) => import('@opentelemetry/sdk-metrics').PushMetricExporter;
}
declare module 'unplugin-swc' {
  const swc: { vite(options?: object): object };
  export default swc;
}
declare module 'vitest/config' {
  export function defineConfig(config: { plugins?: object[]; test?: object }): object;
}
declare module 'pino' {
  interface Logger {
    info(fields: object | undefined, message: string): void;
    warn(fields: object | undefined, message: string): void;
    error(fields: object | undefined, message: string): void;
    debug(fields: object | undefined, message: string): void;
  }
  function pino(): Logger;
  export default pino;
}
declare module 'nestjs-pino' {
  export class Logger implements import('@nestjs/common').LoggerService {
    log(message: unknown): void;
    error(message: unknown): void;
    warn(message: unknown): void;
  }
  export class LoggerModule {
    static forRoot(options?: object): import('@nestjs/common').DynamicModule;
  }
}
`;
