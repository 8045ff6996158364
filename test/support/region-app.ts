/**
 * A Nest app as a user writes one, with no region in its options: the region comes from the
 * environment the test gives the process (a HOME with ~/.aws/config, AWS_PROFILE, ...). Configured by
 * one JSON argument; prints `DELIVERED <data>` for each record, Nest's log lines, and on a failed
 * bootstrap `BOOTSTRAP FAILED <error name> <option>: <message>` on stderr, exit 1.
 * Run by test/e2e/region-resolution.e2e-spec.ts.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  KinesisProcessor,
  KinesisWorkerConfigError,
  KinesisWorkerModule,
  type KinesisRecordProcessor,
  type ProcessRecordsInput,
} from '../../lib';

interface RegionAppConfig {
  readonly stream: string;
  readonly appName: string;
  readonly kinesisEndpoint: string;
  readonly dynamodbEndpoint: string;
}

function regionAppModule(config: RegionAppConfig) {
  @KinesisProcessor(config.stream)
  class PrintingProcessor implements KinesisRecordProcessor {
    initialize() {}
    async processRecords({ records, checkpointer }: ProcessRecordsInput) {
      for (const record of records) process.stdout.write(`DELIVERED ${record.data.toString()}\n`);
      await checkpointer.checkpoint();
    }
    shutdown() {}
  }

  @Module({
    imports: [
      KinesisWorkerModule.forRoot({
        appName: config.appName,
        kinesis: { endpoint: config.kinesisEndpoint },
        dynamodb: { endpoint: config.dynamodbEndpoint },
        idleTimeBetweenReadsMs: 100,
        failoverTimeMs: 3_000,
      }),
    ],
    providers: [PrintingProcessor],
  })
  class RegionAppModule {}
  return RegionAppModule;
}

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]) as RegionAppConfig;
  try {
    const app = await NestFactory.createApplicationContext(regionAppModule(config), {
      logger: ['log', 'warn', 'error'],
      abortOnError: false,
    });
    app.enableShutdownHooks();
  } catch (error) {
    const option = error instanceof KinesisWorkerConfigError ? error.option : '-';
    process.stderr.write(`BOOTSTRAP FAILED ${(error as Error).name} ${option}: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

if (require.main === module) void main();
