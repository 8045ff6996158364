import { manifest } from './consumer-app';

/**
 * A user's e2e spec of their own processor, as docs/testing.md's Nest recipe has it, and the vitest set
 * the guide names: run from the packed tarball by package-testing-jest and package-testing-vitest.
 */
/** docs/testing.md's vitest set: vitest, and swc to emit the decorator metadata Nest's constructor injection needs. */
export const VITEST_PACKAGES = ['vitest@^4.1.12', 'unplugin-swc@^2.0.0', '@swc/core@^1.16.22'];
export const VITEST_CONFIG = `import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: { include: ['vitest/**/*.vitest-spec.ts'], setupFiles: ['reflect-metadata'], testTimeout: 30_000 },
});
`;

/** A user's e2e spec of their own processor, as docs/testing.md's Nest recipe has it, run by the app's own jest. */
export const TESTING_SPEC = `
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { KinesisProcessor, type KinesisRecordProcessor, type ProcessRecordsInput } from 'nestjs-kinesis-worker';
import { ProcessorFailedError } from 'nestjs-kinesis-worker/testing';
import { KinesisTestStreams, KinesisWorkerTestingModule } from 'nestjs-kinesis-worker/testing/nest';

@Injectable()
export class CustomerTotals {
  private readonly totals = new Map<string, number>();
  failNext?: Error;
  add(customer: string, total: number): void {
    this.totals.set(customer, (this.totals.get(customer) ?? 0) + total);
  }
  of(customer: string): number | undefined {
    return this.totals.get(customer);
  }
}

@KinesisProcessor('orders')
export class OrdersProcessor implements KinesisRecordProcessor {
  constructor(private readonly totals: CustomerTotals) {}

  async processRecords({ records, checkpointer }: ProcessRecordsInput): Promise<void> {
const failure = this.totals.failNext;
    this.totals.failNext = undefined;
    if (failure) throw failure;
    for (const record of records) {
      const order = JSON.parse(record.data.toString()) as { customer: string; total: number };
      this.totals.add(order.customer, order.total);
    }
    await checkpointer.checkpoint();
  }
}

describe('OrdersProcessor', () => {
  let app: TestingModule;
  let kinesis: KinesisTestStreams;

  beforeEach(async () => {
    app = await Test.createTestingModule({
      imports: [KinesisWorkerTestingModule.forRoot({ streams: { orders: 2 } })],
      providers: [OrdersProcessor, CustomerTotals],
    }).compile();
    await app.init();
    kinesis = app.get(KinesisTestStreams);
  });

  afterEach(() => app.close());

  it('totals the orders per customer', async () => {
    await kinesis.put('orders', [
      { data: { customer: 'a', total: 5 }, partitionKey: 'a' },
      { data: { customer: 'b', total: 7 }, partitionKey: 'b' },
      { data: { customer: 'a', total: 3 }, partitionKey: 'a' },
    ]);
    await kinesis.processed();
    expect([app.get(CustomerTotals).of('a'), app.get(CustomerTotals).of('b')]).toEqual([8, 7]);
  });

  it("fails with the processor's own error, then the engine's retry succeeds", async () => {
const boom = new RangeError('totals store down');
    app.get(CustomerTotals).failNext = boom;
    await kinesis.put('orders', [{ data: { customer: 'c', total: 1 }, partitionKey: 'c' }]);
const failure = await kinesis.processed().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ProcessorFailedError);
    expect((failure as ProcessorFailedError).cause).toBe(boom);
    await kinesis.processed();
    expect(app.get(CustomerTotals).of('c')).toBe(1);
  });
});
`;

/**
 * The testing app: the package and Nest, and as dev dependencies docs/testing.md's list (@nestjs/testing,
 * kinesis-local, dynalite) with the app's own test runner: jest with ts-jest, or vitest (VITEST_PACKAGES,
 * installed by name).
 */
export function testingAppPackageJson(tarball: string, runner: 'jest' | 'vitest'): object {
  const dev = (name: string) => [name, manifest.devDependencies[name]];
  const runnerPackages = runner === 'jest' ? ['jest', 'ts-jest', '@types/jest'] : [];
  return {
    name: `nkw-testing-${runner}-consumer`,
    dependencies: {
      'nestjs-kinesis-worker': `file:${tarball}`,
      ...Object.fromEntries(['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs'].map(dev)),
    },
    devDependencies: Object.fromEntries(
      ['@nestjs/testing', 'kinesis-local', 'dynalite', ...runnerPackages, 'typescript', '@types/node'].map(dev),
    ),
    ...(runner === 'jest'
      ? {
          jest: {
            testEnvironment: 'node',
            testRegex: '\\.e2e-spec\\.ts$',
            transform: { '^.+\\.ts$': 'ts-jest' },
            setupFiles: ['reflect-metadata'],
            testTimeout: 30_000,
          },
        }
      : {}),
  };
}

/** The testing app's tsconfig.json: what every Nest project has (the decorators), strict, libraries checked. */
export function testingAppTsconfig(types: readonly string[]): string {
  return JSON.stringify({
    compilerOptions: {
      module: 'commonjs',
      target: 'ES2022',
      strict: true,
      esModuleInterop: true,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      skipLibCheck: false,
      types,
    },
  });
}
